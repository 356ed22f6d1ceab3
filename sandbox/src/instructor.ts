/**
 * The instructor's side of a workshop (INSTRUCTOR_ROUTES, on when LAB_INSTRUCTOR_CODE is set):
 * signing in with the code for a session cookie, the room pushed to the dashboard as server-sent
 * events (every lab with its learner, progress and help flag; the machine's capacity), and the
 * instructor's actions: end or extend a lab, clear a help flag, a message to every learner, the
 * room's progress as CSV, watching a learner's terminal (watch.ts), and warming the pool for a
 * room about to start a chapter (LabManager.warmForRoom).
 *
 * In a workshop of several cells (cells.ts) the dashboard is the whole workshop's, whichever cell
 * it is opened at: while one is open the cell asks the others for their rosters every
 * PEER_ROSTER_REFRESH_MS (GET /api/cell/roster), the snapshot lists every cell's labs and every
 * machine, the message to learners is passed to every cell, and the CSV covers every cell. Actions
 * on another cell's lab are forwarded by cells.ts. Warming stays this cell's pool.
 *
 * The session is a random value in an HttpOnly, SameSite=Strict cookie scoped to /instructor:
 * page script can't read it, other sites can't send it, and the learners' pages and the preview
 * origins never see it. Only its hash is kept, in memory: a restarted runner asks the
 * instructor to sign in again, which costs nobody their lab.
 */
import { randomBytes, createHash } from 'node:crypto';
import type http from 'node:http';
import os from 'node:os';
import type { Duplex } from 'node:stream';
import {
  API_ERRORS, INSTRUCTOR_COOKIE, INSTRUCTOR_ROUTES, MAX_BROADCAST_CHARS, MAX_WARM_MINUTES, ROUTES,
  type BroadcastRequest, type CellRoster, type CellView, type ExtendLabRequest, type InstructorSignIn, type Notice, type RoomSnapshot, type RosterEntry, type WarmRequest,
} from '../../contract/api.ts';
import type { LabManifest } from '../../contract/labspec.ts';
import { RUNNER_NOTICES, type RunnerNotice } from '../../contract/protocol.ts';
import { clientAddress } from './clientaddress.ts';
import { cellStatusOf, type Cells } from './cells.ts';
import type { Config } from './config.ts';
import { cleanText, decodeSegment, parseUrl, readJson, refuseSocket, sendError, sendJson } from './http-io.ts';
import type { Lab, LabManager } from './labs.ts';
import { RateLimiter } from './ratelimit.ts';
import { sameSecret } from './secret.ts';
import type { TerminalWatchers } from './watch.ts';

/** A session lasts a long workshop day; then the instructor signs in again. */
const SESSION_MS = 12 * 3600_000;
/** Sign-in attempts per minute from one address: a person mistyping needs a few; guessing needs millions. */
const SIGN_INS_PER_MINUTE = 5;
/** Sessions kept at most (oldest dropped first): signing in again and again must not grow the runner. */
const MAX_SESSIONS = 100;
/** Dashboards open at once (event streams). */
const MAX_DASHBOARDS = 20;
/**
 * Changes are pushed at most this often (ms): keystrokes change a lab's last activity, and a
 * busy room would otherwise send a snapshot per keystroke. Well inside the 2 s the issue allows.
 */
const PUSH_COALESCE_MS = 250;
/** Memory and load change without any lab changing: pushed this often while a dashboard is open (ms). */
const CAPACITY_REFRESH_MS = 5_000;
/**
 * In a workshop of several cells, the other cells' rosters are asked for this often while a
 * dashboard is open (ms; never when none is): a change there shows here within this plus
 * PUSH_COALESCE_MS and a request's time (sandbox/test/cells-instructor.test.ts measures it).
 * Each ask is one small GET per cell, answered from memory.
 */
const PEER_ROSTER_REFRESH_MS = 1_000;
/** A comment line this often keeps proxies from closing a quiet event stream (nginx's default read timeout is 60 s). */
const STREAM_KEEPALIVE_MS = 25_000;
/** Cookies of a request looked at for the session: a browser sends a handful; a client could send thousands. */
const MAX_COOKIES_LOOKED_AT = 50;
/** Most minutes one click may add to a lab (the registry also caps it at LAB_MAX_LIFETIME from now). */
const MAX_EXTEND_MINUTES = 240;

