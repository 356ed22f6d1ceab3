/**
/**
 * <lesson-exercise>: an exercise's Check button (and, for an exercise with a setup, its Start
 * exercise button) and what they say. Both act in the learner's lab through the lab panel
 * (LabPanelApi.check, startExercise); a pass is recorded in this browser's progress. An exercise
 * with a setup can't be checked until it was started in the running lab: the panel says which
 * exercises were (LAB_EXERCISES_EVENT), also after a reload. An exercise for other Docker
 * Engines than the lab's (ENGINE_ATTRS, marked by engine-marks.ts) says so instead of offering
 * its buttons. Server-rendered by src/components/Exercise.astro; without JavaScript the task and
 * the solution disclosure still read fine, only the buttons' row is hidden.
 */
import type { CheckResult } from '../../contract/api.ts';
import {
  ENGINE_ATTRS as E, EXERCISE_ATTRS as X, EXERCISE_TAG, LAB_ENGINE_EVENT, LAB_EXERCISES_EVENT, LAB_PANEL_TAG, PROGRESS_ATTRS as P, sel,
  type LabExercisesDetail, type LabPanelApi,
} from '../../contract/dom.ts';
import { isPassedIn, markPassed, onProgressChange, readProgress } from './progress.ts';
import { exercise } from '../i18n/en/page.ts';
import { localSentence, text, textReady } from '../i18n/page.ts';

// Type-only use of protocol.ts: its values would pull the terminal protocol into every lesson page.
type Tone = 'info' | 'busy' | 'error' | 'ready' | 'engine' | CheckResult['status'];

/** The exercise's words, in the page's language (src/i18n/page.ts), read when said. */
const T = () => text(exercise, (m) => m.exercise);

/** aria-disabled rather than disabled: a disabled button drops keyboard focus, and Check must still say why it waits. */
const disable = (button: HTMLButtonElement, on: boolean) => (on ? button.setAttribute('aria-disabled', 'true') : button.removeAttribute('aria-disabled'));

class LessonExercise extends HTMLElement {
  #wired = false;
  /** A check or a start is under way: one at a time. */
  #working = false;
  #button!: HTMLButtonElement;
  #startButton: HTMLButtonElement | null = null;
  #status!: HTMLElement;

  get exerciseId(): string {
    return this.getAttribute(X.id) ?? '';
  }

