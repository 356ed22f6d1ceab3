/**
 * <lesson-exercise>: an exercise's Check button and what it says. The check itself runs in the
 * learner's lab, through the lab panel (LabPanelApi.check); a pass is recorded in this
 * browser's progress. Server-rendered by src/components/Exercise.astro; without JavaScript the
 * task and the solution disclosure still read fine, only the Check row is hidden. An exercise
 * for other Docker Engines than the lab's (ENGINE_ATTRS, marked by engine-marks.ts) says so
 * instead of offering Check.
 */
import type { CheckResult } from '../../contract/api.ts';
import { ENGINE_ATTRS as E, EXERCISE_ATTRS as X, EXERCISE_TAG, LAB_ENGINE_EVENT, LAB_PANEL_TAG, PROGRESS_ATTRS as P, sel, type LabPanelApi } from '../../contract/dom.ts';
import { isPassedIn, markPassed, onProgressChange, readProgress } from './progress.ts';

// Type-only use of protocol.ts: its values would pull the terminal protocol into every lesson page.
type Tone = 'busy' | 'error' | 'engine' | CheckResult['status'];

class LessonExercise extends HTMLElement {
  #wired = false;
  #checking = false;
  #button!: HTMLButtonElement;
  #status!: HTMLElement;

  get exerciseId(): string {
    return this.getAttribute(X.id) ?? '';
  }

  connectedCallback() {
    // connectedCallback runs again if the element is moved in the DOM; wire it once.
    if (this.#wired) return;
    this.#wired = true;
    this.#button = this.querySelector<HTMLButtonElement>(sel(X.check))!;
    this.#status = this.querySelector<HTMLElement>(sel(X.status))!;
    this.#button.addEventListener('click', () => void this.#check());
    if (this.#showProgress()) this.#say('Passed earlier in this browser. Check again any time.', 'passed');
    onProgressChange(() => this.#showProgress());
    this.#showEngineMark();
    document.addEventListener(LAB_ENGINE_EVENT, () => this.#showEngineMark());
  }

  /** For another engine than the lab's: say so where Check would be. */
  #showEngineMark() {
    const why = this.getAttribute(E.applies) === 'no' ? this.getAttribute(E.why) : null;
    this.#button.hidden = why !== null;
    if (why !== null) this.#say(`${why} Start a lab on another engine to do this exercise.`, 'engine');
    else if (this.#status.dataset.tone === 'engine') this.#say('', 'engine');
  }

  /** Reflect the stored progress (a reset, here or in another tab, takes the tick away). */
  #showProgress(): boolean {
    const passed = isPassedIn(readProgress(), this.exerciseId);
    this.toggleAttribute(P.passed, passed);
    this.querySelector<HTMLElement>(sel(X.tick))!.hidden = !passed;
    return passed;
  }

  async #check() {
    if (this.#checking) return;
    const panel = document.querySelector<HTMLElement & LabPanelApi>(LAB_PANEL_TAG);
    if (!panel) return this.#say('This page has no lab to check the exercise in.', 'error');
    this.#checking = true;
    // aria-disabled rather than disabled: a disabled button drops keyboard focus.
    this.#button.setAttribute('aria-disabled', 'true');
    this.#say('Checking your lab…', 'busy');
    try {
      await customElements.whenDefined(LAB_PANEL_TAG);
      this.#show(await panel.check(this.exerciseId));
    } catch (e) {
      this.#say(e instanceof Error ? e.message : String(e), 'error');
    } finally {
      this.#checking = false;
      this.#button.removeAttribute('aria-disabled');
    }
  }

  #show(result: CheckResult) {
    const { passed } = result;
    this.setAttribute(X.result, result.status);
    this.#say(result.message || (passed ? 'Passed.' : 'Not yet.'), result.status);
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
      summary.textContent = 'What the check printed';
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

if (!customElements.get(EXERCISE_TAG)) customElements.define(EXERCISE_TAG, LessonExercise);
