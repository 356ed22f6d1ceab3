/**
 * The runner's HTTP surface: the built course site, the lab API (routes.ts), the terminal
 * sockets (sockets.ts), the lab pages' event sockets (labevents.ts) and map sockets
 * (mapsockets.ts), and the instructor's routes and watch sockets (instructor.ts, watch.ts), on
 * one origin; and web previews (previews.ts), each on an origin of its own, told apart by the
 * Host header before anything else looks at a request.
 *
 * Every byte a client sends may be malicious (a workshop serves strangers), so each way in
 * (request, upgrade, socket message, malformed HTTP) runs inside a boundary that answers with
 * an error or closes that one socket and logs one line: nothing a client sends may stop the
 * process, which holds every learner's terminals. This module owns those boundaries and the
 * server's limits (timeouts, connection caps); it decides nothing about labs.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { API_ERRORS, API_PREFIX, INSTRUCTOR_PREFIX, INSTRUCTOR_ROUTES, ROUTES } from '../../contract/api.ts';
import { CLOSE_CODES } from '../../contract/protocol.ts';
import { normalizeAddress } from './clientaddress.ts';
import { ownOrigins, type Config } from './config.ts';
import { LabError } from './errors.ts';
import { oneLine, parseUrl, quote, refuseSocket, sendError } from './http-io.ts';
import { LabManager } from './labs.ts';
import { loadManifest } from './manifest.ts';
import { LabMaps } from './mapsockets.ts';
import { Instructor } from './instructor.ts';
import { LabEvents } from './labevents.ts';
import { Cells } from './cells.ts';
import { Previews } from './previews.ts';
import { LabApi } from './routes.ts';
import { applySecurityHeaders, securityHeaders } from './security-headers.ts';
import { TerminalSockets } from './sockets.ts';
import { createStaticSite } from './static.ts';
import { TerminalWatchers } from './watch.ts';

/**
 * HTTP timeouts. A client must send a request's headers within HEADERS_TIMEOUT_MS (a slowloris
 * client trickling them holds a connection; Node's default is 60 s) and the whole request within
 * REQUEST_TIMEOUT_MS (our bodies are at most 16 KiB); an idle keep-alive connection is closed
 * after KEEP_ALIVE_TIMEOUT_MS. Node checks the first two every CONNECTION_CHECK_MS.
 * Terminal sockets are past HTTP once upgraded, and are watched by the heartbeat instead.
 */
const HEADERS_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const CONNECTION_CHECK_MS = 1_000;
/**
 * A connection that sends no request at all within this long is closed: Node's header timeout
 * only starts with the first byte, so a client could otherwise hold sockets open by saying
 * nothing. Cleared once a request or an upgrade arrives (a check may take a minute to answer).
 */
const FIRST_REQUEST_TIMEOUT_MS = 10_000;
/** Headers a request may have (Node's default is 2000): a browser sends about 20. */
const MAX_HEADERS = 100;

export interface Runner {
  server: http.Server;
  labs: LabManager;
  /** This runner's part in a workshop of several machines (LAB_CELL_PEERS); undefined on one machine. */
  cells?: Cells;
  /**
   * Close every terminal and stop listening. Labs are kept for the next runner process of this
   * instance to adopt, unless `removeLabs` (then nothing of this instance is left). Idempotent.
   */
  close(opts?: { removeLabs?: boolean }): Promise<void>;
}

