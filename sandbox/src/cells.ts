/**
 * Cells: one workshop spread over several machines (LAB_CELL, LAB_CELL_PEERS). Each machine's
 * runner is a cell that creates labs on its own engine exactly as one machine does; a lab id
 * names its cell (`<cell>-<12 hex>`, store.ts), and a request may arrive at any cell. This module
 * owns what is between cells:
 * - discovery: every CELL_REFRESH_MS it asks every peer address (LAB_CELL_PEERS resolved, plus
 *   those known before) for its CellStatus, and keeps cell -> {address, status, seenAt};
 * - forwarding: a request or socket naming another cell's lab goes there (preview-proxy.ts
 *   streams it), with the client's headers between cells dropped and its own set; a request
 *   that came from a cell (the secret) is never forwarded again, so there are no loops;
 * - placement: a new lab goes to the cell with the most room (ordered by placementOrder);
 * - this cell's status (GET /api/cell, health's cluster view) and draining (a Swarm node being
 *   drained: take no new labs, serve the ones held, exit once none is left).
 * The server (server.ts) calls claimRequest/claimUpgrade inside its boundaries; routes.ts asks
 * create() to place a lab.
 */
import http from 'node:http';
import net from 'node:net';
import { lookup } from 'node:dns/promises';
import { freemem } from 'node:os';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import {
  API_ERRORS, CELL_HEADER_PREFIX, CELL_HEADERS, CLIENT_ID_PATTERN, INSTRUCTOR_ROUTES, ROUTES,
  type CellNodeStatus, type CellRoster, type CellStatus, type CellView, type CreateLabRequest, type HealthStatus,
} from '../../contract/api.ts';
import { FILE_ROUTES } from '../../contract/files.ts';
import type { LabManifest } from '../../contract/labspec.ts';
import { clientAddress, normalizeAddress } from './clientaddress.ts';
import type { Config } from './config.ts';
import { LabError } from './errors.ts';
import { decodeSegment, oneLine, refuseSocket, sendError, sendJson } from './http-io.ts';
import type { LabManager } from './labs.ts';
import { PreviewError, proxyRequest, proxyUpgrade, sendText, type ProxyOptions } from './preview-proxy.ts';
import { cellOfPreviewId, previewIdOf } from './previews.ts';
import { LAB_GONE } from './routes.ts';
import { LAB_HOST_IN_USE_BYTES, MEMORY_RESERVE_BYTES } from './roomfit.ts';
import { sameSecret } from './secret.ts';
import { cellOfLabId } from './store.ts';

/** How often the cells ask each other how they are (ms): placement works from answers at most this old. */
export const CELL_REFRESH_MS = 2_000;
/** How long a cell may take to answer GET /api/cell (ms): it answers from memory, in a millisecond or two even when busy. */
const CELL_STATUS_TIMEOUT_MS = 1_500;
/** A peer counts for placement only if it answered within this long (ms): three refreshes, so one lost answer does not drop it. */
const CELL_FRESH_MS = 3 * CELL_REFRESH_MS;
/**
 * A cell that stopped answering stays known this long (ms), so its labs get 503 "try again"
 * rather than 404 "gone": Swarm restarts a runner task within seconds, a machine reboots in minutes.
 */
const CELL_FORGET_MS = 15 * 60_000;
/** Connecting to another cell (ms): on an overlay a vanished address does not refuse, it stays silent. */
const CELL_CONNECT_TIMEOUT_MS = 2_000;
/**
 * How long the cell behind may take to start answering a forwarded request (ms): a check or a
 * setup runs up to 60 s, and a lab placed there is built first (seconds, a minute on a loaded machine).
 */
const CELL_ANSWER_TIMEOUT_MS = 180_000;
/** How long another cell may take to end a browser's earlier labs (ms): removing a lab's containers takes a second or two. */
const CELL_REMOVE_TIMEOUT_MS = 30_000;
/** A request naming a cell nobody knows refreshes the map at most this often (ms), so made-up ids cannot make a cell hammer its peers. */
const UNKNOWN_CELL_REFRESH_MS = 1_000;
/** Longest `x-dnl-cell-client` taken: an address (clientaddress.ts keeps at most 64 characters). */
const MAX_CLIENT_CHARS = 64;
/** Swarm node ids are 25 lowercase letters and digits; anything else is no node. */
const NODE_ID_PATTERN = /^[a-z0-9]{1,64}$/;

