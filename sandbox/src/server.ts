/**
 * The runner's HTTP surface: the built course site, the lab API, and the terminal WebSocket
 * upgrade, on one origin. Requests are checked here (origin, token, body); the work is done by
 * labs.ts (labs) and terminal.ts (terminals).
 *
 * Every byte a client sends may be malicious (a workshop serves strangers), so each way in
 * (request, upgrade, socket message, malformed HTTP) runs inside a boundary that answers with
 * an error or closes that one socket and logs one line: nothing a client sends may stop the
 * process, which holds every learner's terminals.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { WebSocketServer, type WebSocket } from 'ws';
import { clientAddress, normalizeAddress } from './clientaddress.ts';
import { ownOrigins, type Config } from './config.ts';
import { describeDockerError, engineStatus, type EngineStatus } from './docker.ts';
import { runCheck } from './checks.ts';
import { labManifestSchema, type LabManifest } from './labspec.ts';
import { LabError, LabManager, type Lab } from './labs.ts';
import { ACCESS_CODE_HEADER, CLIENT_ID_PATTERN, CLOSE_CODES, MAX_FRAME_BYTES, type ApiError, type CreateLabRequest, type HealthStatus, type LabCreated } from './protocol.ts';
import { RateLimiter } from './ratelimit.ts';
import { applySecurityHeaders, securityHeaders } from './security-headers.ts';
import { createStaticSite } from './static.ts';
import { TerminalSession } from './terminal.ts';

/** A POST body is a lesson name; anything bigger than this is not one. */
const MAX_BODY_BYTES = 16 * 1024;
/** Terminals one lab host may have open at once (tabs, reconnects racing their old socket). */
const MAX_TERMINALS_PER_HOST = 8;
/**
 * How long /api/health reuses the engine's answer (ms): it costs two Engine API calls, and the
 * route needs no credentials, so without this anyone could make the runner hammer the engine.
 */
const HEALTH_CACHE_MS = 2_000;
/**
 * HTTP timeouts. A client must send a request's headers within HEADERS_TIMEOUT_MS (a slowloris
 * client trickling them holds a connection; Node's default is 60 s) and the whole request within
 * REQUEST_TIMEOUT_MS (our bodies are at most 16 KiB); an idle keep-alive connection is closed
 * after KEEP_ALIVE_TIMEOUT_MS. Node checks the first two every CONNECTION_CHECK_MS.
 * Terminal sockets are past HTTP once upgraded, and are watched by the heartbeat instead.
 */
const HEADERS_TIMEOUT_MS = 10_000;
/**
 * A connection that sends no request at all within this long is closed: Node's header timeout
 * only starts with the first byte, so a client could otherwise hold sockets open by saying
 * nothing. Cleared once a request or an upgrade arrives (a check may take a minute to answer).
 */
const FIRST_REQUEST_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 30_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
const CONNECTION_CHECK_MS = 1_000;
/** Headers a request may have (Node's default is 2000): a browser sends about 20. */
const MAX_HEADERS = 100;
/**
 * Terminal socket heartbeat: a ping every HEARTBEAT_MS; a socket that has not answered the
 * previous one by then is dead (a laptop closed, a network gone) and is closed, which ends
 * its shell. Browsers answer pings by themselves.
 */
const HEARTBEAT_MS = 30_000;
/** Longest part of a client's input quoted in a log line. */
const LOG_QUOTE_CHARS = 120;

const LAB_GONE = 'This lab does not exist any more (it expired or was removed), or the token is wrong. Start a new lab.';

const LAB_ROUTE = /^\/api\/labs\/([^/]+)$/;
const TERMINAL_ROUTE = /^\/api\/labs\/([^/]+)\/hosts\/([^/]+)\/terminal$/;
const CHECK_ROUTE = /^\/api\/labs\/([^/]+)\/checks\/([^/]+)$/;

