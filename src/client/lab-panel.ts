/**
 * <lab-panel>: the lab panel's always-loaded shell. It owns the Start/Stop buttons, the
 * status line, the access-code form, the choice of Docker Engine (and the page's marks of what
 * applies to it, engine-marks.ts) and the tab's remembered lab; the terminals (xterm,
 * sockets) are imported from ./terminal/ui.ts only once a lab is actually wanted. Run buttons
 * reach it through LabPanelApi (contract/dom.ts).
 */
import { LAB_ATTRS as L, LAB_EXERCISES_EVENT, LAB_PANEL_TAG, LAB_STATE_EVENT, sel, type LabExercisesDetail, type LabPanelApi } from '../../contract/dom.ts';
import { API_ERRORS, type CheckResult, type SetupResult } from '../../contract/api.ts';
import { DEFAULT_ENGINE, engineById, type Engine } from '../../contract/engines.ts';
import { markEngine } from './engine-marks.ts';
import {
  apiText,
  createLab,
  deleteLab,
  describeLab,
  LabApiError,
  needsAccessCode,
  readyEngines,
  readyTimeout,
  rememberAccessCode,
  rememberedEngine,
  rememberedLab,
  rememberEngine,
  rememberLab,
  type Lab,
} from './terminal/api.ts';
import type { LabView, Room, RoomParts } from './terminal/ui.ts';
import { lab as labWords } from '../i18n/en/page.ts';
import { text, textReady } from '../i18n/page.ts';

type Tone = 'info' | 'error';

function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), ms);
    promise.then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** The panel's words, in the page's language (src/i18n/page.ts), read when said. */
const T = () => text(labWords, (m) => m.lab);

/** Screen reader mode is the learner's choice for every lab in this browser: localStorage, "on" or absent. */
const SCREEN_READER_KEY = 'dnl-screen-reader';

function storedScreenReaderMode(): boolean {
  try {
    return localStorage.getItem(SCREEN_READER_KEY) === 'on';
  } catch {
    return false; // storage disabled: the checkbox still works for this page
  }
}

function storeScreenReaderMode(on: boolean): void {
  try {
    if (on) localStorage.setItem(SCREEN_READER_KEY, 'on');
    else localStorage.removeItem(SCREEN_READER_KEY);
  } catch {
    /* storage disabled or full: remembered for this page only */
  }
}

/** The terminals (and xterm): fetched only when a lab is wanted, never for reading a lesson. */
const loadTerminals = () => import('./terminal/ui.ts');
type Terminals = Awaited<ReturnType<typeof loadTerminals>>;

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

class LabPanel extends HTMLElement implements LabPanelApi {
  #view: LabView | undefined;
  #starting: Promise<LabView> | undefined;
  #busy = false;
  /** What the Start button says when nothing is happening: Start lab, or Start a new lab once a lab went away. */
  #idleLabel = T().start;
  #startButton!: HTMLButtonElement;
  #wired = false;
  #stopButton!: HTMLButtonElement;
  #statusEl!: HTMLElement;
  #tabs!: HTMLElement;
  #terminals!: HTMLElement;
  #codeForm!: HTMLFormElement;
  #codeInput!: HTMLInputElement;
  #screenReader!: HTMLInputElement;
  #keyHint!: HTMLElement;
  #engineChoice!: HTMLElement;
  #engineSelect!: HTMLSelectElement;
  #engineRunning!: HTMLElement;
  #roomParts!: RoomParts;
  /** The room strip of the running lab (its event socket), while there is one. */
  #room: Room | undefined;
  /** The exercises started in the running lab (the runner's list when it was resumed); undefined without a lab. */
  #started: string[] | undefined;

  get hosts(): readonly string[] {
    return (this.getAttribute(L.hosts) ?? '').split(',').filter(Boolean);
  }

  get startedExercises(): readonly string[] | undefined {
    return this.#started;
  }

  get lesson(): string {
    return this.getAttribute(L.lesson) ?? '';
  }