const ENDED_BY_INSTRUCTOR: RunnerNotice = { code: RUNNER_NOTICES.endedByInstructor, message: 'The instructor ended this lab.' };
const NO_SUCH_LAB = 'There is no lab with this id any more (it ended). The roster shows the labs that exist.';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, params: string[]) => Promise<void> | void;

export interface InstructorOptions {
  config: Config;
  labs: LabManager;
  manifest: LabManifest;
  watchers: TerminalWatchers;
  log: (line: string) => void;
  allowsOrigin: (origin: string | undefined) => boolean;
  /** A lab's watcher count and the instructor's message changed: the learners' pages are told. */
  learnersChanged: (labId?: string) => void;
  /** The other cells of a workshop spread over several machines (cells.ts); undefined on one machine. */
  cells?: Cells;
}

export class Instructor {
  /** The instructor's message to every learner, until taken down. */
  notice: Notice | null = null;
  private readonly opts: InstructorOptions;
  private readonly code: string | undefined;
  /** sha256 of each session value, with when it ends. */
  private readonly sessions = new Map<string, number>();
  private readonly signIns = new RateLimiter(SIGN_INS_PER_MINUTE);
  private readonly streams = new Set<http.ServerResponse>();
  private pushTimer?: NodeJS.Timeout;
  private refreshTimer?: NodeJS.Timeout;
  private keepAliveTimer?: NodeJS.Timeout;
  private peersTimer?: NodeJS.Timeout;
  /** The other cells' labs as they last answered (kept while a cell does not answer: the Machines panel says so), and every cell's view. */
  private readonly peerLabs = new Map<string, RosterEntry[]>();
  private cluster: CellView[] | null = null;
  private askingPeers?: Promise<void>;
  private readonly routes: { method: string; pattern: RegExp; handle: Handler }[] = [
    { method: 'GET', pattern: INSTRUCTOR_ROUTES.events.pattern, handle: (req, res) => this.stream(req, res) },
    { method: 'DELETE', pattern: INSTRUCTOR_ROUTES.lab.pattern, handle: (_req, res, p) => this.endLab(res, p[0]!) },
    { method: 'POST', pattern: INSTRUCTOR_ROUTES.extend.pattern, handle: (req, res, p) => this.extend(req, res, p[0]!) },
    { method: 'DELETE', pattern: INSTRUCTOR_ROUTES.help.pattern, handle: (_req, res, p) => this.clearHelp(res, p[0]!) },
    { method: 'POST', pattern: INSTRUCTOR_ROUTES.broadcast.pattern, handle: (req, res) => this.broadcast(req, res) },
    { method: 'DELETE', pattern: INSTRUCTOR_ROUTES.broadcast.pattern, handle: (req, res) => this.takeDown(req, res) },
    { method: 'GET', pattern: INSTRUCTOR_ROUTES.progress.pattern, handle: (_req, res) => this.progress(res) },
    { method: 'POST', pattern: INSTRUCTOR_ROUTES.warm.pattern, handle: (req, res) => this.warm(req, res) },
    { method: 'DELETE', pattern: INSTRUCTOR_ROUTES.warmLesson.pattern, handle: (_req, res, p) => this.endWarm(res, p[0]!) },
  ];

  constructor(opts: InstructorOptions) {
    this.opts = opts;
    this.code = opts.config.LAB_INSTRUCTOR_CODE;
    if (!this.code) return;
    opts.labs.onChanged(() => this.changed());
    opts.labs.onRemoved(() => this.changed());
    opts.watchers.onCount(() => this.changed());
  }

