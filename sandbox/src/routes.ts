/**
 * The lab API: one handler per route of the contract's ROUTES table (health, create a lab, get
 * or delete one, run an exercise's check, start an exercise, a lab host's files), and the checks
 * every route shares (Origin, bearer token). Labs are made and ended by labs.ts, checks and
 * setups run by checks.ts, files touched by files.ts; this module turns HTTP into those calls
 * and their results into answers. The server (server.ts) calls handle() inside its error
 * boundary.
 */
import type http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type Docker from 'dockerode';
import { pipeline } from 'node:stream/promises';
import {
  ACCESS_CODE_HEADER, API_ERRORS, CHECK_LANG_PARAM, CHECK_STATUS, CLIENT_ID_PATTERN, MAX_LEARNER_NAME_CHARS, ROUTES,
  type ApiErrorKind, type CreateLabRequest, type HealthStatus, type LabCreated, type LabDescription, type LearnerState, type LearnerUpdate, type SetupResult,
} from '../../contract/api.ts';
import { FILE_ERRORS, FILE_HEADERS, FILE_PARAMS, FILE_ROUTES, type FolderRequest, type MoveRequest } from '../../contract/files.ts';
import { engineById, type Exercise, type LabManifest } from '../../contract/labspec.ts';
import { RUNNER_NOTICES } from '../../contract/protocol.ts';
import { runCheck, runScript, SETUP_TIMEOUT_SECONDS } from './checks.ts';
import { clientAddress } from './clientaddress.ts';
import type { Config } from './config.ts';
import { describeDockerError, engineStatus, type EngineStatus } from './docker.ts';
import { LabError } from './errors.ts';
import { checkPath, HostFiles, type WriteCondition } from './files.ts';
import { bearer, cleanText, decodeSegment, readJson, refuseUnread, sendError, sendJson } from './http-io.ts';
import type { Lab, LabHost, LabManager } from './labs.ts';
import type { Cells } from './cells.ts';
import { RateLimiter } from './ratelimit.ts';
import { sameSecret } from './secret.ts';
import { isolationOf } from './userns.ts';

/**
 * How long /api/health reuses the engine's answer (ms): it costs two Engine API calls, and the
 * route needs no credentials, so without this anyone could make the runner hammer the engine.
 */
const HEALTH_CACHE_MS = 2_000;

/**
 * Files API requests one lab may have under way at once (each is an exec in its lab host): a
 * page saving, refreshing and uploading a few files needs a handful; a script flooding the lab
 * host's engine with execs is stopped here.
 */
const MAX_FILE_OPERATIONS_PER_LAB = 8;

/** A lab that is not here, or a wrong token (the two are not told apart). */
export const LAB_GONE = 'This lab does not exist any more (it expired or was removed), or the token is wrong. Start a new lab.';

/** What runs in a lab now (one script at a time per lab), as a second request is refused. */
const BUSY: Record<'check' | 'setup', { kind: ApiErrorKind; message: string }> = {
  check: { kind: API_ERRORS.checkRunning, message: 'A check is already running in this lab; wait for its result, then try again.' },
  setup: { kind: API_ERRORS.setupRunning, message: 'An exercise is being started in this lab; wait until it is ready, then try again.' },
};

interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  /** The route pattern's groups, percent-decoded. */
  params: string[];
}

interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  pattern: RegExp;
  handle(ctx: RouteContext): Promise<void>;
}

export interface LabApiOptions {
  config: Config;
  docker: Docker;
  labs: LabManager;
  manifest: LabManifest;
  log: (line: string) => void;
  /** Whether a page of this origin may use the API (server.ts knows the port it listens on). */
  allowsOrigin: (origin: string | undefined) => boolean;
  /** The other machines of the workshop, when there are (LAB_CELL_PEERS): a new lab may go to one of them. */
  cells?: Cells;
}