export function createRunner(config: Config, docker: Docker, log: (line: string) => void): Runner {
  const manifest = loadManifest(config.manifestFile, log);
  const labs = new LabManager(docker, config, manifest, log);
  const server = http.createServer({
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    connectionsCheckingInterval: CONNECTION_CHECK_MS,
  });
  const port = () => (server.address() as { port: number }).port;
  // Browsers always send Origin on WebSockets and cross-site POSTs; a request without one
  // comes from a program, which still needs the lab's token.
  const allowsOrigin = (origin: string | undefined) => !origin || config.allowedOrigins.has(origin) || ownOrigins(config.HOST, port()).includes(origin);
  const cells: Cells | undefined = config.LAB_CELL_PEERS
    ? new Cells({ config, docker, labs, manifest, log, port, allowsOrigin, instructorSignedIn: (req): boolean => instructor.signedIn(req), roster: () => instructor.roster() })
    : undefined;
  const api = new LabApi({ config, docker, labs, manifest, log, allowsOrigin, cells });
  const watchers = new TerminalWatchers(Boolean(config.LAB_INSTRUCTOR_CODE));
  labs.onRemoved((lab, reason) => watchers.labEnded(lab.id, reason.message));
  const events = new LabEvents({ labs, log, allowsOrigin });
  const instructor = new Instructor({
    config, labs, manifest, watchers, log, allowsOrigin,
    learnersChanged: (labId) => (labId ? events.changed(labId) : events.changedAll()),
    cells,
  });
  cells?.start();
  events.addSource((lab) => instructor.learnerState(lab));
  watchers.onCount((labId) => events.changed(labId));
  const sockets = new TerminalSockets({ docker, labs, log, allowsOrigin, watchers });
  const previews = new Previews({ docker, labs, config, log, port, changed: (labId) => events.changed(labId) });
  events.addSource((lab) => ({ previews: previews.links(lab) }));
  // A page says which hosts are still starting their engine: a slow machine, not a broken lab.
  events.addSource((lab) => ({ starting: labs.startingHosts(lab) }));
  labs.onStartChanged((lab) => events.changed(lab.id));
  // A lab host's engine is followed only while its lab's page is there to show what it publishes.
  events.onListening((lab, listening) => (listening ? previews.follow(lab) : previews.unfollow(lab)));
  const maps = new LabMaps({ docker, labs, allowsOrigin });
  const site = { serve: createStaticSite(config.siteDir), headers: securityHeaders(config.siteDir) };
  const handlers: Handlers = { api, instructor, previews, site, cells, log };
  const doors: Doors = { terminals: sockets, events, maps, instructor, previews, cells, log };

  limitConnections(server, config, cells);
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => answerRequest(req, res, handlers));
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => answerUpgrade(req, socket, head, doors));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => answerMalformed(err, socket, log));

  let closing: Promise<void> | undefined;
  return {
    server,
    labs,
    cells,
    close({ removeLabs = false } = {}) {
      closing ??= (async () => {
        api.close();
        cells?.close();
        // Before the terminals close, so the labs are kept as they are now: in use (suspend()).
        const suspended = removeLabs ? undefined : labs.suspend();
        // The page reconnects on goingAway: to this runner's successor, or it learns the lab is gone.
        sockets.closeAll(CLOSE_CODES.goingAway, 'server shutting down');
        events.closeAll(CLOSE_CODES.goingAway, 'server shutting down');
        maps.closeAll(CLOSE_CODES.goingAway, 'server shutting down');
        watchers.closeAll(CLOSE_CODES.goingAway, 'server shutting down');
        instructor.close();
        previews.close();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await (suspended ?? labs.shutdown());
        sockets.close();
        events.close();
        maps.close();
        watchers.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

/** The built course site: its file server and the headers every answer carries. */
interface Site {
  serve: ReturnType<typeof createStaticSite>;
  headers: ReturnType<typeof securityHeaders>;
}

/** Who answers HTTP requests: previews (by Host), the lab API, the instructor's routes, and the site for the rest. */
interface Handlers {
  api: LabApi;
  instructor: Instructor;
  previews: Previews;
  site: Site;
  /** Requests on another cell's labs, and the routes between cells. */
  cells?: Cells;
  log: (line: string) => void;
}

/** Who takes socket upgrades: previews (by Host), the lab page's events and map, the instructor's watch, and terminals for the rest. */
interface Doors {
  terminals: TerminalSockets;
  events: LabEvents;
  maps: LabMaps;
  instructor: Instructor;
  previews: Previews;
  /** Sockets on another cell's labs. */
  cells?: Cells;
  log: (line: string) => void;
}

/** One HTTP request, inside its boundary: a preview, the site, the lab API or the instructor's; never a throw out of here. */
function answerRequest(req: http.IncomingMessage, res: http.ServerResponse, { api, instructor, previews, site, cells, log }: Handlers): void {
  const unexpected = (what: string, err: unknown) => {
    log(`unexpected error on ${what}: ${oneLine(err)}`);
    try {
      sendError(res, API_ERRORS.internal, 'The lab server hit an unexpected error; try again, and report it if it keeps happening.');
    } catch {
      res.destroy();
    }
  };
  try {
    // The request arrived; REQUEST_TIMEOUT_MS and KEEP_ALIVE_TIMEOUT_MS watch it from here.
    req.socket.setTimeout(0);
    // A request body that fails mid-way (the client hung up) must not become an unhandled error.
    req.on('error', () => res.destroy());
    // A preview's answer is its server's, on its own origin: none of the course's headers. One
    // of another cell's lab is answered there.
    if (previews.claims(req)) return void (cells?.claimPreview(req, res) || previews.handle(req, res));
    // First, so that every answer below carries them, errors included.
    applySecurityHeaders(res, site.headers);
    const url = parseUrl(req.url);
    if (!url) {
      log(`refused an unparsable URL from ${req.socket.remoteAddress}: ${quote(req.url)}`);
      return sendError(res, API_ERRORS.badUrl, 'The address of this request could not be understood. Check the URL and try again.');
    }
    const handler = url.pathname.startsWith(API_PREFIX) ? api : url.pathname.startsWith(INSTRUCTOR_PREFIX) ? instructor : undefined;
    if (!handler) return site.serve(req, res);
    (cells?.claimRequest(req, res, url) ?? handler.handle(req, res, url)).catch((err) => {
      if (err instanceof LabError) return sendError(res, err.kind, err.message);
      unexpected(`${req.method} ${url.pathname}`, err);
    });
  } catch (err) {
    unexpected(`${req.method} ${quote(req.url)}`, err);
  }
}

/** One socket upgrade, inside its boundary: a preview's, a terminal, a lab's events or map, a watch, or a refusal with an HTTP status. */
function answerUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, { terminals, events, maps, instructor, previews, cells, log }: Doors): void {
  // Until ws takes the socket over, its errors (a client resetting) are ours to swallow.
  socket.on('error', () => socket.destroy());
  // A terminal may sit idle for hours; the heartbeat watches it instead.
  (socket as Socket).setTimeout(0);
  try {
    if (previews.claims(req)) return void (cells?.claimPreviewUpgrade(req, socket, head) || previews.upgrade(req, socket, head));
    const path = parseUrl(req.url)?.pathname ?? '';
    if (cells?.claimUpgrade(req, socket, head, path)) return;
    const door = ROUTES.labEvents.pattern.test(path) ? events : ROUTES.labMap.pattern.test(path) ? maps : INSTRUCTOR_ROUTES.watch.pattern.test(path) ? instructor : terminals;
    door.upgrade(req, socket, head);
  } catch (err) {
    log(`unexpected error on upgrade ${quote(req.url)}: ${oneLine(err)}`);
    refuseSocket(socket, 500);
  }
}

/**
 * Malformed HTTP (bad request line, oversized headers, a timeout): Node's parser gives up on the
 * connection; answer with the right status if the socket still takes one, then drop it.
 */
function answerMalformed(err: NodeJS.ErrnoException, socket: Duplex, log: (line: string) => void): void {
  socket.on('error', () => {});
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  log(`refused malformed HTTP from ${(socket as { remoteAddress?: string }).remoteAddress}: ${err.code ?? err.message}`);
  refuseSocket(socket, status);
}

/** The server's connection limits: headers, connections in all and per address, a first request in time. */
function limitConnections(server: http.Server, config: Config, cells: Cells | undefined): void {
  server.maxHeadersCount = MAX_HEADERS;
  server.maxConnections = config.LAB_MAX_CONNECTIONS;
  limitConnectionsPerAddress(server, config, cells);
  // With no 'timeout' listener on the server, Node destroys a socket whose timeout fires.
  server.on('connection', (socket) => socket.setTimeout(FIRST_REQUEST_TIMEOUT_MS));
}

/**
 * At most LAB_MAX_CONNECTIONS_PER_ADDRESS connections from one address: one client's idle
 * sockets must not fill the server's LAB_MAX_CONNECTIONS for everyone. Behind a trusted proxy
 * every connection comes from the proxy, which is then the one to cap its clients; and another
 * cell's connections carry its clients' (every terminal forwarded to a lab here), so are not capped.
 */
function limitConnectionsPerAddress(server: http.Server, config: Config, cells: Cells | undefined): void {
  if (!('hops' in config.LAB_TRUST_PROXY) || config.LAB_TRUST_PROXY.hops > 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = normalizeAddress(socket.remoteAddress ?? '');
    if (cells?.isPeerAddress(address)) return;
    const count = (open.get(address) ?? 0) + 1;
    if (count > config.LAB_MAX_CONNECTIONS_PER_ADDRESS) {
      socket.destroy();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left > 0) open.set(address, left);
      else open.delete(address);
    });
  });
}
