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
import { API_ERRORS, INSTRUCTOR_ROUTES, type ApiError, type RoomSnapshot, type RosterEntry } from '../../../contract/api.ts';
import { INSTRUCTOR_ATTRS as I, INSTRUCTOR_TAG, sel } from '../../../contract/dom.ts';
import type { WatchView } from './watch-view.ts';

/** How often the relative times (age, idle, time left) are redrawn from the last snapshot: display only, nothing is fetched. */
const CLOCK_REDRAW_MS = 1_000;
/** Minutes one Extend click adds. */
const EXTEND_MINUTES = 15;

type Tone = 'info' | 'error';

const GiB = 1024 ** 3;

/** "3 min", "1 h 05 min", "45 s". */
function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
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
  return body?.message ?? `The lab server answered HTTP ${res.status}.`;
}

class InstructorDashboard extends HTMLElement {
  #lessons: Record<string, { title: string; exercises: number }> = {};
  #room: RoomSnapshot | undefined;
  #stream: EventSource | undefined;
  #clock: ReturnType<typeof setInterval> | undefined;
  #watch: WatchView | undefined;
  #wired = false;

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
      return this.#status('The lab server is not reachable. Start it (npm start) and reload this page.', 'error');
    }
    if (res.status === 204) return this.#follow();
    const body = (await res.json().catch(() => undefined)) as Partial<ApiError> | undefined;
    if (body?.error === API_ERRORS.instructorOff.code) return this.#status(body.message ?? 'The instructor dashboard is off on this server.', 'error');
    if (body?.error === API_ERRORS.signInRequired.code) return this.#showSignIn('Sign in with the instructor code.');
    this.#status('This page needs the lab server (npm start); a static copy of the site has no dashboard.', 'error');
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
    if (!res) return this.#status('The lab server is not reachable; try again.', 'error');
    if (res.status !== 204) return this.#showSignIn(await errorOf(res), 'error');
    input.value = '';
    this.#q(I.signIn).hidden = true;
    this.#follow();
  }

  async #signOut(): Promise<void> {
    await fetch(INSTRUCTOR_ROUTES.session.path(), { method: 'DELETE' }).catch(() => undefined);
    this.#stream?.close();
    this.#stopWatching();
    this.#showSignIn('Signed out.');
  }

  /** Follow the room: EventSource reconnects by itself; a dropped session shows the sign-in form. */
  #follow(): void {
    this.#q(I.dashboard).hidden = false;
    this.#status('Connecting to the room…');
    this.#stream?.close();
    const stream = new EventSource(INSTRUCTOR_ROUTES.events.path());
    this.#stream = stream;
    stream.addEventListener('room', (e) => {
      this.#room = JSON.parse((e as MessageEvent<string>).data) as RoomSnapshot;
      this.#status(`Live: ${this.#room.labs.length} lab${this.#room.labs.length === 1 ? '' : 's'} in the room.`);
      this.#render();
    });
    stream.onerror = () => {
      if (stream.readyState !== EventSource.CLOSED) return this.#status('Lost the connection to the lab server; reconnecting…', 'error');
      // Closed for good: the session ended (the runner restarted, or 12 h passed), or the server is gone.
      void this.#resume();
    };
    this.#clock ??= setInterval(() => this.#render(), CLOCK_REDRAW_MS);
  }

  async #broadcast(): Promise<void> {
    const input = this.#q<HTMLInputElement>(I.broadcastText);
    if (await this.#act('POST', INSTRUCTOR_ROUTES.broadcast.path(), { text: input.value })) input.value = '';
  }

  /** Send one action; the room stream shows its effect. Resolves whether it was done. */
  async #act(method: string, path: string, body?: unknown): Promise<boolean> {
    const res = await fetch(path, {
      method,
      ...(body === undefined ? {} : { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }),
    }).catch(() => undefined);
    if (!res) {
      this.#status('The lab server is not reachable; try again.', 'error');
      return false;
    }
    if (res.status === 401) {
      this.#showSignIn('Your session ended; sign in again.', 'error');
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
        if (confirm(`End ${entry?.name ?? 'this learner'}'s lab? Everything in it is lost.`)) void this.#act('DELETE', INSTRUCTOR_ROUTES.lab.path(labId));
        break;
    }
  }

  async #startWatching(entry: RosterEntry, host: string): Promise<void> {
    this.#stopWatching();
    const pane = this.#q(I.watch);
    this.#q(I.watchTitle).textContent = `Watching ${entry.name ?? `lab ${entry.id}`} on ${host} (read-only)`;
    pane.hidden = false;
    try {
      const { watchTerminal } = await import('./watch-view.ts');
      this.#watch = await watchTerminal(this.#q(I.watchTerminal), INSTRUCTOR_ROUTES.watch.path(entry.id, host), (text) => this.#status(text, 'error'));
      pane.scrollIntoView({ block: 'nearest' });
    } catch {
      this.#status('The terminal code could not be loaded. Reload the page and try again.', 'error');
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
    this.#q(I.capacity).textContent =
      `Labs: ${c.labs} of ${c.maxLabs} · Warm pool: ${c.pool.ready} ready, ${c.pool.starting} starting · ` +
      `Memory: ${(m.memoryAvailableBytes / GiB).toFixed(1)} of ${(m.memoryTotalBytes / GiB).toFixed(1)} GiB free · ` +
      `Load: ${m.load[0].toFixed(2)} on ${m.cpus} CPU${m.cpus === 1 ? '' : 's'}`;
    const notice = this.#q(I.notice);
    notice.hidden = !room.notice;
    notice.querySelector('q')!.textContent = room.notice?.text ?? '';

    const body = this.#q(I.roster);
    const rows = room.labs.map((lab) => this.#row(lab, now));
    if (rows.length === 0) {
      const empty = el('tr');
      const cell = el('td', 'No labs yet: learners appear here when they press Start lab.', 'muted');
      cell.colSpan = 10;
      empty.append(cell);
      rows.push(empty);
    }
    body.replaceChildren(...rows);
  }

  #row(lab: RosterEntry, now: number): HTMLTableRowElement {
    const tr = el('tr');
    tr.setAttribute(I.labId, lab.id);
    if (lab.help) tr.setAttribute(I.needsHelp, '');
    const cell = (content: string | Node[], className?: string) => {
      const td = el('td', undefined, className);
      if (typeof content === 'string') td.textContent = content;
      else td.append(...content);
      tr.append(td);
    };
    const online = lab.openTerminals > 0;
    cell([el('span', lab.name ?? '(no name)', lab.name ? undefined : 'muted'), el('br'), el('small', `${lab.id}${online ? '' : ' · page closed'}`, 'muted')]);
    cell(this.#lessons[lab.lesson]?.title ?? lab.lesson);
    cell(lab.hosts.map((h) => button(h, { [I.action]: 'watch', [I.host]: h, 'aria-label': `Watch ${lab.name ?? lab.id} on ${h}` })));
    cell(duration(now - Date.parse(lab.createdAt)));
    cell(online ? 'active' : duration(now - Date.parse(lab.lastActive)));
    cell(duration(Date.parse(lab.expiresAt) - now));
    cell(`${lab.passed.length} of ${lab.exercises}`);
    cell(lab.lastCheck ? [el('span', `${lab.lastCheck.exercise}: ${lab.lastCheck.status}`, `check-${lab.lastCheck.status}`), el('br'), el('small', lab.lastCheck.message)] : '—');
    cell(lab.help ? [el('strong', `Asking for ${duration(now - Date.parse(lab.help))}`), el('br'), button('Clear', { [I.action]: 'clear-help' })] : '—');
    cell([button(`+${EXTEND_MINUTES} min`, { [I.action]: 'extend' }), button('End', { [I.action]: 'end' })]);
    if (lab.watchers > 0) tr.title = `${lab.watchers} watching`;
    return tr;
  }
}

if (!customElements.get(INSTRUCTOR_TAG)) customElements.define(INSTRUCTOR_TAG, InstructorDashboard);
