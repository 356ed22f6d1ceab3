/**
 * <instructor-dashboard>: signs in, follows the room (server-sent `room` events from
 * INSTRUCTOR_ROUTES.events, pushed by the runner on every change: no polling), renders the
 * roster and capacity, and sends the instructor's actions. The watch view (xterm) is imported
 * only when the instructor watches a terminal (./watch-view.ts).
 *
 * Learners choose their names: everything they typed goes into text nodes, never HTML.
 * The session is an HttpOnly cookie this script never sees; the browser sends it with every
 * same-origin request under /instructor.
 */
import { API_ERRORS, INSTRUCTOR_ROUTES, type ApiError, type CellView, type RoomSnapshot, type RosterEntry, type WarmRequest } from '../../../contract/api.ts';
import { engineById, type EngineId } from '../../../contract/engines.ts';
import { sel } from '../../../contract/dom.ts';
import { INSTRUCTOR_ATTRS as I, INSTRUCTOR_TAG } from '../../../contract/instructor-dom.ts';
import type { WatchView } from './watch-view.ts';
import { instructor } from '../../i18n/en/instructor.ts';
import { LOCALE_INFO, pageLocale } from '../../i18n/locales.ts';
import { localSentence, text, textReady } from '../../i18n/page.ts';

/** The dashboard's words, in the page's language (src/i18n/page.ts), read when said. */
const T = () => text(instructor, (m) => m.instructor);
/** Numbers and times as the page's language writes them. */
const TAG = LOCALE_INFO[pageLocale()].tag;
const oneDecimal = new Intl.NumberFormat(TAG, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat(TAG, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const clockTime = new Intl.DateTimeFormat(TAG, { hour: '2-digit', minute: '2-digit' });

/** How often the relative times (age, idle, time left) are redrawn from the last snapshot: display only, nothing is fetched. */
const CLOCK_REDRAW_MS = 1_000;
/** Minutes one Extend click adds. */
const EXTEND_MINUTES = 15;

type Tone = 'info' | 'error';

const GiB = 1024 ** 3;

/** "3 min", "1 h 05 min", "45 s" (in the page's language). */
function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return T().seconds(s);
  const m = Math.floor(s / 60);
  if (m < 60) return T().minutesShort(m);
  return T().hoursMinutes(Math.floor(m / 60), String(m % 60).padStart(2, '0'));
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function button(text: string, attrs: Record<string, string>): HTMLButtonElement {
  const b = el('button', text, 'button button-small');
  b.type = 'button';
  for (const [k, v] of Object.entries(attrs)) b.setAttribute(k, v);
  return b;
}

async function errorOf(res: Response): Promise<string> {
  const body = (await res.json().catch(() => undefined)) as Partial<ApiError> | undefined;
  return body?.message === undefined ? T().httpError(res.status) : localSentence(body.message, body.error, (m) => m.api);
}

class InstructorDashboard extends HTMLElement {
  #lessons: Record<string, { title: string; exercises: number }> = {};
  #room: RoomSnapshot | undefined;
  #stream: EventSource | undefined;
  #clock: ReturnType<typeof setInterval> | undefined;
  #watch: WatchView | undefined;
  #wired = false;
  readonly #rows = new Map<string, RosterRow>();
  #warmingsShown = '';

  #q<T extends HTMLElement>(attr: string): T {
    return this.querySelector<T>(sel(attr))!;
  }

  connectedCallback() {
    if (this.#wired) return;
    this.#wired = true;
    try {
      this.#lessons = JSON.parse(this.getAttribute(I.lessons) ?? '{}') as Record<string, { title: string; exercises: number }>;
    } catch {
      this.#lessons = {};
    }
    this.#q<HTMLFormElement>(I.signIn).addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#signIn();
    });
    this.#q(I.signOut).addEventListener('click', () => void this.#signOut());
    this.#q<HTMLFormElement>(I.broadcast).addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#broadcast();
    });
    this.#q(I.takeDown).addEventListener('click', () => void this.#act('DELETE', INSTRUCTOR_ROUTES.broadcast.path()));
    this.#q<HTMLFormElement>(I.warm).addEventListener('submit', (e) => {
      e.preventDefault();
      void this.#warm();
    });
    this.#q(I.warmings).addEventListener('click', (e) => {
      const lesson = (e.target as HTMLElement).closest('button')?.getAttribute(I.lesson);
      if (lesson) void this.#act('DELETE', INSTRUCTOR_ROUTES.warmLesson.path(lesson));
    });
    this.#q(I.roster).addEventListener('click', (e) => this.#onRosterClick(e));
    this.#q(I.watchClose).addEventListener('click', () => this.#stopWatching());
    void this.#resume();
  }

  disconnectedCallback() {
    this.#stream?.close();
    clearInterval(this.#clock);
    this.#stopWatching();
  }

  /** On load: signed in already (the cookie lives 12 h), or the sign-in form, or the dashboard is off. */
  async #resume(): Promise<void> {
    let res: Response;
    try {
      res = await fetch(INSTRUCTOR_ROUTES.session.path(), { cache: 'no-store' });
    } catch {
      return this.#status(T().unreachableReload, 'error');
    }
    if (res.status === 204) return this.#follow();
    const body = (await res.json().catch(() => undefined)) as Partial<ApiError> | undefined;
    if (body?.error === API_ERRORS.instructorOff.code) return this.#status(body.message === undefined ? T().off : localSentence(body.message, body.error, (m) => m.api), 'error');
    if (body?.error === API_ERRORS.signInRequired.code) return this.#showSignIn(T().signInPrompt);
    this.#status(T().staticCopy, 'error');
  }

  #showSignIn(text: string, tone: Tone = 'info') {
    this.#q(I.dashboard).hidden = true;
    this.#q(I.signIn).hidden = false;
    this.#status(text, tone);
    this.#q<HTMLInputElement>(I.code).focus();
  }

  async #signIn(): Promise<void> {
    const input = this.#q<HTMLInputElement>(I.code);
    const res = await fetch(INSTRUCTOR_ROUTES.session.path(), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ code: input.value }),
    }).catch(() => undefined);
    if (!res) return this.#status(T().unreachable, 'error');
    if (res.status !== 204) return this.#showSignIn(await errorOf(res), 'error');
    input.value = '';
    this.#q(I.signIn).hidden = true;
    this.#follow();
  }

  async #signOut(): Promise<void> {
    await fetch(INSTRUCTOR_ROUTES.session.path(), { method: 'DELETE' }).catch(() => undefined);
    this.#stream?.close();
    this.#stopWatching();
    this.#showSignIn(T().signedOut);
  }

  /** Follow the room: EventSource reconnects by itself; a dropped session shows the sign-in form. */
  #follow(): void {
    this.#q(I.dashboard).hidden = false;
    this.#status(T().connecting);
    this.#stream?.close();
    const stream = new EventSource(INSTRUCTOR_ROUTES.events.path());
    this.#stream = stream;
    stream.addEventListener('room', (e) => {
      this.#room = JSON.parse((e as MessageEvent<string>).data) as RoomSnapshot;
      this.#status(T().live(this.#room.labs.length));
      this.#render();
    });
    stream.onerror = () => {
      if (stream.readyState !== EventSource.CLOSED) return this.#status(T().reconnecting, 'error');
      // Closed for good: the session ended (the runner restarted, or 12 h passed), or the server is gone.
      void this.#resume();
    };
    this.#clock ??= setInterval(() => this.#render(), CLOCK_REDRAW_MS);
  }

  async #broadcast(): Promise<void> {
    const input = this.#q<HTMLInputElement>(I.broadcastText);
    if (await this.#act('POST', INSTRUCTOR_ROUTES.broadcast.path(), { text: input.value })) input.value = '';
  }

  async #warm(): Promise<void> {
    const count = Number(this.#q<HTMLInputElement>(I.warmCount).value);
    const minutes = Number(this.#q<HTMLInputElement>(I.warmMinutes).value);
    const lesson = this.#q<HTMLSelectElement>(I.warmLesson).value;
    const engine = this.#q<HTMLSelectElement>(I.warmEngine).value as EngineId;
    const warm: WarmRequest = { lesson, count, minutes, engine };
    if (await this.#act('POST', INSTRUCTOR_ROUTES.warm.path(), warm)) {
      this.#status(T().warming(count, this.#lessons[lesson]?.title ?? lesson));
    }
  }

  /** Send one action; the room stream shows its effect. Resolves whether it was done. */
  async #act(method: string, path: string, body?: unknown): Promise<boolean> {
    const res = await fetch(path, {
      method,
      ...(body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
    }).catch(() => undefined);
    if (!res) {
      this.#status(T().unreachable, 'error');
      return false;
    }
    if (res.status === 401) {
      this.#showSignIn(T().sessionEnded, 'error');
      return false;
    }
    if (!res.ok) {
      this.#status(await errorOf(res), 'error');
      return false;
    }
    return true;
  }

  #onRosterClick(e: Event): void {
    const target = (e.target as HTMLElement).closest<HTMLButtonElement>(`button${sel(I.action)}`);
    const row = target?.closest<HTMLElement>(sel(I.labId));
    const labId = row?.getAttribute(I.labId);
    if (!target || !labId) return;
    const entry = this.#room?.labs.find((l) => l.id === labId);
    switch (target.getAttribute(I.action)) {
      case 'watch':
        if (entry) void this.#startWatching(entry, target.getAttribute(I.host) ?? entry.hosts[0]!);
        break;
      case 'extend':
        void this.#act('POST', INSTRUCTOR_ROUTES.extend.path(labId), { minutes: EXTEND_MINUTES });
        break;
      case 'clear-help':
        void this.#act('DELETE', INSTRUCTOR_ROUTES.help.path(labId));
        break;
      case 'end':
        if (confirm(T().confirmEnd(entry?.name ?? T().thisLearner))) void this.#act('DELETE', INSTRUCTOR_ROUTES.lab.path(labId));
        break;
    }
  }

  async #startWatching(entry: RosterEntry, host: string): Promise<void> {
    this.#stopWatching();
    const pane = this.#q(I.watch);
    this.#q(I.watchTitle).textContent = T().watchTitle(entry.name ?? T().labName(entry.id), host);
    pane.hidden = false;
    try {
      const { watchTerminal } = await import('./watch-view.ts');
      this.#watch = await watchTerminal(this.#q(I.watchTerminal), INSTRUCTOR_ROUTES.watch.path(entry.id, host), (text) => this.#status(text, 'error'));
      pane.scrollIntoView({ block: 'nearest' });
    } catch {
      this.#status(T().loadFailed, 'error');
    }
  }

  #stopWatching(): void {
    this.#watch?.dispose();
    this.#watch = undefined;
    this.#q(I.watch).hidden = true;
  }

  #status(text: string, tone: Tone = 'info'): void {
    const status = this.#q(I.status);
    status.textContent = text;
    status.dataset.tone = tone;
  }

  #render(): void {
    const room = this.#room;
    if (!room) return;
    const now = Date.now();
    const { capacity: c } = room;
    const m = c.machine;
    // In a workshop of several machines this line is the one the dashboard runs on; the Machines panel has them all.
    this.#q(I.capacity).textContent = (room.cells ? T().thisMachineCapacity : '') + T().capacity(
      c.labs, c.maxLabs, c.pool.ready, c.pool.starting,
      oneDecimal.format(m.memoryAvailableBytes / GiB), oneDecimal.format(m.memoryTotalBytes / GiB), twoDecimals.format(m.load[0]), m.cpus,
    );
    const isolation = this.#q(I.isolation);
    isolation.hidden = !c.isolation;
    isolation.textContent = c.isolation ? T().isolation(c.isolation.sandboxed) : '';
    isolation.dataset.tone = c.isolation?.sandboxed ? 'info' : 'caution';
    const warmings = c.pool.shapes.flatMap((shape) => (shape.room ? [{ shape, room: shape.room }] : []));
    const warmingsText = warmings.map(({ shape, room: r }) =>
      T().warmingLine(r.count, this.#lessons[r.lesson]?.title ?? r.lesson, engineById(shape.engine)?.version ?? shape.engine, shape.ready, shape.starting, r.taken, clockTime.format(new Date(r.until))),
    );
    // Rebuilt only when it changed, so a Stop warming click is never lost to a redraw.
    if (warmingsText.join('\n') !== this.#warmingsShown) {
      this.#warmingsShown = warmingsText.join('\n');
      this.#q(I.warmings).replaceChildren(...warmings.map(({ room: r }, k) => {
        const li = el('li', `${warmingsText[k]} `);
        li.append(button(T().stopWarming, { [I.lesson]: r.lesson }));
        return li;
      }));
    }
    this.#renderMachines(room.cells, now);
    const notice = this.#q(I.notice);
    notice.hidden = !room.notice;
    notice.querySelector('q')!.textContent = room.notice?.text ?? '';
    this.#renderRoster(room.labs, now);
  }

  /** The Machines panel: shown only in a workshop of several machines (null on one). */
  #renderMachines(cells: CellView[] | null, now: number): void {
    this.#q(I.machines).hidden = this.#q(I.warmHere).hidden = !cells;
    if (!cells) return;
    const lines = cells.map((c) => {
      const state = !c.reachable ? T().unreachableMachine(duration(now - Date.parse(c.seenAt))) : !c.engine ? T().engineDown : c.accepting ? T().accepting : T().draining;
      return `${T().machine(c.cell + (c.self ? T().thisMachine : ''), c.labs, c.maxLabs, oneDecimal.format(c.freeBytes / GiB), c.poolReady)} · ${state}`;
    });
    const list = this.#q(I.machineList);
    // Redrawn every second (the "last seen" time): text only, nothing here takes a click.
    if (lines.join('\n') !== [...list.children].map((li) => li.textContent).join('\n')) list.replaceChildren(...lines.map((line) => el('li', line)));
  }

  /**
   * One row per lab, kept from one redraw to the next and updated in place: a row's buttons are
   * the same elements as long as its lab exists, so a click is never lost to a redraw (the room
   * changes several times a second in a busy workshop, and the times every second).
   */
  #renderRoster(labs: RosterEntry[], now: number): void {
    const body = this.#q(I.roster);
    const rows = labs.map((lab) => {
      let row = this.#rows.get(lab.id);
      if (!row) this.#rows.set(lab.id, (row = new RosterRow(lab)));
      row.update(lab, now, this.#lessons[lab.lesson]?.title ?? lab.lesson);
      return row.tr;
    });
    for (const id of this.#rows.keys()) if (!labs.some((l) => l.id === id)) this.#rows.delete(id);
    if (rows.length === 0) {
      const cell = el('td', T().noLabs, 'muted');
      cell.colSpan = 10;
      const empty = el('tr');
      empty.append(cell);
      rows.push(empty);
    }
    const same = rows.length === body.children.length && rows.every((tr, k) => body.children[k] === tr);
    if (!same) body.replaceChildren(...rows);
  }
}