export interface Runner {
  server: http.Server;
  labs: LabManager;
  /**
   * Close every terminal and stop listening. Labs are kept for the next runner process of this
   * instance to adopt, unless `removeLabs` (then nothing of this instance is left). Idempotent.
   */
  close(opts?: { removeLabs?: boolean }): Promise<void>;
}

/** The build's lab manifest (LAB_MANIFEST); none, with a note in the log, before the first build. */
export function loadManifest(file: string, log: (line: string) => void): LabManifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    log(`No ${file}: the site is not built, so no lesson has a lab. Run "npm run build".`);
    return { lessons: {} };
  }
  const parsed = labManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}. Rebuild the site with "npm run build".`);
  }
  return parsed.data;
}

export function createRunner(config: Config, docker: Docker, log: (line: string) => void): Runner {
  const manifest = loadManifest(config.manifestFile, log);
  const labs = new LabManager(docker, config, manifest, log);
  const createLimiter = new RateLimiter(config.LAB_CREATE_RATE);
  /** Labs with a check running: one at a time per lab, so a learner can't pile checks onto it. */
  const checking = new Set<string>();
  const terminals = new Map<string, Set<TerminalSession>>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const eventLoopDelay = monitorEventLoopDelay({ resolution: 10 });
  eventLoopDelay.enable();
  let health: { at: number; engine: Promise<EngineStatus> } | undefined;
  const cachedEngineStatus = () => {
    if (!health || performance.now() - health.at > HEALTH_CACHE_MS) health = { at: performance.now(), engine: engineStatus(docker) };
    return health.engine;
  };
  const serveSite = createStaticSite(config.siteDir);
  const headers = securityHeaders(config.siteDir);

  labs.onRemoved((lab, reason) => {
    for (const t of terminals.get(lab.id) ?? []) t.fail(reason, CLOSE_CODES.labGone);
    terminals.delete(lab.id);
  });

  // Browsers always send Origin on WebSockets and cross-site POSTs; a request without one
  // comes from a program, which still needs the lab's token.
  const isAllowedOrigin = (origin: string | undefined, port: number) =>
    !origin || config.allowedOrigins.has(origin) || ownOrigins(config.HOST, port).includes(origin);

  const server = http.createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTION_CHECK_MS,
    },
    (req, res) => {
      try {
        handleRequest(req, res);
      } catch (err) {
        unexpected(res, `${req.method} ${quote(req.url)}`, err);
      }
    },
  );
  server.maxHeadersCount = MAX_HEADERS;
  server.maxConnections = config.LAB_MAX_CONNECTIONS;
  limitConnectionsPerAddress(server, config);
  // With no 'timeout' listener on the server, Node destroys a socket whose timeout fires.
  server.on('connection', (socket) => socket.setTimeout(FIRST_REQUEST_TIMEOUT_MS));

  function handleRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    // The request arrived; REQUEST_TIMEOUT_MS and KEEP_ALIVE_TIMEOUT_MS watch it from here.
    req.socket.setTimeout(0);
    // First, so that every answer below carries them, errors included.
    applySecurityHeaders(res, headers);
    // A request body that fails mid-way (the client hung up) must not become an unhandled error.
    req.on('error', () => res.destroy());
    const url = parseUrl(req.url);
    if (!url) {
      log(`refused an unparsable URL from ${req.socket.remoteAddress}: ${quote(req.url)}`);
      return sendError(res, 400, 'bad_url', 'The address of this request could not be understood. Check the URL and try again.');
    }
    if (!url.pathname.startsWith('/api/')) return serveSite(req, res);
    handleApi(req, res, url).catch((err) => {
      if (err instanceof LabError) return sendError(res, err.status, err.code, err.message);
      unexpected(res, `${req.method} ${url.pathname}`, err);
    });
  }

  /** The last line of defence for one request: log, answer 500 if we still can, keep serving. */
  function unexpected(res: http.ServerResponse, what: string, err: unknown): void {
    log(`unexpected error on ${what}: ${oneLine(err)}`);
    try {
      sendError(res, 500, 'internal', 'The lab server hit an unexpected error; try again, and report it if it keeps happening.');
    } catch {
      res.destroy();
    }
  }

  // Malformed HTTP (bad request line, oversized headers, a timeout): Node's parser gives up on
  // the connection; answer with the right status if the socket still takes one, then drop it.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    socket.on('error', () => {});
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    log(`refused malformed HTTP from ${(socket as { remoteAddress?: string }).remoteAddress}: ${err.code ?? err.message}`);
    refuseSocket(socket, status);
  });

  async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const port = (server.address() as { port: number }).port;
    if (req.method !== 'GET' && !isAllowedOrigin(req.headers.origin, port)) {
      return sendError(res, 403, 'forbidden_origin', `Requests from ${req.headers.origin} are not allowed. Open the course from this server's own address.`);
    }
    if (url.pathname === '/api/health' && req.method === 'GET') {
      const body: HealthStatus = {
        engine: await cachedEngineStatus(),
        labs: labs.size,
        maxLabs: config.LAB_MAX_LABS,
        maxLabsPerAddress: config.LAB_MAX_LABS_PER_ADDRESS,
        pool: labs.poolStatus,
        accessCodeRequired: Boolean(config.LAB_ACCESS_CODE),
        runner: {
          rssBytes: process.memoryUsage.rss(),
          eventLoopDelayMs: { p50: eventLoopDelay.percentile(50) / 1e6, p99: eventLoopDelay.percentile(99) / 1e6, max: eventLoopDelay.max / 1e6 },
          uptimeSeconds: Math.round(process.uptime()),
        },
      };
      return sendJson(res, 200, body);
    }
    if (url.pathname === '/api/labs' && req.method === 'POST') {
      const address = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.LAB_TRUST_PROXY);
      const wait = createLimiter.take(address);
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000);
        res.setHeader('retry-after', String(seconds));
        return sendError(res, 429, 'rate_limited', `Too many labs were started from your address in the last minute. Wait ${seconds} seconds, then start the lab again.`);
      }
      if (config.LAB_ACCESS_CODE) {
        const given = req.headers[ACCESS_CODE_HEADER];
        if (typeof given !== 'string' || !given) {
          return sendError(res, 401, 'access_code_required', 'This workshop needs an access code to start a lab. Enter the code the organiser gave you.');
        }
        if (!sameSecret(given, config.LAB_ACCESS_CODE)) {
          return sendError(res, 403, 'access_code_wrong', 'That access code is not right. Check it with the organiser and enter it again.');
        }
      }
      const body = (await readJson(req)) as Partial<Record<keyof CreateLabRequest, unknown>> | null;
      const lesson = body?.lesson;
      if (typeof lesson !== 'string' || !lesson) {
        return sendError(res, 400, 'bad_request', 'Send a JSON body like {"lesson": "05-user-defined-bridges"} naming the lesson whose lab you want.');
      }
      const client = body?.client;
      if (client !== undefined && (typeof client !== 'string' || !CLIENT_ID_PATTERN.test(client))) {
        return sendError(res, 400, 'bad_request', 'The "client" field must be 16-64 letters, digits, dashes or underscores; reload the page to get a new one.');
      }
      const { lab, token } = await labs.create(lesson, { client, address });
      log(`lab ${lab.id} ${lab.pooled ? 'taken from the warm pool' : 'created'} for ${lesson} (${lab.hosts.map((h) => h.name).join(', ')}; ${lab.subnet})`);
      return sendJson(res, 201, describeLab(lab, token));
    }
    const labMatch = LAB_ROUTE.exec(url.pathname);
    if (labMatch && (req.method === 'GET' || req.method === 'DELETE')) {
      const lab = labs.authorize(labMatch[1], bearer(req));
      if (!lab) return sendError(res, 404, 'lab_not_found', LAB_GONE);
      if (req.method === 'GET') return sendJson(res, 200, describeLab(lab));
      await labs.remove(lab.id, 'This lab was stopped.');
      log(`lab ${lab.id} deleted`);
      res.writeHead(204).end();
      return;
    }
    const checkMatch = CHECK_ROUTE.exec(url.pathname);
    if (checkMatch && req.method === 'POST') {
      const lab = labs.authorize(decodeSegment(checkMatch[1]), bearer(req));
      if (!lab) return sendError(res, 404, 'lab_not_found', LAB_GONE);
      const exerciseId = decodeSegment(checkMatch[2]);
      const exercise = manifest.lessons[lab.lesson]?.exercises.find((e) => e.id === exerciseId);
      if (!exercise) {
        return sendError(res, 404, 'exercise_not_found', `This lesson has no exercise "${exerciseId.slice(0, 64)}". Reload the page: the course may have changed since you opened it.`);
      }
      const host = lab.hosts.find((h) => h.name === exercise.host);
      if (!host) throw new Error(`exercise ${exercise.id} runs on ${exercise.host}, which lab ${lab.id} lacks`);
      if (checking.has(lab.id)) return sendError(res, 409, 'check_running', 'A check is already running in this lab; wait for its result, then try again.');
      checking.add(lab.id);
      labs.touch(lab);
      try {
        const result = await runCheck(docker, host.containerName, exercise);
        labs.recordCheck(lab, exercise.id, result.status);
        log(`lab ${lab.id} check ${exercise.id}: ${result.status} in ${result.durationMs} ms`);
        return sendJson(res, 200, result);
      } catch (err) {
        throw new LabError(503, 'check_failed', `The check could not run on ${host.name}: ${describeDockerError(err, docker)} Stop the lab and start a new one.`);
      } finally {
        checking.delete(lab.id);
      }
    }
    return sendError(res, 404, 'not_found', `There is no API at ${req.method} ${url.pathname}.`);
  }

  function describeLab(lab: Lab, token?: string): Omit<LabCreated, 'token'> & { token?: string } {
    return {
      id: lab.id,
      ...(token ? { token } : {}),
      lesson: lab.lesson,
      hosts: lab.hosts.map((h) => h.name),
      expiresAt: new Date(labs.expiryOf(lab)).toISOString(),
      idleTimeoutSeconds: config.LAB_IDLE_TIMEOUT,
    };
  }

  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // Until ws takes the socket over, its errors (a client resetting) are ours to swallow.
    socket.on('error', () => socket.destroy());
    // A terminal may sit idle for hours; the heartbeat watches it instead.
    (socket as Socket).setTimeout(0);
    try {
      upgrade(req, socket, head);
    } catch (err) {
      log(`unexpected error on upgrade ${quote(req.url)}: ${oneLine(err)}`);
      refuseSocket(socket, 500);
    }
  });

  function upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = parseUrl(req.url);
    if (!url) return refuseSocket(socket, 400);
    const match = TERMINAL_ROUTE.exec(url.pathname);
    const port = (server.address() as { port: number }).port;
    if (!match) return refuseSocket(socket, 404);
    if (!isAllowedOrigin(req.headers.origin, port)) return refuseSocket(socket, 403);
    const token = url.searchParams.get('token');
    if (!token) return refuseSocket(socket, 401);
    const lab = labs.authorize(decodeSegment(match[1]!), token);
    const hostName = decodeSegment(match[2]!);
    const host = lab?.hosts.find((h) => h.name === hostName);
    if (!lab || !host) return refuseSocket(socket, 404);
    const open = terminals.get(lab.id) ?? new Set();
    if ([...open].filter((t) => t.host === hostName).length >= MAX_TERMINALS_PER_HOST) return refuseSocket(socket, 429);
    wss.handleUpgrade(req, socket, head, (ws) => openTerminal(ws, lab, host.name, host.containerName));
  }

  // A terminal whose peer vanished without closing (a laptop lid, a dropped network) would keep
  // its shell forever: ping every socket, and close those that did not answer the last ping.
  const alive = new WeakMap<WebSocket, boolean>();
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  function openTerminal(ws: WebSocket, lab: Lab, hostName: string, containerName: string): void {
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    labs.terminalOpened(lab);
    const set = terminals.get(lab.id) ?? new Set<TerminalSession>();
    terminals.set(lab.id, set);
    const session: TerminalSession = new TerminalSession({
      docker, ws, containerName, host: hostName, log,
      prepared: labs.takeShell(lab, hostName),
      onActivity: () => labs.touch(lab),
      onClose: () => {
        set.delete(session);
        labs.terminalClosed(lab);
      },
    });
    set.add(session);
    void labs.whenStarted(lab, hostName).then(() => session.start());
  }

  let closing: Promise<void> | undefined;
  return {
    server,
    labs,
    close({ removeLabs = false } = {}) {
      closing ??= (async () => {
        clearInterval(heartbeat);
        eventLoopDelay.disable();
        // Before the terminals close, so the labs are kept as they are now: in use (suspend()).
        const suspended = removeLabs ? undefined : labs.suspend();
        // The page reconnects on goingAway: to this runner's successor, or it learns the lab is gone.
        for (const set of terminals.values()) for (const t of set) t.close(CLOSE_CODES.goingAway, 'server shutting down');
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await (suspended ?? labs.shutdown());
        wss.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

/** The request's URL, or undefined when it cannot be parsed (e.g. `//%`, which new URL throws on). */
function parseUrl(raw: string | undefined): URL | undefined {
  try {
    return new URL(raw ?? '/', 'http://runner');
  } catch {
    return undefined;
  }
}

/** An error and where it came from, on one log line. */
export function oneLine(err: unknown): string {
  return String((err as Error)?.stack ?? err).replace(/\s*\n\s*/g, ' | ');
}

/** A client's input for a log line: quoted, cut short, on one line. */
function quote(text: string | undefined): string {
  const s = JSON.stringify(text ?? '');
  return s.length > LOG_QUOTE_CHARS ? `${s.slice(0, LOG_QUOTE_CHARS)}…` : s;
}

/**
 * At most LAB_MAX_CONNECTIONS_PER_ADDRESS connections from one address: one client's idle
 * sockets must not fill the server's LAB_MAX_CONNECTIONS for everyone. Behind a trusted proxy
 * every connection comes from the proxy, which is then the one to cap its clients.
 */
function limitConnectionsPerAddress(server: http.Server, config: Config): void {
  if (!('hops' in config.LAB_TRUST_PROXY) || config.LAB_TRUST_PROXY.hops > 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = normalizeAddress(socket.remoteAddress ?? '');
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

/**
 * A path segment, percent-decoded; a malformed escape ("%zz") decodes to nothing, which matches
 * no lab, host or exercise (decodeURIComponent would throw, and in the upgrade handler a throw
 * would take the whole process down).
 */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return '';
  }
}

/** Compare a secret without leaking through timing how much of it matched. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function bearer(req: http.IncomingMessage): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  return m?.[1];
}

async function readJson(req: http.IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new LabError(413, 'body_too_large', `The request body is larger than ${MAX_BODY_BYTES} bytes; send only {"lesson": "..."}.`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new LabError(400, 'bad_json', 'The request body is not valid JSON. Send {"lesson": "<lesson name>"}.');
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: http.ServerResponse, status: number, error: string, message: string): void {
  if (res.headersSent) return void res.end();
  sendJson(res, status, { error, message } satisfies ApiError);
}

/**
 * Answer a socket with an HTTP status and close it (a refused upgrade, or HTTP the parser gave up
 * on), as ws's own abortHandshake does: end it when it can still be written, destroy it once the answer is out
 * (a client that never reads must not keep it half-open), and destroy it at once otherwise.
 */
function refuseSocket(socket: Duplex, status: number): void {
  if (!socket.writable) return void socket.destroy();
  const text = http.STATUS_CODES[status] ?? 'Error';
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}