/** What a client is told for a lab whose cell does not answer. */
const CELL_UNREACHABLE = 'The machine holding this lab does not answer; it may be restarting. Try again in a minute.';

/** Every route whose first parameter is a lab id: a request on one of another cell's labs is forwarded there. */
const LAB_PATHS = [
  ROUTES.lab, ROUTES.check, ROUTES.setup, ROUTES.terminal, ROUTES.labEvents, ROUTES.labMap, ROUTES.learner,
  FILE_ROUTES.files, FILE_ROUTES.fileContent, FILE_ROUTES.folders, FILE_ROUTES.moves,
].map((r) => r.pattern);
const INSTRUCTOR_LAB_PATHS = [INSTRUCTOR_ROUTES.lab, INSTRUCTOR_ROUTES.extend, INSTRUCTOR_ROUTES.help, INSTRUCTOR_ROUTES.watch].map((r) => r.pattern);

/**
 * Free memory a cell needs to take a lab of `hosts` hosts: what the lab's hosts hold in use plus
 * the reserve the room planner keeps (roomfit.ts, measured on this project's machine). Not
 * LAB_HOST_MEMORY, a limit that idle lab hosts stay far below: it would turn away labs that fit.
 */
export function minFreeBytes(hosts: number): number {
  return MEMORY_RESERVE_BYTES + hosts * LAB_HOST_IN_USE_BYTES;
}

const roomOf = (c: CellStatus) => c.maxLabs - c.labs - c.creating;

/**
 * The cells a new lab may go to, best first: those that take labs (accepting, engine answering,
 * answered lately), have room and enough free memory; by room, then free memory, this cell
 * first on ties. Pure, for its unit test.
 */
export function placementOrder(cells: readonly CellView[], needBytes: number, now: number): CellView[] {
  return cells
    .filter((c) => (c.self || (c.reachable && now - Date.parse(c.seenAt) < CELL_FRESH_MS)) && c.accepting && c.engine && roomOf(c) > 0 && c.freeBytes >= needBytes)
    .sort((a, b) => roomOf(b) - roomOf(a) || b.freeBytes - a.freeBytes || Number(b.self) - Number(a.self));
}

/**
 * The workshop-full sentence, counting the labs of every cell that answers. "X of Y in use" only
 * when every one is at its lab limit: a cell draining, short of memory or without its engine
 * has places left that it does not give, and the count would then contradict "full".
 */
export function workshopFull(cells: readonly CellView[]): string {
  const live = cells.filter((c) => c.self || c.reachable);
  const used = live.reduce((n, c) => n + c.labs + c.creating, 0);
  const max = live.reduce((n, c) => n + c.maxLabs, 0);
  if (live.every((c) => roomOf(c) <= 0)) {
    const machines = live.length === 1 ? 'the one machine\'s labs are' : `all ${live.length} machines' labs are`;
    return `The workshop is full: ${machines} in use (${Math.min(used, max)} of ${max}); try again in a few minutes.`;
  }
  const none = live.length === 1 ? 'its one machine can take' : `none of its ${live.length} machines can take`;
  return `The workshop is full: ${none} another lab now (${used} labs in use; a machine may be short of memory or being taken out of the workshop); try again in a few minutes.`;
}

/**
 * A cell's status once it has answered "full" to a lab placed on it: its last status (from
 * discovery, up to CELL_REFRESH_MS old, or from a refresh asked before the last lab placed there)
 * may still show room, and the workshop-full sentence must count it as full. Pure, for its unit test.
 */
export function answeredFull<S extends CellStatus>(status: S): S {
  return { ...status, labs: Math.max(status.labs, status.maxLabs - status.creating) };
}

/** A cell as discovery keeps it. */
interface Known {
  address: Address;
  status: CellStatus;
  seenAt: number;
  reachable: boolean;
}

interface Address {
  host: string;
  port: number;
}

const addressKey = (a: Address) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

/** An answer of another cell: status and parsed JSON body (undefined when it was none). */
interface CellAnswer {
  status: number;
  body: unknown;
}

/** Asking another cell failed; `sent`: the request may have reached it (then it must not be tried elsewhere). */
class CellRequestError extends Error {
  readonly sent: boolean;
  constructor(message: string, sent: boolean) {
    super(message);
    this.sent = sent;
  }
}