  /** Exercises without a setup are always ready to check. */
  get #needsStart(): boolean {
    return this.#startButton !== null && !this.hasAttribute(X.started);
  }

  connectedCallback() {
    // connectedCallback runs again if the element is moved in the DOM; wire it once.
    if (this.#wired) return;
    this.#wired = true;
    this.#button = this.querySelector<HTMLButtonElement>(sel(X.check))!;
    this.#status = this.querySelector<HTMLElement>(sel(X.status))!;
    this.#button.addEventListener('click', () => void this.#check());
    if (this.hasAttribute(X.setup)) {
      this.#startButton = this.querySelector<HTMLButtonElement>(sel(X.start))!;
      this.#startButton.addEventListener('click', () => void this.#start());
      const panel = document.querySelector<HTMLElement & LabPanelApi>(LAB_PANEL_TAG);
      this.#showStarted(panel?.startedExercises?.includes(this.exerciseId) ?? false, false);
      this.#say(this.#needsStart ? T().notStarted : T().ready, this.#needsStart ? 'info' : 'ready');
      document.addEventListener(LAB_EXERCISES_EVENT, (e) => {
        const detail = (e as CustomEvent<LabExercisesDetail>).detail;
        this.#showStarted(detail?.started.includes(this.exerciseId) ?? false, true);
      });
    }
    if (this.#showProgress() && !this.#needsStart) this.#say(T().passedEarlier, 'passed');
    onProgressChange(() => this.#showProgress());
    this.#showEngineMark();
    document.addEventListener(LAB_ENGINE_EVENT, () => this.#showEngineMark());
  }

  /** For another engine than the lab's: say so where Check would be. */
  #showEngineMark() {
    const why = this.getAttribute(E.applies) === 'no' ? this.getAttribute(E.why) : null;
    this.#button.hidden = why !== null;
    if (this.#startButton) this.#startButton.hidden = why !== null || this.hasAttribute(X.started);
    if (why !== null) this.#say(T().otherEngine(why), 'engine');
    else if (this.#status.dataset.tone === 'engine') this.#say('', 'engine');
  }

  /** Reflect the stored progress (a reset, here or in another tab, takes the tick away). */
  #showProgress(): boolean {
    const passed = isPassedIn(readProgress(), this.exerciseId);
    this.toggleAttribute(P.passed, passed);
    this.querySelector<HTMLElement>(sel(X.tick))!.hidden = !passed;
    return passed;
  }

  /**
   * Started in the running lab or not: the Start button shows until it is, and Check says why it
   * waits. `announce`: the change came from the lab (started, resumed, ended), so the status says it.
   */
  #showStarted(started: boolean, announce: boolean) {
    const was = this.hasAttribute(X.started);
    this.toggleAttribute(X.started, started);
    const startButton = this.#startButton!;
    // Focus stays on the row when the button it was on goes away.
    if (started && document.activeElement === startButton) this.#button.focus();
    startButton.hidden = started || this.getAttribute(E.applies) === 'no';
    disable(this.#button, !started);
    if (announce && started !== was && !this.#working) this.#say(started ? T().ready : T().notStarted, started ? 'ready' : 'info');
  }

  async #start() {
    if (this.#working) return;
    const panel = document.querySelector<HTMLElement & LabPanelApi>(LAB_PANEL_TAG);
    if (!panel) return this.#say(T().noLabToStart, 'error');
    await this.#busy(this.#startButton!, T().starting, async () => {
      await customElements.whenDefined(LAB_PANEL_TAG);
      await panel.startExercise(this.exerciseId);
      this.#showStarted(true, false);
      this.#say(T().ready, 'ready');
    });
  }

  async #check() {
    if (this.#working) return;
    if (this.#needsStart) return this.#say(T().checkBeforeStart, 'error');
    const panel = document.querySelector<HTMLElement & LabPanelApi>(LAB_PANEL_TAG);
    if (!panel) return this.#say(T().noLabToCheck, 'error');
    await this.#busy(this.#button, T().checking, async () => {
      await customElements.whenDefined(LAB_PANEL_TAG);
      this.#show(await panel.check(this.exerciseId));
    });
  }

  /** Run `job` with `button` marked busy and `text` in the status line; an error's sentence ends up there. */
  async #busy(button: HTMLButtonElement, text: string, job: () => Promise<void>) {
    this.#working = true;
    disable(button, true);
    this.#say(text, 'busy');
    try {
      await job();
    } catch (e) {
      this.#say(e instanceof Error ? e.message : String(e), 'error');
    } finally {
      this.#working = false;
      disable(button, button === this.#button && this.#needsStart);
    }
  }

  #show(result: CheckResult) {
    const { passed } = result;
    this.setAttribute(X.result, result.status);
    // The runner's sentence is English; a page in another language says the outcome in its own words.
    const said = localSentence(result.message, result.status, (m) => m.exercise.checkStatus);
    this.#say(said || (passed ? T().passed : T().notYet), result.status);
    // The hint, once earned, stays: a later pass doesn't take back what the learner read.
    if (!passed) this.querySelector<HTMLElement>(sel(X.hint))!.hidden = false;
    this.#showOutput(passed ? '' : result.output);
    if (passed) markPassed(this.exerciseId, this.getAttribute(X.lesson) ?? '');
  }

  /** What the failed check printed, in a disclosure (open: often it says what is missing). */
  #showOutput(text: string) {
    const box = this.querySelector<HTMLElement>(sel(X.output))!;
    box.hidden = text === '';
    if (text === '') return;
    let pre = box.querySelector('pre');
    if (!pre) {
      // Built here, not server-rendered: the code-block script would give a static <pre> a toolbar.
      const details = document.createElement('details');
      details.className = 'exercise-output';
      details.open = true;
      const summary = document.createElement('summary');
      summary.textContent = T().output;
      pre = document.createElement('pre');
      pre.tabIndex = 0; // scrollable: reachable by keyboard
      details.append(summary, pre);
      box.append(details);
    }
    pre.textContent = text;
  }

  #say(text: string, tone: Tone) {
    this.#status.textContent = text;
    this.#status.dataset.tone = tone;
  }
}

// Defined once the page's words are there: an exercise says where it stands as soon as it is wired.
void textReady.then(() => {
  if (!customElements.get(EXERCISE_TAG)) customElements.define(EXERCISE_TAG, LessonExercise);
});