  /** Answer one request under INSTRUCTOR_PREFIX; throws (a LabError or worse) for the server's boundary. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    if (!this.code) {
      return sendError(res, API_ERRORS.instructorOff, 'The instructor dashboard is off on this server. Start the runner with LAB_INSTRUCTOR_CODE set to turn it on.');
    }
    // SameSite=Strict already keeps other sites from sending the cookie; this refuses them even
    // before that, as the lab API does.
    if (req.method !== 'GET' && !this.opts.allowsOrigin(req.headers.origin)) {
      return sendError(res, API_ERRORS.forbiddenOrigin, `Requests from ${req.headers.origin} are not allowed. Open the dashboard from this server's own address.`);
    }
    if (INSTRUCTOR_ROUTES.session.pattern.test(url.pathname)) {
      if (req.method === 'POST') return this.signIn(req, res);
      if (req.method === 'GET') return this.signedIn(req) ? void res.writeHead(204).end() : this.refuse(res);
      if (req.method === 'DELETE') return this.signOut(req, res);
    }
    if (!this.signedIn(req)) return this.refuse(res);
    for (const route of this.routes) {
      const match = route.method === req.method ? route.pattern.exec(url.pathname) : null;
      if (match) return route.handle(req, res, match.slice(1).map(decodeSegment));
    }
    return sendError(res, API_ERRORS.notFound, `There is no instructor API at ${req.method} ${url.pathname}.`);
  }

  /** The watch socket: refused with 404 (off), 401 (no session), 403 (origin) or 404 (no such lab or host). */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = parseUrl(req.url);
    const match = url && INSTRUCTOR_ROUTES.watch.pattern.exec(url.pathname);
    if (!this.code || !match) return refuseSocket(socket, 404);
    if (!this.opts.allowsOrigin(req.headers.origin)) return refuseSocket(socket, 403);
    if (!this.signedIn(req)) return refuseSocket(socket, 401);
    const lab = this.opts.labs.get(decodeSegment(match[1]));
    const host = lab?.hosts.find((h) => h.name === decodeSegment(match[2]));
    if (!lab || !host) return refuseSocket(socket, 404);
    this.opts.watchers.upgrade(req, socket, head, lab, host.name, (status) => refuseSocket(socket, status));
  }

  /** Part of every learner's page state: the message, and how many watch this lab. */
  learnerState(lab: Lab): { notice: Notice | null; watchers: number } {
    return { notice: this.notice, watchers: this.opts.watchers.count(lab.id) };
  }

  /** End every dashboard's stream (the runner is stopping). */
  close(): void {
    for (const timer of [this.pushTimer, this.refreshTimer, this.keepAliveTimer, this.peersTimer]) clearTimeout(timer);
    for (const res of this.streams) res.end();
    this.streams.clear();
  }

  private async signIn(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const address = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.opts.config.LAB_TRUST_PROXY);
    const wait = this.signIns.take(address);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      res.setHeader('retry-after', String(seconds));
      return sendError(res, API_ERRORS.rateLimited, `Too many sign-in attempts from your address. Wait ${seconds} seconds, then try again.`);
    }
    const body = (await readJson(req)) as Partial<Record<keyof InstructorSignIn, unknown>> | null;
    if (typeof body?.code !== 'string' || !sameSecret(body.code, this.code!)) {
      this.opts.log(`instructor sign-in with a wrong code from ${address}`);
      return sendError(res, API_ERRORS.instructorCodeWrong, 'That is not the instructor code. Check LAB_INSTRUCTOR_CODE on the server and try again.');
    }
    const value = randomBytes(32).toString('base64url');
    this.sessions.set(hash(value), Date.now() + SESSION_MS);
    while (this.sessions.size > MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    // Secure when the page was served over https (behind a TLS proxy): the cookie then never travels in the clear.
    const secure = req.headers.origin?.startsWith('https:') ? '; Secure' : '';
    res.setHeader('set-cookie', `${INSTRUCTOR_COOKIE}=${value}; Path=/instructor; HttpOnly; SameSite=Strict; Max-Age=${SESSION_MS / 1000}${secure}`);
    this.opts.log(`instructor signed in from ${address}`);
    res.writeHead(204).end();
  }

  private signOut(req: http.IncomingMessage, res: http.ServerResponse): void {
    for (const value of sessionCookies(req)) this.sessions.delete(hash(value));
    res.setHeader('set-cookie', `${INSTRUCTOR_COOKIE}=; Path=/instructor; HttpOnly; SameSite=Strict; Max-Age=0`);
    res.writeHead(204).end();
  }

  /** Whether the request carries a valid session here (or comes from a cell whose session did). */
  signedIn(req: http.IncomingMessage): boolean {
    if (this.opts.cells?.fromCell(req)) return true;
    return sessionCookies(req).some((value) => {
      const key = hash(value);
      const until = this.sessions.get(key);
      if (until === undefined) return false;
      if (Date.now() < until) return true;
      this.sessions.delete(key);
      return false;
    });
  }

  private refuse(res: http.ServerResponse): void {
    sendError(res, API_ERRORS.signInRequired, 'Sign in to the instructor dashboard first (at /instructor/, with the instructor code).');
  }

  /** The room as server-sent events: a snapshot now, then one after every change. */
  private async stream(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (this.streams.size >= MAX_DASHBOARDS) {
      return sendError(res, API_ERRORS.rateLimited, `${MAX_DASHBOARDS} dashboards are open already; close one, then reload this page.`);
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // nginx would otherwise hold events back in its buffer.
      'x-accel-buffering': 'no',
    });
    this.streams.add(res);
    const forget = () => {
      this.streams.delete(res);
      if (this.streams.size === 0) this.stopTimers();
    };
    req.on('close', forget);
    res.on('error', forget);
    // The first snapshot shows the other cells' labs already (each asked within CELL_STATUS_TIMEOUT_MS).
    if (this.opts.cells) await this.askPeers();
    if (!this.streams.has(res)) return; // gone meanwhile: no timers for nobody
    res.write(event(this.snapshot()));
    this.startTimers();
  }

  private startTimers(): void {
    if (this.opts.cells) this.peersTimer ??= setInterval(() => void this.askPeers(), PEER_ROSTER_REFRESH_MS);
    this.refreshTimer ??= setInterval(() => this.push(), CAPACITY_REFRESH_MS);
    this.keepAliveTimer ??= setInterval(() => {
      for (const res of this.streams) res.write(': keep-alive\n\n');
    }, STREAM_KEEPALIVE_MS);
  }

  private stopTimers(): void {
    clearInterval(this.refreshTimer);
    clearInterval(this.keepAliveTimer);
    clearInterval(this.peersTimer);
    this.refreshTimer = this.keepAliveTimer = this.peersTimer = undefined;
  }

  /**
   * Ask the other cells for their rosters, and every cell's view (a running ask is joined);
   * the dashboards get a push when a roster or a machine's state changed.
   */
  private askPeers(): Promise<void> {
    const cells = this.opts.cells;
    if (!cells) return Promise.resolve();
    this.askingPeers ??= (async () => {
      const [view, answers] = await Promise.all([cells.view(), cells.askPeers('GET', ROUTES.cellRoster.path())]);
      const before = JSON.stringify([[...this.peerLabs], this.cluster?.map(machineState)]);
      const seenAt = new Date().toISOString();
      for (const answer of answers) {
        const labs = answer.status === 200 ? rosterOf(answer.body, answer.cell) : undefined;
        if (labs) this.peerLabs.set(answer.cell, labs);
        // The status that came with the roster is newer than discovery's (up to CELL_REFRESH_MS old): the two agree.
        const status = labs && cellStatusOf((answer.body as CellRoster).status);
        const known = view.cells.findIndex((c) => c.cell === answer.cell);
        if (status?.cell === answer.cell && known >= 0) view.cells[known] = { ...status, self: false, reachable: true, seenAt };
      }
      // A cell discovery forgot (gone for good) takes its labs with it.
      for (const cell of this.peerLabs.keys()) if (!view.cells.some((c) => c.cell === cell)) this.peerLabs.delete(cell);
      this.cluster = view.cells;
      if (JSON.stringify([[...this.peerLabs], this.cluster.map(machineState)]) !== before) this.changed();
    })().catch((err: Error) => this.opts.log(`asking the other cells for their rosters failed: ${err.message}`)).finally(() => {
      this.askingPeers = undefined;
    });
    return this.askingPeers;
  }

  /** This cell's labs, for another cell's dashboard (GET /api/cell/roster). */
  roster(): Omit<CellRoster, 'status'> {
    return { cell: this.opts.config.LAB_CELL ?? '', labs: this.opts.labs.list().map((lab) => this.entry(lab)), notice: this.notice };
  }

  /** Every lab of the workshop: this cell's, then the other cells' in the order the Machines panel lists them. */
  private allLabs(): RosterEntry[] {
    const own = this.roster().labs;
    if (!this.cluster) return own;
    return [...own, ...this.cluster.flatMap((c) => this.peerLabs.get(c.cell) ?? [])];
  }

  /** Something the roster shows changed: push within PUSH_COALESCE_MS, once for many changes. */
  private changed(): void {
    if (this.streams.size === 0 || this.pushTimer) return;
    this.pushTimer = setTimeout(() => {
      this.pushTimer = undefined;
      this.push();
    }, PUSH_COALESCE_MS);
  }

  private push(): void {
    if (this.streams.size === 0) return;
    const text = event(this.snapshot());
    for (const res of this.streams) res.write(text);
  }

  private snapshot(): RoomSnapshot {
    const { labs, config } = this.opts;
    const [load1, load5, load15] = os.loadavg() as [number, number, number];
    return {
      at: new Date().toISOString(),
      labs: this.allLabs(),
      capacity: {
        labs: labs.size,
        maxLabs: config.LAB_MAX_LABS,
        pool: labs.poolStatus,
        machine: { memoryTotalBytes: os.totalmem(), memoryAvailableBytes: os.freemem(), load: [load1, load5, load15], cpus: os.availableParallelism() },
        isolation: labs.isolation,
      },
      notice: this.notice,
      cells: this.opts.cells ? (this.cluster ?? []) : null,
    };
  }

  private entry(lab: Lab): RosterEntry {
    const exercises = this.opts.manifest.lessons[lab.lesson]?.exercises ?? [];
    const iso = (ms: number) => new Date(ms).toISOString();
    return {
      id: lab.id,
      name: lab.learnerName,
      lesson: lab.lesson,
      hosts: lab.hosts.map((h) => h.name),
      createdAt: iso(lab.createdAt),
      lastActive: iso(lab.lastActive),
      expiresAt: iso(this.opts.labs.expiryOf(lab)),
      openTerminals: lab.openTerminals,
      passed: exercises.filter((e) => lab.checks[e.id]?.status === 'passed').map((e) => e.id),
      exercises: exercises.length,
      lastCheck: lab.lastCheck ? { ...lab.lastCheck, at: iso(lab.lastCheck.at) } : null,
      help: lab.helpSince === null ? null : iso(lab.helpSince),
      watchers: this.opts.watchers.count(lab.id),
      cell: this.opts.config.LAB_CELL ?? null,
    };
  }

  private labOr404(res: http.ServerResponse, id: string): Lab | undefined {
    const lab = this.opts.labs.get(id);
    if (!lab) sendError(res, API_ERRORS.labNotFound, NO_SUCH_LAB);
    return lab;
  }

  private async endLab(res: http.ServerResponse, id: string): Promise<void> {
    const lab = this.labOr404(res, id);
    if (!lab) return;
    await this.opts.labs.remove(lab.id, ENDED_BY_INSTRUCTOR);
    this.opts.log(`lab ${lab.id} ended by the instructor`);
    res.writeHead(204).end();
  }

  private async extend(req: http.IncomingMessage, res: http.ServerResponse, id: string): Promise<void> {
    const body = (await readJson(req)) as Partial<Record<keyof ExtendLabRequest, unknown>> | null;
    const minutes = body?.minutes;
    if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > MAX_EXTEND_MINUTES) {
      return sendError(res, API_ERRORS.badRequest, `Send {"minutes": N} with N a whole number from 1 to ${MAX_EXTEND_MINUTES}.`);
    }
    const lab = this.labOr404(res, id);
    if (!lab) return;
    this.opts.labs.extend(lab, minutes);
    sendJson(res, 200, this.entry(lab));
  }

  private clearHelp(res: http.ServerResponse, id: string): void {
    const lab = this.labOr404(res, id);
    if (!lab) return;
    this.opts.labs.setLearner(lab, { help: false });
    res.writeHead(204).end();
  }

  private async broadcast(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = (await readJson(req)) as Partial<Record<keyof BroadcastRequest, unknown>> | null;
    const text = typeof body?.text === 'string' ? cleanText(body.text, MAX_BROADCAST_CHARS) : '';
    if (!text) return sendError(res, API_ERRORS.badRequest, `Send {"text": "..."}: a message of 1 to ${MAX_BROADCAST_CHARS} characters.`);
    this.notice = { id: randomBytes(6).toString('hex'), text, at: new Date().toISOString() };
    this.opts.learnersChanged();
    this.changed();
    await this.spread(req, 'POST', { text } satisfies BroadcastRequest);
    sendJson(res, 200, this.notice);
  }

  private async takeDown(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    this.notice = null;
    this.opts.learnersChanged();
    this.changed();
    await this.spread(req, 'DELETE');
    res.writeHead(204).end();
  }

  /**
   * The message is every learner's, wherever their lab lives: an instructor's message (or taking
   * it down) is passed to every other cell that answers, with the secret (which that cell's
   * session check admits). One a cell sent is not passed on again.
   */
  private async spread(req: http.IncomingMessage, method: string, body?: BroadcastRequest): Promise<void> {
    const { cells } = this.opts;
    if (!cells || cells.fromCell(req)) return;
    await cells.askPeers(method, INSTRUCTOR_ROUTES.broadcast.path(), body);
  }

  private async warm(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const body = (await readJson(req)) as Partial<Record<keyof WarmRequest, unknown>> | null;
    const { lesson, count, minutes, engine } = body ?? {};
    const whole = (n: unknown, max: number): n is number => Number.isSafeInteger(n) && (n as number) >= 1 && (n as number) <= max;
    if (typeof lesson !== 'string' || !lesson || !whole(count, Infinity) || !whole(minutes, MAX_WARM_MINUTES)) {
      return sendError(res, API_ERRORS.badRequest, `Send {"lesson": "<lesson>", "count": <learners>, "minutes": <how long>}: count a whole number from 1, minutes a whole number from 1 to ${MAX_WARM_MINUTES}.`);
    }
    // The engine is checked against the runner's own by warmForRoom (400 naming them).
    const shape = this.opts.labs.warmForRoom({ lesson, count, minutes, engine });
    this.changed();
    sendJson(res, 200, shape);
  }

  private endWarm(res: http.ServerResponse, lesson: string): void {
    this.opts.labs.cancelWarm(lesson);
    this.changed();
    res.writeHead(204).end();
  }

  /** Every lab's progress as CSV; in a workshop of several cells every cell's, asked now, with a `cell` column. */
  private async progress(res: http.ServerResponse): Promise<void> {
    await this.askPeers();
    const cluster = this.opts.cells !== undefined;
    const header = ['lab', ...(cluster ? ['cell'] : []), 'name', 'lesson', 'hosts', 'created', 'last active', 'exercises passed', 'exercises', 'passed ids', 'last check', 'last check status', 'last check message', 'help since'];
    const rows = this.allLabs().map((e) => [e.id, ...(cluster ? [e.cell ?? ''] : []), e.name ?? '', e.lesson, e.hosts.join(' '), e.createdAt, e.lastActive,
      String(e.passed.length), String(e.exercises), e.passed.join(' '), e.lastCheck?.exercise ?? '', e.lastCheck?.status ?? '', e.lastCheck?.message ?? '', e.help ?? '']);
    const csv = [header, ...rows].map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="progress-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-')}.csv"`,
      'cache-control': 'no-store',
    });
    res.end(csv);
  }
}

const hash = (value: string) => createHash('sha256').update(value).digest('hex');

/** What of a machine the dashboard shows changing (not its free memory, which changes all the time: the capacity refresh shows that). */
const machineState = (c: CellView) => [c.cell, c.labs, c.creating, c.maxLabs, c.accepting, c.reachable, c.engine, c.poolReady];

/**
 * Another cell's roster answer, or undefined when it is none: a cell is trusted (it had the
 * secret) but not to be well-formed; entries that are not its own labs are left out.
 */
function rosterOf(body: unknown, cell: string): RosterEntry[] | undefined {
  const labs = (body as Partial<CellRoster> | undefined)?.labs;
  if ((body as Partial<CellRoster>)?.cell !== cell || !Array.isArray(labs)) return undefined;
  return labs.filter((e: Partial<RosterEntry>) => typeof e?.id === 'string' && e.cell === cell && Array.isArray(e.hosts) && Array.isArray(e.passed));
}

function event(snapshot: RoomSnapshot): string {
  return `event: room\ndata: ${JSON.stringify(snapshot)}\n\n`;
}

/**
 * The well-formed session cookie values the request carries. All of them, not the first: a page
 * on a preview origin (`<id>.localhost`) may set a cookie of the same name for the parent domain,
 * which the browser then sends too, and it must not be able to sign the instructor out (it can
 * never sign anyone in: only a value the runner made is a session). At most a few are looked at.
 */
function sessionCookies(req: http.IncomingMessage): string[] {
  const values: string[] = [];
  for (const part of (req.headers.cookie ?? '').split(';').slice(0, MAX_COOKIES_LOOKED_AT)) {
    const [name, value] = part.trim().split('=', 2);
    if (name === INSTRUCTOR_COOKIE && value && /^[A-Za-z0-9_-]{43}$/.test(value)) values.push(value);
  }
  return values;
}

/**
 * One CSV field (RFC 4180). A learner chooses their name: a field a spreadsheet would run as a
 * formula (starting with = + - @ or a tab) gets a leading apostrophe, so opening the export
 * cannot run what a learner typed.
 */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