export class LabApi {
  private readonly opts: LabApiOptions;
  private readonly createLimiter: RateLimiter;
  /**
   * Labs with a check or a setup running, and which: one script at a time per lab, so a learner
   * can't pile checks onto it, nor check an exercise halfway through its setup.
   */
  private readonly busy = new Map<string, keyof typeof BUSY>();
  /** Files API requests under way, per lab. */
  private readonly fileOperations = new Map<string, number>();
  private readonly eventLoopDelay = monitorEventLoopDelay({ resolution: 10 });
  private engine?: { at: number; status: Promise<EngineStatus> };
  private readonly routes: Route[] = [
    { method: 'GET', pattern: ROUTES.health.pattern, handle: (c) => this.health(c) },
    { method: 'POST', pattern: ROUTES.labs.pattern, handle: (c) => this.createLab(c) },
    { method: 'GET', pattern: ROUTES.lab.pattern, handle: (c) => this.getLab(c) },
    { method: 'DELETE', pattern: ROUTES.lab.pattern, handle: (c) => this.deleteLab(c) },
    { method: 'POST', pattern: ROUTES.check.pattern, handle: (c) => this.check(c) },
    { method: 'POST', pattern: ROUTES.setup.pattern, handle: (c) => this.setup(c) },
    { method: 'PUT', pattern: ROUTES.learner.pattern, handle: (c) => this.setLearner(c) },
    { method: 'GET', pattern: FILE_ROUTES.files.pattern, handle: (c) => this.onFiles(c, (f) => this.listFiles(c, f)) },
    { method: 'DELETE', pattern: FILE_ROUTES.files.pattern, handle: (c) => this.onFiles(c, (f) => this.deleteFile(c, f)) },
    { method: 'GET', pattern: FILE_ROUTES.fileContent.pattern, handle: (c) => this.onFiles(c, (f) => this.readFile(c, f)) },
    { method: 'PUT', pattern: FILE_ROUTES.fileContent.pattern, handle: (c) => this.writeFile(c) },
    { method: 'POST', pattern: FILE_ROUTES.folders.pattern, handle: (c) => this.onFiles(c, (f) => this.makeFolder(c, f)) },
    { method: 'POST', pattern: FILE_ROUTES.moves.pattern, handle: (c) => this.onFiles(c, (f) => this.moveFile(c, f)) },
  ];

  constructor(opts: LabApiOptions) {
    this.opts = opts;
    this.createLimiter = new RateLimiter(opts.config.LAB_CREATE_RATE);
    this.eventLoopDelay.enable();
  }

