/**
 * The runner's HTTP surface: the built course site, the lab API, and the terminal WebSocket
 * upgrade, on one origin. Requests are checked here (origin, token, body); the work is done by
 * labs.ts (labs) and terminal.ts (terminals).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { WebSocketServer, type WebSocket } from 'ws';
import { ownOrigins, type Config } from './config.ts';
import { describeDockerError, engineStatus } from './docker.ts';
import { runCheck } from './checks.ts';
import { labManifestSchema, type LabManifest } from './labspec.ts';
import { LabError, LabManager, type Lab } from './labs.ts';
import { ACCESS_CODE_HEADER, CLIENT_ID_PATTERN, CLOSE_CODES, MAX_FRAME_BYTES, type ApiError, type CreateLabRequest, type LabCreated } from './protocol.ts';
import { RateLimiter } from './ratelimit.ts';
import { applySecurityHeaders, securityHeaders } from './security-headers.ts';
import { createStaticSite } from './static.ts';
import { TerminalSession } from './terminal.ts';

/** A POST body is a lesson name; anything bigger than this is not one. */
const MAX_BODY_BYTES = 16 * 1024;
/** Terminals one lab host may have open at once (tabs, reconnects racing their old socket). */
const MAX_TERMINALS_PER_HOST = 8;

const LAB_GONE = 'This lab does not exist any more (it expired or was removed), or the token is wrong. Start a new lab.';

const LAB_ROUTE = /^\/api\/labs\/([^/]+)$/;
const TERMINAL_ROUTE = /^\/api\/labs\/([^/]+)\/hosts\/([^/]+)\/terminal$/;
const CHECK_ROUTE = /^\/api\/labs\/([^/]+)\/checks\/([^/]+)$/;

export interface Runner {
  server: http.Server;
  labs: LabManager;
  /** Close every terminal, remove every lab, stop listening. Idempotent. */
  close(): Promise<void>;
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

  const server = http.createServer((req, res) => {
    // First, so that every answer below carries them, errors included.
    applySecurityHeaders(res, headers);
    // URL.parse, not new URL: a target such as "//[" throws, and a throw here ends the process.
    const url = URL.parse(req.url ?? '/', 'http://runner');
    if (!url) return sendError(res, 400, 'bad_request', 'The request\'s address is not a valid URL.');
    if (!url.pathname.startsWith('/api/')) return serveSite(req, res);
    handleApi(req, res, url).catch((err) => {
      if (err instanceof LabError) return sendError(res, err.status, err.code, err.message);
      log(`API error on ${req.method} ${url.pathname}: ${(err as Error).stack ?? err}`);
      sendError(res, 500, 'internal', 'The lab server hit an unexpected error; try again, and report it if it keeps happening.');
    });
  });

  async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const port = (server.address() as { port: number }).port;
    if (req.method !== 'GET' && !isAllowedOrigin(req.headers.origin, port)) {
      return sendError(res, 403, 'forbidden_origin', `Requests from ${req.headers.origin} are not allowed. Open the course from this server's own address.`);
    }
    if (url.pathname === '/api/health' && req.method === 'GET') {
      const engine = await engineStatus(docker);
      return sendJson(res, 200, { engine, labs: labs.size, maxLabs: config.LAB_MAX_LABS, pool: labs.poolStatus, accessCodeRequired: Boolean(config.LAB_ACCESS_CODE) });
    }
    if (url.pathname === '/api/labs' && req.method === 'POST') {
      const wait = createLimiter.take(clientAddress(req, config.LAB_TRUST_PROXY));
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
      const { lab, token } = await labs.create(lesson, { client });
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

  server.on('upgrade', (req, socket, head) => {
    const url = URL.parse(req.url ?? '/', 'http://runner');
    if (!url) return refuseUpgrade(socket, 400, 'Bad Request');
    const match = TERMINAL_ROUTE.exec(url.pathname);
    const port = (server.address() as { port: number }).port;
    if (!match) return refuseUpgrade(socket, 404, 'Not Found');
    if (!isAllowedOrigin(req.headers.origin, port)) return refuseUpgrade(socket, 403, 'Forbidden');
    const token = url.searchParams.get('token');
    if (!token) return refuseUpgrade(socket, 401, 'Unauthorized');
    const lab = labs.authorize(decodeSegment(match[1]), token);
    const hostName = decodeSegment(match[2]);
    const host = lab?.hosts.find((h) => h.name === hostName);
    if (!lab || !host) return refuseUpgrade(socket, 404, 'Not Found');
    const open = terminals.get(lab.id) ?? new Set();
    if ([...open].filter((t) => t.host === hostName).length >= MAX_TERMINALS_PER_HOST) return refuseUpgrade(socket, 429, 'Too Many Requests');
    wss.handleUpgrade(req, socket, head, (ws) => openTerminal(ws, lab, host.name, host.containerName));
  });

  function openTerminal(ws: WebSocket, lab: Lab, hostName: string, containerName: string): void {
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
    close() {
      closing ??= (async () => {
        for (const set of terminals.values()) for (const t of set) t.close(CLOSE_CODES.goingAway, 'server shutting down');
        await labs.shutdown();
        wss.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })();
      return closing;
    },
  };
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

/** Who is asking, for the rate limit: the socket's address, or the proxy's word for it when trusted. */
function clientAddress(req: http.IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? String(req.headers['x-forwarded-for'] ?? '').split(',')[0]?.trim() : '';
  return forwarded || req.socket.remoteAddress || 'unknown';
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

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
