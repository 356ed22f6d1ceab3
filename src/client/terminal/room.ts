/**
 * The lab panel's room strip, once a lab runs: the lab's event socket (ROUTES.labEvents) and
 * what it shows: the instructor's message as a dismissible banner, that an instructor is
 * watching, the Ask for help button, and (once per browser, when the runner has an instructor
 * dashboard) a field for the learner's name, and the web previews (./preview-list.ts). Every
 * state the socket pushes is also handed to the panel (`hooks.state`), which tells the lesson's
 * elements (preview links) about it.
 *
 * Loaded with the terminals (./ui.ts), never before Start lab. The panel finds the parts and
 * passes them in: this module does not import contract/dom.ts (see the note there on chunks).
 */
import { ROUTES } from '../../../contract/api.ts';
import { CLOSE_CODES, LAB_EVENTS, parseLabEvent, type LabEventState } from '../../../contract/protocol.ts';
import { instructorDashboardOn, learnerName, rememberLearnerName, updateLearner, type Lab } from './api.ts';
import { showPreviews, type PreviewListParts } from './preview-list.ts';
import { RECONNECT_BASE_MS, RECONNECT_MAX_MS } from './session.ts';
import { lab } from '../../i18n/en/page.ts';
import { localSentence, text } from '../../i18n/page.ts';

export interface RoomParts extends PreviewListParts {
  room: HTMLElement;
  notice: HTMLElement;
  noticeText: HTMLElement;
  noticeDismiss: HTMLButtonElement;
  watching: HTMLElement;
  /** Which hosts' engines are still starting (LabEventState.starting). */
  starting: HTMLElement;
  help: HTMLButtonElement;
  name: HTMLFormElement;
  nameInput: HTMLInputElement;
  nameSkip: HTMLButtonElement;
}

export interface RoomHooks {
  /** Every state the runner pushes, and null once this lab is no longer followed. */
  state(state: LabEventState | null): void;
  /** The runner says the lab ended, and why. */
  ended(reason: string): void;
  /** A sentence for the panel's status line (a help request that could not be sent). */
  error(text: string): void;
}

export interface Room {
  dispose(): void;
}

/** The instructor's message a learner dismissed, by its id: a new message shows again. */
const DISMISSED_KEY = 'dnl-dismissed-notice';

/** The panel's words, read when said (src/i18n/page.ts). */
const T = () => text(lab, (m) => m.lab);

/** Follow `lab`'s events into `parts` until dispose(). */
export function followRoom(parts: RoomParts, lab: Lab, hooks: RoomHooks): Room {
  return new RoomStrip(parts, lab, hooks);
}

class RoomStrip implements Room {
  readonly #parts: RoomParts;
  readonly #lab: Lab;
  readonly #hooks: RoomHooks;
  #ws: WebSocket | undefined;
  #attempts = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #disposed = false;
  #state: LabEventState | undefined;
  readonly #abort = new AbortController();

  constructor(parts: RoomParts, lab: Lab, hooks: RoomHooks) {
    this.#parts = parts;
    this.#lab = lab;
    this.#hooks = hooks;
    const signal = this.#abort.signal;
    parts.room.hidden = false;
    parts.noticeDismiss.addEventListener('click', () => this.#dismiss(), { signal });
    parts.help.addEventListener('click', () => void this.#toggleHelp(), { signal });
    parts.name.addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#saveName(parts.nameInput.value);
    }, { signal });
    parts.nameSkip.addEventListener('click', () => void this.#saveName(''), { signal });
    void this.#offerInstructorParts();
    this.#connect();
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#abort.abort();
    clearTimeout(this.#retry);
    this.#ws?.close();
    const p = this.#parts;
    p.room.hidden = true;
    for (const el of [p.notice, p.watching, p.starting, p.help, p.name]) el.hidden = true;
    showPreviews(p, []);
    this.#hooks.state(null);
  }

  /** The help button and the name only mean something when an instructor can see them. */
  async #offerInstructorParts(): Promise<void> {
    if (!(await instructorDashboardOn()) || this.#disposed) return;
    this.#parts.help.hidden = false;
    const name = learnerName();
    if (name === undefined) {
      this.#parts.name.hidden = false;
    } else if (name) {
      await updateLearner(this.#lab, { name }).catch(() => {});
    }
  }

  async #saveName(raw: string): Promise<void> {
    const name = raw.trim();
    rememberLearnerName(name);
    this.#parts.name.hidden = true;
    if (name) await updateLearner(this.#lab, { name }).catch(() => this.#hooks.error(T().nameNotSent));
  }

  async #toggleHelp(): Promise<void> {
    const asking = !(this.#state?.learner.help ?? false);
    this.#parts.help.setAttribute('aria-disabled', 'true');
    try {
      const learner = await updateLearner(this.#lab, { help: asking });
      if (this.#state) this.#render({ ...this.#state, learner });
    } catch (e) {
      this.#hooks.error(T().helpNotSent(e instanceof Error ? e.message : String(e)));
    } finally {
      this.#parts.help.setAttribute('aria-disabled', 'false');
    }
  }

  #dismiss(): void {
    const id = this.#state?.notice?.id;
    if (id) {
      try {
        sessionStorage.setItem(DISMISSED_KEY, id);
      } catch {
        /* storage disabled: dismissed for this page only */
      }
    }
    this.#parts.notice.hidden = true;
  }

  #connect(): void {
    const url = new URL(ROUTES.labEvents.path(this.#lab.id, this.#lab.token), location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.onmessage = (e) => {
      if (typeof e.data !== 'string') return;
      const parsed = parseLabEvent(e.data);
      if (!parsed.ok) return;
      this.#attempts = 0;
      if (parsed.message.type === LAB_EVENTS.state) this.#render(parsed.message.state);
      else this.#hooks.ended(localSentence(parsed.message.reason, parsed.message.code, (m) => m.runner));
    };
    ws.onclose = (e) => {
      if (this.#disposed || this.#ws !== ws || e.code === CLOSE_CODES.labGone) return;
      // The runner restarting, or the network: follow again, as the terminals do.
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** this.#attempts++);
      this.#retry = setTimeout(() => this.#connect(), delay);
    };
  }

  #render(state: LabEventState): void {
    this.#state = state;
    const p = this.#parts;
    let dismissed: string | null = null;
    try {
      dismissed = sessionStorage.getItem(DISMISSED_KEY);
    } catch {
      /* storage disabled */
    }
    p.notice.hidden = !state.notice || state.notice.id === dismissed;
    p.noticeText.textContent = state.notice?.text ?? '';
    p.watching.hidden = state.watchers === 0;
    const starting = state.starting ?? [];
    p.starting.hidden = starting.length === 0;
    p.starting.textContent = starting.length ? T().engineStarting(starting.join(T().listSeparator)) : '';
    p.help.setAttribute('aria-pressed', String(state.learner.help));
    p.help.textContent = state.learner.help ? T().cancelHelp : T().askHelp;
    showPreviews(p, state.previews);
    this.#hooks.state(state);
  }
}