  /** Answer one API request; throws (a LabError or worse) for the server's boundary to answer. */
  async handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    // Browsers always send Origin on cross-site POSTs; a request without one comes from a
    // program, which still needs the lab's token.
    if (req.method !== 'GET' && !this.opts.allowsOrigin(req.headers.origin)) {
      return sendError(res, API_ERRORS.forbiddenOrigin, `Requests from ${req.headers.origin} are not allowed. Open the course from this server's own address.`);
    }
    for (const route of this.routes) {
      const match = route.method === req.method ? route.pattern.exec(url.pathname) : null;
      if (match) return route.handle({ req, res, url, params: match.slice(1).map(decodeSegment) });
    }
    return sendError(res, API_ERRORS.notFound, `There is no API at ${req.method} ${url.pathname}.`);
  }

  close(): void {
    this.eventLoopDelay.disable();
  }

  private async health({ res }: RouteContext): Promise<void> {
    const { config, labs } = this.opts;
    if (!this.engine || performance.now() - this.engine.at > HEALTH_CACHE_MS) {
      this.engine = { at: performance.now(), status: engineStatus(this.opts.docker) };
    }
    const ms = (ns: number) => ns / 1e6;
    const { remapsUsers, ...engine } = await this.engine.status;
    const body: HealthStatus = {
      engine,
      isolation: engine.available ? isolationOf(remapsUsers === true) : null,
      engines: await labs.engineOffers(),
      labs: labs.size,
      maxLabs: config.LAB_MAX_LABS,
      maxLabsPerAddress: config.LAB_MAX_LABS_PER_ADDRESS,
      pool: labs.poolStatus,
      accessCodeRequired: Boolean(config.LAB_ACCESS_CODE),
      instructorDashboard: Boolean(config.LAB_INSTRUCTOR_CODE),
      cluster: this.opts.cells ? await this.opts.cells.view() : null,
      runner: {
        rssBytes: process.memoryUsage.rss(),
        eventLoopDelayMs: { p50: ms(this.eventLoopDelay.percentile(50)), p99: ms(this.eventLoopDelay.percentile(99)), max: ms(this.eventLoopDelay.max) },
        uptimeSeconds: Math.round(process.uptime()),
      },
    };
    sendJson(res, 200, body);
  }

  private async createLab({ req, res }: RouteContext): Promise<void> {
    const { config, labs, log, cells } = this.opts;
    // Placed here by another cell, which limited the rate and checked the code already.
    const placed = cells?.placedHere(req) ?? false;
    const address = cells ? cells.clientOf(req) : clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.LAB_TRUST_PROXY);
    const wait = placed ? 0 : this.createLimiter.take(address);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      res.setHeader('retry-after', String(seconds));
      return sendError(res, API_ERRORS.rateLimited, `Too many labs were started from your address in the last minute. Wait ${seconds} seconds, then start the lab again.`);
    }
    if (config.LAB_ACCESS_CODE && !placed) {
      const given = req.headers[ACCESS_CODE_HEADER];
      if (typeof given !== 'string' || !given) {
        return sendError(res, API_ERRORS.accessCodeRequired, 'This workshop needs an access code to start a lab. Enter the code the organiser gave you.');
      }
      if (!sameSecret(given, config.LAB_ACCESS_CODE)) {
        return sendError(res, API_ERRORS.accessCodeWrong, 'That access code is not right. Check it with the organiser and enter it again.');
      }
    }
    const body = (await readJson(req)) as Partial<Record<keyof CreateLabRequest, unknown>> | null;
    const lesson = body?.lesson;
    if (typeof lesson !== 'string' || !lesson) {
      return sendError(res, API_ERRORS.badRequest, 'Send a JSON body like {"lesson": "05-user-defined-bridges"} naming the lesson whose lab you want.');
    }
    const client = body?.client;
    if (client !== undefined && (typeof client !== 'string' || !CLIENT_ID_PATTERN.test(client))) {
      return sendError(res, API_ERRORS.badRequest, 'The "client" field must be 16-64 letters, digits, dashes or underscores; reload the page to get a new one.');
    }
    const here = async () => {
      if (placed) cells!.refuseWhileDraining();
      // Checked against the engines on offer by labs.create (400 naming them).
      const { lab, token } = await labs.create(lesson, { client, address, engine: body?.engine });
      log(`lab ${lab.id} ${lab.pooled ? 'taken from the warm pool' : 'created'} for ${lesson} (${lab.hosts.map((h) => h.name).join(', ')}; ${lab.subnet}; Engine ${engineById(lab.engine)!.version})`);
      sendJson(res, 201, this.describe(lab, token));
    };
    if (!cells || placed) return here();
    return cells.create({ lesson, client, engine: body?.engine as CreateLabRequest['engine'] }, address, res, here);
  }

  private async getLab({ req, res, params }: RouteContext): Promise<void> {
    const lab = this.opts.labs.authorize(params[0]!, bearer(req));
    if (!lab) return sendError(res, API_ERRORS.labNotFound, LAB_GONE);
    sendJson(res, 200, this.describe(lab));
  }

  private async deleteLab({ req, res, params }: RouteContext): Promise<void> {
    const lab = this.opts.labs.authorize(params[0]!, bearer(req));
    if (!lab) return sendError(res, API_ERRORS.labNotFound, LAB_GONE);
    await this.opts.labs.remove(lab.id, { code: RUNNER_NOTICES.stopped, message: 'This lab was stopped.' });
    this.opts.log(`lab ${lab.id} deleted`);
    res.writeHead(204).end();
  }

  private async check(ctx: RouteContext): Promise<void> {
    const { labs, docker, log } = this.opts;
    const found = this.exerciseOf(ctx);
    if (!found) return;
    const { lab, exercise } = found;
    const check = this.checkInLanguage(ctx, lab, exercise);
    if (check === undefined) return;
    const host = this.hostOf(lab, exercise.host);
    await this.exclusive(ctx, lab, 'check', async () => {
      try {
        const result = await runCheck(docker, host.containerName, { ...exercise, check });
        labs.recordCheck(lab, exercise.id, result.status, result.message);
        log(`lab ${lab.id} check ${exercise.id}: ${result.status} in ${result.durationMs} ms`);
        sendJson(ctx.res, 200, result);
      } catch (err) {
        throw new LabError(API_ERRORS.checkFailed, `The check could not run on ${host.name}: ${describeDockerError(err, docker)} Stop the lab and start a new one.`);
      }
    });
  }

  /**
   * Start an exercise: run its hidden setup (an injected fault) once in this lab. The lab keeps
   * which exercises were started, so a second press, a reload or a restarted runner runs nothing.
   */
  private async setup(ctx: RouteContext): Promise<void> {
    const { labs, docker, log } = this.opts;
    const found = this.exerciseOf(ctx);
    if (!found) return;
    const { lab, exercise } = found;
    const { setup } = exercise;
    if (!setup) return sendError(ctx.res, API_ERRORS.noSetup, `Exercise "${exercise.id}" has nothing to start: do its task in your lab, then press Check.`);
    const host = this.hostOf(lab, setup.host);
    const answer = (ran: boolean, durationMs = 0): SetupResult => ({
      exercise: exercise.id, ran, durationMs,
      message: `The exercise is ready in your lab${ran ? '' : ' (it was started before)'}: ${exercise.title}.`,
    });
    // Asked before taking the lab: a setup that is running has not been recorded yet, so the
    // same exercise started twice at once meets the lock, and never runs twice.
    if (lab.started.includes(exercise.id)) return sendJson(ctx.res, 200, answer(false));
    await this.exclusive(ctx, lab, 'setup', async () => {
      let result;
      try {
        result = await runScript(docker, host.containerName, setup.code, SETUP_TIMEOUT_SECONDS);
      } catch (err) {
        throw new LabError(API_ERRORS.dockerError, `The exercise could not be started on ${host.name}: ${describeDockerError(err, docker)} Stop the lab and start a new one.`);
      }
      // The output stays in the log, for the course's authors: it could give the exercise away.
      log(`lab ${lab.id} setup ${exercise.id}: exit ${result.code} in ${result.durationMs} ms${result.code === 0 ? '' : `, output: ${JSON.stringify(result.output.slice(-500))}`}`);
      if (result.code !== 0) {
        const how = result.status === CHECK_STATUS.timedOut ? `did not finish within ${SETUP_TIMEOUT_SECONDS} seconds` : `stopped with status ${result.code}`;
        throw new LabError(
          API_ERRORS.setupFailed,
          `The exercise could not be started: its setup on ${host.name} ${how}. It builds on the lesson's steps before it: run those in this lab, then press Start exercise again. If it fails again, stop the lab and start a new one.`,
        );
      }
      labs.recordStarted(lab, exercise.id);
      sendJson(ctx.res, 200, answer(true, result.durationMs));
    });
  }

  /** The lab (by its token) and the exercise of its lesson the path names; answers 404 and returns undefined otherwise. */
  private exerciseOf({ req, res, params }: RouteContext): { lab: Lab; exercise: Exercise } | undefined {
    const lab = this.opts.labs.authorize(params[0]!, bearer(req));
    if (!lab) return void sendError(res, API_ERRORS.labNotFound, LAB_GONE);
    const exerciseId = params[1]!;
    const exercise = this.opts.manifest.lessons[lab.lesson]?.exercises.find((e) => e.id === exerciseId);
    if (!exercise) {
      return void sendError(res, API_ERRORS.exerciseNotFound, `This lesson has no exercise "${exerciseId.slice(0, 64)}". Reload the page: the course may have changed since you opened it.`);
    }
    return { lab, exercise };
  }

  /**
   * The check script in the language the page asked for (CHECK_LANG_PARAM): the translation's,
   * whose sentences are in that language; English without the parameter. The translation has the
   * same exercises (the build checks it), so only its script is taken. Answers 400 itself for a
   * language the course does not have.
   */
  private checkInLanguage({ res, url }: RouteContext, lab: Lab, exercise: Exercise): string | undefined {
    const lang = url.searchParams.get(CHECK_LANG_PARAM);
    if (lang === null || lang === 'en') return exercise.check;
    const translation = Object.hasOwn(this.opts.manifest.translations, lang) ? this.opts.manifest.translations[lang] : undefined;
    if (!translation) {
      const known = ['en', ...Object.keys(this.opts.manifest.translations)].join(', ');
      return void sendError(res, API_ERRORS.badRequest, `This course has no checks in the language "${lang.slice(0, 16)}"; it has ${known}. Reload the page.`);
    }
    return translation[lab.lesson]?.exercises.find((e) => e.id === exercise.id)?.check ?? exercise.check;
  }

  private hostOf(lab: Lab, name: string): LabHost {
    const host = lab.hosts.find((h) => h.name === name);
    if (!host) throw new Error(`lab ${lab.id} (${lab.lesson}) has no host ${name}, which its manifest names`);
    return host;
  }

  /** Run `job` unless a check or a setup already runs in the lab (then 409, saying which). */
  private async exclusive({ res }: RouteContext, lab: Lab, what: keyof typeof BUSY, job: () => Promise<void>): Promise<void> {
    const running = this.busy.get(lab.id);
    if (running) return sendError(res, BUSY[running].kind, BUSY[running].message);
    this.busy.set(lab.id, what);
    this.opts.labs.touch(lab);
    try {
      await job();
    } finally {
      this.busy.delete(lab.id);
    }
  }

  /** The learner's name for the instructor, and their help flag. */
  private async setLearner({ req, res, params }: RouteContext): Promise<void> {
    const { labs } = this.opts;
    const lab = labs.authorize(params[0]!, bearer(req));
    if (!lab) return sendError(res, API_ERRORS.labNotFound, LAB_GONE);
    const body = (await readJson(req)) as Partial<Record<keyof LearnerUpdate, unknown>> | null;
    const { name, help } = body ?? {};
    if (typeof body !== 'object' || body === null || Array.isArray(body) || (name !== undefined && name !== null && typeof name !== 'string') || (help !== undefined && typeof help !== 'boolean')) {
      return sendError(res, API_ERRORS.badRequest, 'Send a JSON body like {"name": "Ada", "help": true}; both fields are optional.');
    }
    labs.setLearner(lab, { ...(name !== undefined ? { name: cleanText(name ?? '', MAX_LEARNER_NAME_CHARS) } : {}), ...(help !== undefined ? { help } : {}) });
    const state: LearnerState = { name: lab.learnerName, help: lab.helpSince !== null };
    sendJson(res, 200, state);
  }

  /**
   * Run a Files route on the lab host the path names (the lab by its token: 404 otherwise), at
   * most MAX_FILE_OPERATIONS_PER_LAB at once per lab (each is an exec in the lab host).
   */
  private async onFiles({ req, params }: RouteContext, job: (files: HostFiles) => Promise<void>): Promise<void> {
    const lab = this.opts.labs.authorize(params[0]!, bearer(req));
    if (!lab) throw new LabError(API_ERRORS.labNotFound, LAB_GONE);
    const host = lab.hosts.find((h) => h.name === params[1]);
    if (!host) throw new LabError(API_ERRORS.notFound, `This lab has no host "${params[1]!.slice(0, 64)}"; its hosts are ${lab.hosts.map((h) => h.name).join(', ')}. Reload the page.`);
    const running = this.fileOperations.get(lab.id) ?? 0;
    if (running >= MAX_FILE_OPERATIONS_PER_LAB) {
      throw new LabError(API_ERRORS.rateLimited, `${running} file operations are already under way in this lab; wait until they finish, then try again.`);
    }
    this.fileOperations.set(lab.id, running + 1);
    // Working on files is working in the lab, as typing is.
    this.opts.labs.touch(lab);
    try {
      await job(new HostFiles(this.opts.docker, host.containerName, host.name));
    } finally {
      const left = this.fileOperations.get(lab.id)! - 1;
      if (left) this.fileOperations.set(lab.id, left);
      else this.fileOperations.delete(lab.id);
    }
  }

  private async listFiles({ res, url }: RouteContext, files: HostFiles): Promise<void> {
    const path = url.searchParams.get(FILE_PARAMS.path);
    sendJson(res, 200, await files.list(path === null ? undefined : checkPath(path)));
  }

  private async deleteFile({ res, url }: RouteContext, files: HostFiles): Promise<void> {
    await files.remove(checkPath(url.searchParams.get(FILE_PARAMS.path)));
    res.writeHead(204).end();
  }

  /** A file's bytes, streamed from the lab host as the client takes them. */
  private async readFile({ res, url }: RouteContext, files: HostFiles): Promise<void> {
    const { entry, size, body } = await files.read(checkPath(url.searchParams.get(FILE_PARAMS.path)));
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': size,
      'cache-control': 'no-store',
      etag: `"${entry.version}"`,
      [FILE_HEADERS.version]: entry.version,
      ...(url.searchParams.get(FILE_PARAMS.download) === '1' ? { 'content-disposition': `attachment; filename*=UTF-8''${attrChars(entry.name)}` } : {}),
    });
    let sent = 0;
    body.on('data', (chunk: Buffer) => (sent += chunk.length));
    try {
      await pipeline(body, res);
    } catch {
      // The client went away, or the exec ended: the answer is cut short either way.
    }
    // The file shrank while it was read: an answer shorter than its Content-Length is a failed download, not a wrong file.
    if (sent < size) res.destroy();
  }

  /**
   * A file's new bytes, streamed into the lab host (files.ts), on the condition of its
   * If-Match / If-None-Match. Refused before its body was all read (over the limit, a wrong
   * token, a 409 or 412 the host found before it took the bytes): the rest is not read
   * (refuseUnread), neither to keep nor to drop.
   */
  private async writeFile(ctx: RouteContext): Promise<void> {
    const { req, res, url } = ctx;
    try {
      await this.onFiles(ctx, async (files) => {
        const path = checkPath(url.searchParams.get(FILE_PARAMS.path));
        const length = Number(req.headers['content-length']);
        const max = this.opts.config.LAB_FILE_UPLOAD_MAX;
        if (req.headers['content-length'] === undefined || !Number.isSafeInteger(length)) {
          throw new LabError(API_ERRORS.badRequest, 'Send the file with a Content-Length header (a browser does this for a file or a text).');
        }
        if (length > max) {
          throw new LabError(FILE_ERRORS.fileTooBig, `This file is ${mebibytes(length)}; files up to ${mebibytes(max)} can be uploaded to a lab host. Copy bigger files with the terminal, e.g. with curl from a server you run in the lab.`);
        }
        const { entry, created } = await files.write(path, req, length, writeCondition(req));
        sendJson(res, created ? 201 : 200, entry);
      });
    } catch (err) {
      if (!(err instanceof LabError) || req.complete || res.headersSent) throw err;
      refuseUnread(req, res, err.kind, err.message);
    }
  }

  private async makeFolder({ req, res }: RouteContext, files: HostFiles): Promise<void> {
    const body = (await readJson(req, '{"path": "/root/new-folder"}')) as Partial<Record<keyof FolderRequest, unknown>> | null;
    sendJson(res, 201, await files.mkdir(checkPath(body?.path, 'The folder\'s path')));
  }

  private async moveFile({ req, res }: RouteContext, files: HostFiles): Promise<void> {
    const body = (await readJson(req, '{"from": "/root/old-name", "to": "/root/new-name"}')) as Partial<Record<keyof MoveRequest, unknown>> | null;
    sendJson(res, 200, await files.move(checkPath(body?.from, 'The path to move'), checkPath(body?.to, 'The new path')));
  }

  private describe(lab: Lab): LabDescription;
  private describe(lab: Lab, token: string): LabCreated;
  private describe(lab: Lab, token?: string): LabDescription | LabCreated {
    const created: Omit<LabCreated, 'token'> = {
      id: lab.id,
      lesson: lab.lesson,
      hosts: lab.hosts.map((h) => h.name),
      engine: { id: lab.engine, version: engineById(lab.engine)!.version },
      expiresAt: new Date(this.opts.labs.expiryOf(lab)).toISOString(),
      idleTimeoutSeconds: this.opts.config.LAB_IDLE_TIMEOUT,
      readyTimeoutSeconds: this.opts.config.LAB_READY_TIMEOUT,
      files: { uploadMax: this.opts.config.LAB_FILE_UPLOAD_MAX, editMax: this.opts.config.LAB_FILE_EDIT_MAX },
    };
    return token ? { ...created, token } : { ...created, started: lab.started };
  }
}

/** What a PUT's If-Match / If-None-Match ask for (files.ts): an If-Match's first ETag, quotes and W/ taken off. */
function writeCondition(req: http.IncomingMessage): WriteCondition {
  if (req.headers['if-none-match']?.trim() === '*') return { kind: 'none' };
  const match = req.headers['if-match'];
  if (match === undefined) return { kind: 'any' };
  const version = match.split(',')[0]!.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
  return { kind: 'match', version };
}

/** A name for Content-Disposition's filename*: percent-encoded UTF-8 outside RFC 8187's attr-char. */
function attrChars(name: string): string {
  return encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function mebibytes(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1).replace(/\.0$/, '')} MiB`;
}