/** One lab's row in the roster: built once, then updated in place. */
class RosterRow {
  readonly tr = el('tr');
  readonly #name = el('span');
  readonly #sub = el('small', undefined, 'muted');
  readonly #lesson = el('td');
  readonly #watch: HTMLButtonElement[];
  readonly #age = el('td');
  readonly #idle = el('td');
  readonly #left = el('td');
  readonly #exercises = el('td');
  readonly #check = el('span');
  readonly #checkMessage = el('small');
  readonly #helpText = el('strong');
  readonly #clear = button(T().clear, { [I.action]: 'clear-help' });
  readonly #noHelp = el('span', '—');

  constructor(lab: RosterEntry) {
    this.tr.setAttribute(I.labId, lab.id);
    const td = (...nodes: Node[]) => {
      const cell = el('td');
      cell.append(...nodes);
      return cell;
    };
    this.#watch = lab.hosts.map((h) => button(h, { [I.action]: 'watch', [I.host]: h }));
    this.tr.append(
      td(this.#name, el('br'), this.#sub),
      this.#lesson,
      td(...this.#watch),
      this.#age,
      this.#idle,
      this.#left,
      this.#exercises,
      td(this.#check, el('br'), this.#checkMessage),
      td(this.#noHelp, this.#helpText, el('br'), this.#clear),
      td(button(T().extend(EXTEND_MINUTES), { [I.action]: 'extend' }), button(T().end, { [I.action]: 'end' })),
    );
  }

  update(lab: RosterEntry, now: number, lessonTitle: string): void {
    const online = lab.openTerminals > 0;
    this.#name.textContent = lab.name ?? T().noName;
    this.#name.className = lab.name ? '' : 'muted';
    this.#sub.textContent = `${lab.id}${online ? '' : T().pageClosed}`;
    this.#lesson.textContent = lessonTitle;
    for (const b of this.#watch) b.setAttribute('aria-label', T().watch(lab.name ?? lab.id, b.getAttribute(I.host) ?? ''));
    this.#age.textContent = duration(now - Date.parse(lab.createdAt));
    this.#idle.textContent = online ? T().active : duration(now - Date.parse(lab.lastActive));
    this.#left.textContent = duration(Date.parse(lab.expiresAt) - now);
    this.#exercises.textContent = T().passedOf(lab.passed.length, lab.exercises);
    this.#check.textContent = lab.lastCheck ? `${lab.lastCheck.exercise}: ${lab.lastCheck.status}` : '—';
    this.#check.className = lab.lastCheck ? `check-${lab.lastCheck.status}` : '';
    this.#checkMessage.textContent = lab.lastCheck?.message ?? '';
    this.tr.toggleAttribute(I.needsHelp, lab.help !== null);
    this.#noHelp.hidden = lab.help !== null;
    this.#helpText.hidden = this.#clear.hidden = lab.help === null;
    this.#helpText.textContent = lab.help ? T().asking(duration(now - Date.parse(lab.help))) : '';
    this.tr.title = lab.watchers > 0 ? T().watchers(lab.watchers) : '';
  }
}

// Defined once the page's words are there (src/i18n/page.ts).
void textReady.then(() => {
  if (!customElements.get(INSTRUCTOR_TAG)) customElements.define(INSTRUCTOR_TAG, InstructorDashboard);
});