export interface CellsOptions {
  config: Config;
  docker: Docker;
  labs: LabManager;
  manifest: LabManifest;
  log: (line: string) => void;
  /** The port this runner listens on (peers without a port are asked on it). */
  port: () => number;
  /** Whether a page of this origin may use the API and open sockets, as this runner's own handlers decide. */
  allowsOrigin: (origin: string | undefined) => boolean;
  /** Whether the request carries a valid instructor session here (an instructor route is forwarded only then). */
  instructorSignedIn: (req: http.IncomingMessage) => boolean;
  /** This cell's labs as the instructor dashboard lists them (GET /api/cell/roster adds the status). */
  roster: () => Omit<CellRoster, 'status'>;
}

/** A peer's answer to askPeers. */
export interface PeerAnswer extends CellAnswer {
  cell: string;
}

export class Cells {
  readonly name: string;
  private readonly opts: CellsOptions;
  private readonly secret: string;
  private readonly known = new Map<string, Known>();
  /** Addresses LAB_CELL_PEERS resolved to last, and every address a cell answered from: all are asked. */
  private readonly addresses = new Map<string, Address>();
  /** Addresses that answered as this cell itself. */
  private readonly selfAddresses = new Set<string>();
  private timer?: NodeJS.Timeout;
  private refreshing?: Promise<void>;
  private refreshedAt = 0;
  private accepting = true;
  private engine?: { at: number; up: Promise<boolean> };

  constructor(opts: CellsOptions) {
    this.opts = opts;
    this.name = opts.config.LAB_CELL!;
    this.secret = opts.config.LAB_CELL_SECRET!;
  }