  connectedCallback() {
    // connectedCallback runs again if the element is moved in the DOM; wire it once.
    if (this.#wired) return;
    this.#wired = true;
    const q = <T extends HTMLElement>(attr: string) => this.querySelector<T>(sel(attr))!;
    this.#startButton = q(L.start);
    this.#stopButton = q(L.stop);
    this.#statusEl = q(L.status);
    this.#tabs = q(L.tabs);
    this.#terminals = q(L.terminals);
    this.#codeForm = q(L.code);
    this.#codeInput = q(L.codeInput);
    this.#screenReader = q(L.screenReader);
    this.#keyHint = q(L.keys);
    this.#engineChoice = q(L.engineChoice);
    this.#engineSelect = q(L.engine);
    this.#engineRunning = q(L.engineRunning);
    this.#roomParts = {
      room: q(L.room), notice: q(L.notice), noticeText: q(L.noticeText), noticeDismiss: q(L.noticeDismiss),
      watching: q(L.watching), starting: q(L.starting), help: q(L.help), name: q(L.name), nameInput: q(L.nameInput), nameSkip: q(L.nameSkip),
      previews: q(L.previews), previewList: q(L.previewList),
    };

    this.#startButton.addEventListener('click', () => {
      if (!this.#busy) this.#startAndFocus();
    });
    this.#stopButton.addEventListener('click', () => void this.stop());
    this.#screenReader.checked = storedScreenReaderMode();
    this.#screenReader.addEventListener('change', () => {
      storeScreenReaderMode(this.#screenReader.checked);
      this.#view?.screenReaderMode(this.#screenReader.checked);
    });
    this.#engineSelect.addEventListener('change', () => {
      rememberEngine(this.#engineSelect.value);
      if (!this.#view) markEngine(this.#chosenEngine().version);
    });
    markEngine(this.#chosenEngine().version);
    void this.#offerEngines();
    this.#codeForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const code = this.#codeInput.value.trim();
      if (this.#busy || !code) return this.#codeInput.focus();
      rememberAccessCode(code);
      this.#codeInput.value = '';
      this.#showCodeForm(false);
      this.#startButton.focus();
      this.#startAndFocus();
    });

    // A reload of this lesson picks its lab up again (after asking the runner it still exists).
    // It goes through #starting so a Run click meanwhile waits for it instead of starting a second lab.
    if (rememberedLab()?.lesson === this.lesson) {
      this.#starting = this.#start(true).finally(() => (this.#starting = undefined));
      this.#starting.catch(() => {}); // the status line says what happened
    }
  }

  /** Start this lesson's lab, or return the running one. Rejects with a sentence for the learner. */
  start(): Promise<LabView> {
    if (this.#view) return Promise.resolve(this.#view);
    this.#starting ??= this.#start().finally(() => (this.#starting = undefined));
    return this.#starting;
  }

  async stop(): Promise<void> {
    const view = this.#view;
    if (!view || this.#busy) return;
    this.#setBusy(true, T().stopping);
    view.dispose();
    this.#leaveRoom();
    this.#view = undefined;
    this.#setStarted(undefined);
    rememberLab(undefined);
    try {
      await deleteLab(view.lab);
      this.#status(T().stopped);
    } catch {
      this.#status(T().stopFailed, 'error');
    }
    this.#setBusy(false);
    this.#showRunning(false, T().start);
    this.#startButton.focus();
  }

  async run(lines: readonly string[], host: string | undefined = this.hosts[0]): Promise<void> {
    try {
      if (!host || !this.hosts.includes(host)) throw new Error(T().noSuchHost(host ?? T().noHost));
      this.#reveal();
      const view = await this.start();
      view.select(host);
      // As long as the runner waits for the host, and a margin: a slow host is not a broken one.
      const limitMs = readyTimeout(view.lab);
      await withTimeout(view.whenReady(host), limitMs, T().notReady(host, limitMs / 1000));
      view.type(host, lines);
    } catch (e) {
      if (!needsAccessCode(e)) this.#status(errorText(e), 'error');
      throw e;
    }
  }

  async check(exerciseId: string): Promise<CheckResult> {
    // Not start(): a lab started just to be checked has nothing in it. A lab being resumed
    // after a reload (or started a moment ago) is waited for.
    const view = this.#view ?? (await this.#starting?.catch(() => undefined));
    if (!view || view.closed) throw new Error(T().noLabToCheck);
    return this.#ask(view, async ({ checkExercise }) => checkExercise(view.lab, exerciseId));
  }

  async startExercise(exerciseId: string): Promise<SetupResult> {
    let view: LabView;
    try {
      view = await this.start();
    } catch (e) {
      // The panel's status line says why; the exercise says it too, where the learner looks.
      throw needsAccessCode(e) ? new Error(T().codeForExercise) : e;
    }
    const result = await this.#ask(view, ({ startExercise }) => startExercise(view.lab, exerciseId));
    if (this.#view === view && !this.#started?.includes(exerciseId)) this.#setStarted([...(this.#started ?? []), exerciseId]);
    return result;
  }

  // ------------------------------------------------------------ internals

  /** A request about the running lab's exercises (./terminal/check.ts, loaded on first use); a lab the runner no longer has ends here. */
  async #ask<T>(view: LabView, request: (api: typeof import('./terminal/check.ts')) => Promise<T>): Promise<T> {
    let api: typeof import('./terminal/check.ts');
    try {
      api = await import('./terminal/check.ts');
    } catch {
      throw new Error(apiText().loadFailed);
    }
    try {
      return await request(api);
    } catch (e) {
      if (e instanceof LabApiError && e.code === API_ERRORS.labNotFound.code && this.#view === view) {
        view.dispose();
        this.#onGone();
      }
      throw e;
    }
  }

  /** The running lab's started exercises changed (undefined: no lab any more); the exercises hear of it. */
  #setStarted(started: string[] | undefined) {
    this.#started = started;
    const detail: LabExercisesDetail = started ? { started } : null;
    document.dispatchEvent(new CustomEvent(LAB_EXERCISES_EVENT, { detail }));
  }

  /** Start lab, by button or access-code form: the learner is at the keyboard, so into the shell. */
  #startAndFocus() {
    this.start().then(
      (view) => view.focus(),
      () => {}, // the status line (and the form, if the code was wrong) say what happened
    );
  }

  /**
   * Reuse this tab's lab for this lesson if the runner still has it, else create one.
   * With `resumeOnly` (page load) a vanished lab is reported rather than replaced: the
   * learner hasn't asked for a lab yet on this page.
   */
  async #start(resumeOnly = false): Promise<LabView> {
    this.#setBusy(true, resumeOnly ? T().reconnecting : T().starting);
    // Fetch the terminal code while the runner creates the lab; neither waits for the other.
    // Not on page load, though: the remembered lab may be gone, and then no xterm is needed.
    const early = resumeOnly ? undefined : loadTerminals();
    early?.catch(() => {}); // reported by #mount, if we get that far
    try {
      let lab: Lab | undefined;
      let started: string[] = [];
      const saved = rememberedLab();
      if (saved?.lesson === this.lesson) {
        this.#status(T().reconnectingToLab);
        const now = await describeLab(saved);
        if (now) {
          lab = saved;
          started = now.started;
        } else if (resumeOnly) {
          rememberLab(undefined);
          this.#idleLabel = T().startAgain;
          throw new Error(apiText().gone);
        }
      } else if (saved) {
        // One lab per browser tab: the previous lesson's lab would only sit idle until it expires.
        void deleteLab(saved).catch(() => {});
      }
      if (!lab) {
        rememberLab(undefined);
        this.#status(T().startingLab(this.hosts.join(T().listSeparator)));
        lab = await createLab(this.lesson, this.#engineSelect.value ? this.#chosenEngine().id : undefined);
      }
      const view = await this.#mount(lab, early ?? loadTerminals());
      this.#setStarted(started);
      return view;
    } catch (e) {
      // Asking for the code is not an error; a wrong code is.
      this.#status(errorText(e), needsAccessCode(e) && e.code === API_ERRORS.accessCodeRequired.code ? 'info' : 'error');
      this.#showRunning(false);
      if (needsAccessCode(e)) this.#showCodeForm(true);
      throw e;
    } finally {
      this.#setBusy(false);
    }
  }

  async #mount(lab: Lab, ui: Promise<Terminals>): Promise<LabView> {
    rememberLab(lab);
    let mountLab: Terminals['mountLab'];
    let followRoom: Terminals['followRoom'];
    try {
      ({ mountLab, followRoom } = await ui);
    } catch {
      throw new Error(apiText().loadFailed);
    }
    // Why the lab went: the runner sends a sentence (one lab per browser, idle too long…) on
    // each terminal right before closing it, which the view reports with the host's name.
    let reason: string | undefined;
    const view = await mountLab({ tabs: this.#tabs, terminals: this.#terminals, keyHint: this.#keyHint }, lab, {
      gone: () => this.#onGone(reason),
      status: (text, tone, why) => {
        reason = tone === 'error' ? why : undefined;
        this.#status(text, tone);
      },
    });
    // The lab can vanish while the first sockets open; #onGone has then said so already.
    if (view.closed) throw new Error(apiText().gone);
    this.#view = view;
    view.screenReaderMode(this.#screenReader.checked);
    this.#room = followRoom(this.#roomParts, lab, {
      state: (state) => document.dispatchEvent(new CustomEvent(LAB_STATE_EVENT, { detail: state })),
      // The terminals usually say it first; whichever does, the lab is over once.
      ended: (why) => {
        if (this.#view !== view) return;
        view.dispose();
        this.#onGone(why);
      },
      error: (text) => this.#status(text, 'error'),
    });
    this.#showRunning(true);
    return view;
  }

  #leaveRoom() {
    this.#room?.dispose();
    this.#room = undefined;
  }

  #onGone(reason: string = apiText().gone) {
    this.#leaveRoom();
    this.#view = undefined;
    this.#setStarted(undefined);
    rememberLab(undefined);
    this.#status(T().gone(reason), 'error');
    this.#showRunning(false, T().startAgain);
  }

  /** The engine the next lab runs: the one chosen (or remembered), else the default. */
  #chosenEngine(): Engine {
    return engineById(this.#engineSelect.value || rememberedEngine()) ?? DEFAULT_ENGINE;
  }

  /** Offer the engines the runner can start labs on (its default first), choosing the remembered one. */
  async #offerEngines() {
    const offers = await readyEngines();
    if (offers.length === 0) return; // no runner to ask: labs say why when started
    const remembered = rememberedEngine();
    this.#engineSelect.replaceChildren(...offers.map((o, i) => new Option(i === 0 ? T().engineDefault(o.version) : o.version, o.id)));
    this.#engineSelect.value = offers.some((o) => o.id === remembered) ? remembered! : offers[0]!.id;
    this.#showRunning(this.#view !== undefined);
  }

  /** The access-code form replaces the Start button until a code is submitted. */
  #showCodeForm(show: boolean) {
    this.#codeForm.hidden = !show;
    this.#startButton.hidden = show || this.#view !== undefined;
    if (show) this.#codeInput.focus();
  }

  #showRunning(running: boolean, startLabel?: string) {
    if (startLabel) this.#idleLabel = startLabel;
    if (running) this.#codeForm.hidden = true;
    this.#startButton.hidden = running || !this.#codeForm.hidden;
    this.#stopButton.hidden = !running;
    if (!this.#busy) this.#startButton.textContent = this.#idleLabel;
    // A choice only where there is one; the running lab's engine can't change.
    this.#engineChoice.hidden = running || this.#engineSelect.options.length < 2;
    const engine = running && this.#view ? this.#view.lab.engine : this.#chosenEngine();
    this.#engineRunning.hidden = !running;
    this.#engineRunning.textContent = T().engineRunning(engine.version);
    markEngine(engine.version);
  }

  /** aria-disabled rather than disabled: a disabled button drops keyboard focus. */
  #setBusy(busy: boolean, label?: string) {
    this.#busy = busy;
    // Not aria-busy on the panel: screen readers would hold back the status line's updates while busy.
    for (const b of [this.#startButton, this.#stopButton]) b.setAttribute('aria-disabled', String(busy));
    this.#startButton.textContent = busy && label ? label : this.#idleLabel;
    if (busy && label && !this.#stopButton.hidden) this.#stopButton.textContent = label;
    if (!busy) this.#stopButton.textContent = T().stop;
  }

  #status(text: string, tone: Tone = 'info') {
    this.#statusEl.textContent = text;
    this.#statusEl.dataset.tone = tone;
  }

  /** On narrow screens the panel sits below the text; bring it into view when a Run needs it. */
  #reveal() {
    const r = this.getBoundingClientRect();
    if (r.top >= 0 && r.top < innerHeight - 80) return;
    const smooth = !matchMedia('(prefers-reduced-motion: reduce)').matches;
    this.scrollIntoView({ block: 'start', behavior: smooth ? 'smooth' : 'auto' });
  }
}

// Defined once the page's words are there: the panel speaks as soon as it is wired.
void textReady.then(() => {
  if (!customElements.get(LAB_PANEL_TAG)) customElements.define(LAB_PANEL_TAG, LabPanel);
});