  start(): void {
    this.refresh();
    this.timer = setInterval(() => this.refresh(), CELL_REFRESH_MS);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The request came from another cell: it carries the secret. */
  fromCell(req: http.IncomingMessage): boolean {
    const given = req.headers[CELL_HEADERS.secret];
    return typeof given === 'string' && sameSecret(given, this.secret);
  }

  /** A POST /api/labs another cell placed here: create or refuse, never place again. */
  placedHere(req: http.IncomingMessage): boolean {
    return req.headers[CELL_HEADERS.placed] === '1' && this.fromCell(req);
  }

  /** The address the request's per-address limits charge: the first cell's word for it when a cell sent it. */
  clientOf(req: http.IncomingMessage): string {
    const told = req.headers[CELL_HEADERS.client];
    if (typeof told === 'string' && told && told.length <= MAX_CLIENT_CHARS && this.fromCell(req)) return told;
    return clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], this.opts.config.LAB_TRUST_PROXY);
  }

  /** Whether connections from this address are another cell's (they carry many clients' sockets). */
  isPeerAddress(address: string): boolean {
    const host = normalizeAddress(address);
    for (const a of this.addresses.values()) if (a.host === host) return true;
    return false;
  }

  /** This cell's own status, as GET /api/cell answers it. */
  async status(): Promise<CellStatus> {
    const { labs, config, docker } = this.opts;
    if (!this.engine || performance.now() - this.engine.at > CELL_REFRESH_MS) {
      this.engine = { at: performance.now(), up: docker.ping().then(() => true, () => false) };
    }
    return {
      cell: this.name, labs: labs.size, creating: labs.creating, maxLabs: config.LAB_MAX_LABS, freeBytes: freemem(),
      accepting: this.accepting, engine: await this.engine.up, poolReady: labs.poolStatus.ready,
    };
  }

  /** Every cell known, this one first, as health shows them. */
  async view(): Promise<NonNullable<HealthStatus['cluster']>> {
    const self: CellView = { ...(await this.status()), self: true, reachable: true, seenAt: new Date().toISOString() };
    const others = [...this.known.values()].map((k): CellView => ({ ...k.status, self: false, reachable: k.reachable, seenAt: new Date(k.seenAt).toISOString() }));
    return { cell: this.name, cells: [self, ...others.sort((a, b) => a.cell.localeCompare(b.cell))] };
  }

  /**
   * A request this module answers: the cell routes (only with the secret; without it they are
   * left to the API's 404), and any request on another cell's lab (forwarded, or 404/503).
   * Undefined when it is this cell's to answer.
   */
  claimRequest(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> | undefined {
    if (url.pathname.startsWith(ROUTES.cell.path()) && this.fromCell(req)) {
      if (req.method === 'GET' && ROUTES.cell.pattern.test(url.pathname)) return this.status().then((s) => sendJson(res, 200, s));
      if (req.method === 'GET' && ROUTES.cellRoster.pattern.test(url.pathname)) return this.status().then((status) => sendJson(res, 200, { ...this.opts.roster(), status } satisfies CellRoster));
      const node = req.method === 'GET' ? ROUTES.cellNode.pattern.exec(url.pathname) : null;
      if (node) return this.nodeAvailability(decodeSegment(node[1])).then((availability) => sendJson(res, 200, { availability } satisfies CellNodeStatus));
      const client = req.method === 'DELETE' ? ROUTES.cellClient.pattern.exec(url.pathname) : null;
      const id = decodeSegment(client?.[1]);
      if (client && CLIENT_ID_PATTERN.test(id)) return this.opts.labs.endLabsOf(id).then(() => this.status()).then((s) => sendJson(res, 200, s));
    }
    const cell = this.foreignCell(req, url.pathname);
    if (cell === undefined) return undefined;
    // Exactly as the handler there would: a page of a foreign origin may not change anything.
    if (req.method !== 'GET' && !this.opts.allowsOrigin(req.headers.origin)) {
      return Promise.resolve(sendError(res, API_ERRORS.forbiddenOrigin, `Requests from ${req.headers.origin} are not allowed. Open the course from this server's own address.`));
    }
    return this.connectTo(cell).then(
      (socket) => proxyRequest(req, res, () => Promise.resolve(socket), `cell ${cell}`, this.forwardOptions(req)),
      (err: LabError) => sendError(res, err.kind, err.message),
    );
  }

  /** A socket upgrade on another cell's lab: forwarded there (or refused 404/403/503). False when it is this cell's. */
  claimUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, pathname: string): boolean {
    const cell = this.foreignCell(req, pathname);
    if (cell === undefined) return false;
    if (!this.opts.allowsOrigin(req.headers.origin)) {
      refuseSocket(socket, 403);
      return true;
    }
    this.connectTo(cell).then(
      (relay) => proxyUpgrade(req, socket, head, () => Promise.resolve(relay), `cell ${cell}`, this.forwardOptions(req)),
      (err: LabError) => refuseSocket(socket, err.status, err.message),
    );
    return true;
  }

  /**
   * A web preview (told by its Host, previews.ts) of another cell's lab: forwarded there as it
   * is, Host and Origin included (the preview's own origin, which the cell there serves). False
   * when it is this cell's, or its cell is not known (previews.ts then answers 404).
   */
  claimPreview(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    const cell = this.previewCell(req);
    if (!cell) return false;
    this.connectTo(cell).then(
      (socket) => proxyRequest(req, res, () => Promise.resolve(socket), `cell ${cell}`, this.forwardOptions(req, { keepOrigin: true })),
      (err: LabError) => sendText(res, err.status, err.message),
    );
    return true;
  }

  /** A preview's WebSocket of another cell's lab, as claimPreview. */
  claimPreviewUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const cell = this.previewCell(req);
    if (!cell) return false;
    this.connectTo(cell).then(
      (relay) => proxyUpgrade(req, socket, head, () => Promise.resolve(relay), `cell ${cell}`, this.forwardOptions(req, { keepOrigin: true })),
      (err: LabError) => refuseSocket(socket, err.status, err.message),
    );
    return true;
  }

  /**
   * Place a new lab: here (`here` creates it and answers), or at the best peer with room,
   * forwarded with CELL_HEADERS.placed; the next one when a peer turns out full or cannot be
   * reached. Throws the workshop-full LabError when no cell takes it.
   */
  async create(req: CreateLabRequest, address: string, res: http.ServerResponse, here: () => Promise<void>): Promise<void> {
    const lab = this.opts.manifest.lessons[req.lesson]?.lab;
    // One lab per browser across the workshop: its earlier labs end first, wherever they are,
    // and the room they leave counts (as on one machine, where a lesson without a lab ends none).
    if (req.client && lab) await this.endLabsOf(req.client);
    const { cells } = await this.view();
    for (const target of placementOrder(cells, minFreeBytes(lab?.hosts.length ?? 1), Date.now())) {
      if (target.self) {
        try {
          return await here();
        } catch (err) {
          // Full after all (labs created meanwhile): another cell may have room.
          if (err instanceof LabError && err.kind === API_ERRORS.capacity) continue;
          throw err;
        }
      }
      const known = this.known.get(target.cell);
      if (!known) continue;
      let answer: CellAnswer;
      try {
        answer = await this.ask(known.address, 'POST', ROUTES.labs.path(), { body: req, headers: { [CELL_HEADERS.placed]: '1', [CELL_HEADERS.client]: address }, timeoutMs: CELL_ANSWER_TIMEOUT_MS });
      } catch (err) {
        this.opts.log(`placing a lab on cell ${target.cell} failed: ${(err as Error).message}`);
        known.reachable = false;
        if ((err as CellRequestError).sent) throw new LabError(API_ERRORS.cellUnreachable, 'The machine that was creating your lab stopped answering. Start the lab again.');
        continue;
      }
      if (answer.body === undefined) throw new LabError(API_ERRORS.cellUnreachable, 'The machine that was creating your lab gave no usable answer. Start the lab again.');
      if (answer.status === API_ERRORS.capacity.status && (answer.body as { error?: string }).error === API_ERRORS.capacity.code) {
        known.status = answeredFull(known.status);
        continue;
      }
      // Counted at once, so the next lab placed before the next refresh weighs this one.
      if (answer.status === 201) known.status.labs++;
      return sendJson(res, answer.status, answer.body);
    }
    // Counted again: the cells that answered "full" on the way are full, whatever discovery said.
    throw new LabError(API_ERRORS.capacity, workshopFull((await this.view()).cells));
  }

  /**
   * End a browser's labs on every cell that answers (a cell that does not ends them when they
   * idle out); each answers its status after, so the room they left counts at once.
   */
  private async endLabsOf(client: string): Promise<void> {
    const peers = [...this.known.values()].filter((k) => k.reachable);
    await Promise.all([
      this.opts.labs.endLabsOf(client),
      ...peers.map(async (k) => {
        try {
          const answer = await this.ask(k.address, 'DELETE', ROUTES.cellClient.path(client), { timeoutMs: CELL_REMOVE_TIMEOUT_MS });
          const status = answer.status === 200 ? cellStatusOf(answer.body) : undefined;
          if (status?.cell === k.status.cell) k.status = status;
        } catch (err) {
          this.opts.log(`ending the earlier labs of a browser on cell ${k.status.cell} failed: ${(err as Error).message}`);
        }
      }),
    ]);
  }

  /**
   * One request to every other cell that answered lately, all at once, each bounded like a
   * status request: the answers that came (a cell that gave none is logged and left out).
   */
  async askPeers(method: string, path: string, body?: unknown): Promise<PeerAnswer[]> {
    const peers = [...this.known.values()].filter((k) => k.reachable);
    const answers = await Promise.all(peers.map((k) => this.ask(k.address, method, path, { body, timeoutMs: CELL_STATUS_TIMEOUT_MS }).then(
      (answer): PeerAnswer => ({ ...answer, cell: k.status.cell }),
      (err: Error) => void this.opts.log(`${method} ${path} on cell ${k.status.cell} failed: ${err.message}`),
    )));
    return answers.filter((a) => a !== undefined);
  }

  /** A request placed here by a cell while this one drains is refused like a full one: the entry cell tries the next. */
  refuseWhileDraining(): void {
    if (!this.accepting) throw new LabError(API_ERRORS.capacity, 'This machine is being taken out of the workshop and takes no new labs; try again.');
  }

  /**
   * Whether the Swarm node this cell runs on is being drained (SIGTERM then means: move out, not
   * restart): its engine knows its node id; a manager engine knows the node's availability,
   * otherwise a peer whose engine is a manager tells. False outside a swarm, or when nobody knows.
   */
  async drainRequested(): Promise<boolean> {
    const info = (await this.opts.docker.info()) as { Swarm?: { NodeID?: string; ControlAvailable?: boolean } };
    const nodeId = info.Swarm?.NodeID;
    if (!nodeId) return false;
    if (info.Swarm?.ControlAvailable) return (await this.nodeAvailability(nodeId)) === 'drain';
    for (const k of this.known.values()) {
      if (!k.reachable) continue;
      const answer = await this.ask(k.address, 'GET', ROUTES.cellNode.path(nodeId), { timeoutMs: CELL_STATUS_TIMEOUT_MS }).catch(() => undefined);
      const availability = (answer?.body as CellNodeStatus | undefined)?.availability;
      if (answer?.status === 200 && availability) return availability === 'drain';
    }
    return false;
  }

  /** Take no new labs from now on; resolves once this cell holds no lab, looked at every `everyMs`. */
  drain(everyMs: number): Promise<void> {
    this.accepting = false;
    return new Promise((resolve) => {
      const look = () => (this.opts.labs.size === 0 ? resolve() : setTimeout(look, everyMs));
      look();
    });
  }

  /** The cell of another cell's lab the request names, or undefined when it is this cell's to answer (its own lab, or no lab at all). */
  private foreignCell(req: http.IncomingMessage, pathname: string): string | undefined {
    const instructor = INSTRUCTOR_LAB_PATHS.some((p) => p.test(pathname));
    const match = (instructor ? INSTRUCTOR_LAB_PATHS : LAB_PATHS).map((p) => p.exec(pathname)).find(Boolean);
    const cell = match ? cellOfLabId(decodeSegment(match[1])) : undefined;
    if (!cell || cell === this.name) return undefined;
    // A cell sent it: the lab is not here, and sending it on could loop. The route's own 404 says so.
    if (this.fromCell(req)) return undefined;
    // Without a session here the instructor's own handler answers (401); the cell behind trusts the secret.
    if (instructor && !this.opts.instructorSignedIn(req)) return undefined;
    return cell;
  }

  /** The known other cell a preview request's Host names; undefined when it is this cell's to answer (or a cell sent it). */
  private previewCell(req: http.IncomingMessage): string | undefined {
    const id = previewIdOf(req.headers.host, this.opts.config.LAB_PREVIEW_DOMAIN ?? 'localhost');
    const cell = id ? cellOfPreviewId(id) : null;
    return cell && cell !== this.name && this.known.has(cell) && !this.fromCell(req) ? cell : undefined;
  }

  /** A connection to the cell, or a LabError: 404 for a cell nobody knows (after one more look), 503 for one that does not answer. */
  private async connectTo(cell: string): Promise<Duplex> {
    if (!this.known.has(cell) && Date.now() - this.refreshedAt > UNKNOWN_CELL_REFRESH_MS) await this.refresh();
    const known = this.known.get(cell);
    if (!known) throw new LabError(API_ERRORS.labNotFound, LAB_GONE);
    return new Promise<Duplex>((resolve, reject) => {
      // No Nagle: a keystroke's few bytes go at once (cells.test.ts, loopback: echo median 7.0 ms with Nagle, 2.1 ms without; 1.6 direct).
      const socket = net.connect({ ...known.address, noDelay: true });
      const fail = () => {
        socket.destroy();
        reject(new LabError(API_ERRORS.cellUnreachable, CELL_UNREACHABLE));
      };
      socket.setTimeout(CELL_CONNECT_TIMEOUT_MS, fail);
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.setTimeout(0);
        socket.removeListener('error', fail);
        resolve(socket);
      });
    });
  }

  /**
   * How a request is passed to another cell: the client's cell headers dropped, and Origin
   * (checked here) unless it is a preview's, the secret and the client's address added.
   */
  private forwardOptions(req: http.IncomingMessage, { keepOrigin = false } = {}): ProxyOptions {
    return {
      drop: (name) => (name === 'origin' && !keepOrigin) || name.startsWith(CELL_HEADER_PREFIX),
      add: [CELL_HEADERS.secret, this.secret, CELL_HEADERS.client, this.clientOf(req)],
      failed: () => new PreviewError(502, CELL_UNREACHABLE),
      answerTimeoutMs: CELL_ANSWER_TIMEOUT_MS,
    };
  }

  /** A Swarm node's availability from this cell's engine, when it is a manager; null otherwise. */
  private async nodeAvailability(nodeId: string): Promise<CellNodeStatus['availability']> {
    if (!NODE_ID_PATTERN.test(nodeId)) return null;
    try {
      const node = (await this.opts.docker.getNode(nodeId).inspect()) as { Spec?: { Availability?: string } };
      const availability = node.Spec?.Availability;
      return availability === 'active' || availability === 'pause' || availability === 'drain' ? availability : null;
    } catch {
      return null; // not a manager, not in a swarm, or no such node
    }
  }

  /** Ask every peer address once (a refresh already running is joined). */
  private refresh(): Promise<void> {
    this.refreshing ??= this.refreshOnce().finally(() => {
      this.refreshing = undefined;
      this.refreshedAt = Date.now();
    });
    return this.refreshing;
  }

  private async refreshOnce(): Promise<void> {
    const { config, port, log } = this.opts;
    const resolved = new Set<string>();
    for (const peer of config.LAB_CELL_PEERS ?? []) {
      // Not resolvable now (Swarm's tasks.runner before any task runs): the next refresh tries again.
      for (const { address } of await lookup(peer.host, { all: true }).catch(() => [])) {
        const a = { host: normalizeAddress(address), port: peer.port ?? port() };
        resolved.add(addressKey(a));
        this.addresses.set(addressKey(a), a);
      }
    }
    const now = Date.now();
    await Promise.all([...this.addresses].filter(([key]) => !this.selfAddresses.has(key)).map(async ([key, address]) => {
      const answer = await this.ask(address, 'GET', ROUTES.cell.path(), { timeoutMs: CELL_STATUS_TIMEOUT_MS }).catch(() => undefined);
      const status = answer?.status === 200 ? cellStatusOf(answer.body) : undefined;
      if (status?.cell === this.name) return void this.selfAddresses.add(key);
      if (status) {
        if (!this.known.has(status.cell)) log(`cell ${status.cell} joined at ${key}`);
        // The newest answer wins: a restarted task answers from a new address with the same name.
        this.known.set(status.cell, { address, status, seenAt: now, reachable: true });
        return;
      }
      for (const [cell, k] of this.known) {
        if (addressKey(k.address) !== key) continue;
        if (k.reachable) log(`cell ${cell} at ${key} does not answer`);
        k.reachable = false;
      }
    }));
    for (const [cell, k] of this.known) {
      if (now - k.seenAt > CELL_FORGET_MS) this.known.delete(cell);
    }
    // Addresses no cell answers from and no peer name resolves to any more are not asked again.
    const current = new Set([...this.known.values()].map((k) => addressKey(k.address)));
    for (const key of this.addresses.keys()) if (!current.has(key) && !resolved.has(key)) this.addresses.delete(key);
  }

  /** One JSON request to another cell, with the secret. */
  private ask(address: Address, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; timeoutMs: number }): Promise<CellAnswer> {
    const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
    return new Promise((resolve, reject) => {
      let sent = false;
      const req = http.request({
        host: address.host, port: address.port, method, path, agent: false,
        // Set before the socket connects, so it bounds the connect too (request.setTimeout
        // starts only once connected): a vanished peer's overlay address (a killed task) drops
        // the SYN silently, and the connect would hang for minutes, and with it the refresh.
        // Connecting gets CELL_CONNECT_TIMEOUT_MS at most; the answer its own time after.
        timeout: Math.min(CELL_CONNECT_TIMEOUT_MS, opts.timeoutMs),
        headers: { [CELL_HEADERS.secret]: this.secret, ...(body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {}), ...opts.headers },
      });
      req.once('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs} ms`)));
      req.once('socket', (s) => s.once('connect', () => {
        sent = true;
        req.setTimeout(opts.timeoutMs);
      }));
      req.once('error', (err) => reject(new CellRequestError(`${addressKey(address)}: ${oneLine(err.message)}`, sent)));
      req.once('response', (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.once('error', (err) => reject(new CellRequestError(err.message, true)));
        answer.once('end', () => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            parsed = undefined;
          }
          resolve({ status: answer.statusCode ?? 0, body: parsed });
        });
      });
      req.end(body);
    });
  }
}

/** A CellStatus from another cell's answer, or undefined when it is none (a peer is trusted, but not to be well-formed). */
export function cellStatusOf(body: unknown): CellStatus | undefined {
  const b = body as Partial<Record<keyof CellStatus, unknown>> | undefined;
  if (!b || typeof b.cell !== 'string' || !/^[a-z0-9]{1,25}$/.test(b.cell)) return undefined;
  const numbers = ['labs', 'creating', 'maxLabs', 'freeBytes', 'poolReady'] as const;
  if (numbers.some((k) => typeof b[k] !== 'number' || !Number.isFinite(b[k]))) return undefined;
  if (typeof b.accepting !== 'boolean' || typeof b.engine !== 'boolean') return undefined;
  return {
    cell: b.cell, labs: b.labs as number, creating: b.creating as number, maxLabs: b.maxLabs as number, freeBytes: b.freeBytes as number,
    accepting: b.accepting, engine: b.engine, poolReady: b.poolReady as number,
  };
}
