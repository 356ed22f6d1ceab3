/**
 * The lab API: one handler per route of the contract's ROUTES table (health, create a lab, get
 * or delete one, run an exercise's check), and the checks every route shares (Origin, bearer
 * token). Labs are made and ended by labs.ts and checks run by checks.ts; this module turns
 * HTTP into those calls and their results into answers. The server (server.ts) calls handle()
 * inside its error boundary.
 */
import type http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type Docker from 'dockerode';
import {
  ACCESS_CODE_HEADER, API_ERRORS, CLIENT_ID_PATTERN, MAX_LEARNER_NAME_CHARS, ROUTES,
  type CreateLabRequest, type HealthStatus, type LabCreated, type LearnerState, type LearnerUpdate,
} from '../../contract/api.ts';
import { engineById, type LabManifest } from '../../contract/labspec.ts';
import { runCheck } from './checks.ts';
import { clientAddress } from './clientaddress.ts';
import type { Config } from './config.ts';
import { describeDockerError, engineStatus, type EngineStatus } from './docker.ts';
import { LabError } from './errors.ts';
import { bearer, cleanText, decodeSegment, readJson, sendError, sendJson } from './http-io.ts';
import type { Lab, LabManager } from './labs.ts';
import { RateLimiter } from './ratelimit.ts';
import { sameSecret } from './secret.ts';

/**
 * How long /api/health reuses the engine's answer (ms): it costs two Engine API calls, and the
 * route needs no credentials, so without this anyone could make the runner hammer the engine.
 */
const HEALTH_CACHE_MS = 2_000;

const LAB_GONE = 'This lab does not exist any more (it expired or was removed), or the token is wrong. Start a new lab.';

interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
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
}

export class LabApi {
  private readonly opts: LabApiOptions;
  private readonly createLimiter: RateLimiter;
  /** Labs with a check running: one at a time per lab, so a learner can't pile checks onto it. */
  private readonly checking = new Set<string>();
  private readonly eventLoopDelay = monitorEventLoopDelay({ resolution: 10 });
  private engine?: { at: number; status: Promise<EngineStatus> };
  private readonly routes: Route[] = [
    { method: 'GET', pattern: ROUTES.health.pattern, handle: (c) => this.health(c) },
    { method: 'POST', pattern: ROUTES.labs.pattern, handle: (c) => this.createLab(c) },
    { method: 'GET', pattern: ROUTES.lab.pattern, handle: (c) => this.getLab(c) },
    { method: 'DELETE', pattern: ROUTES.lab.pattern, handle: (c) => this.deleteLab(c) },
    { method: 'POST', pattern: ROUTES.check.pattern, handle: (c) => this.check(c) },
    { method: 'PUT', pattern: ROUTES.learner.pattern, handle: (c) => this.setLearner(c) },
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
      if (match) return route.handle({ req, res, params: match.slice(1).map(decodeSegment) });
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
    const body: HealthStatus = {
      engine: await this.engine.status,
      engines: await labs.engineOffers(),
      labs: labs.size,
      maxLabs: config.LAB_MAX_LABS,
      maxLabsPerAddress: config.LAB_MAX_LABS_PER_ADDRESS,
      pool: labs.poolStatus,
      accessCodeRequired: Boolean(config.LAB_ACCESS_CODE),
      instructorDashboard: Boolean(config.LAB_INSTRUCTOR_CODE),
      runner: {
        rssBytes: process.memoryUsage.rss(),
        eventLoopDelayMs: { p50: ms(this.eventLoopDelay.percentile(50)), p99: ms(this.eventLoopDelay.percentile(99)), max: ms(this.eventLoopDelay.max) },
        uptimeSeconds: Math.round(process.uptime()),
      },
    };
    sendJson(res, 200, body);
  }

  private async createLab({ req, res }: RouteContext): Promise<void> {
    const { config, labs, log } = this.opts;
    const address = clientAddress(req.socket.remoteAddress, req.headers['x-forwarded-for'], config.LAB_TRUST_PROXY);
    const wait = this.createLimiter.take(address);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      res.setHeader('retry-after', String(seconds));
      return sendError(res, API_ERRORS.rateLimited, `Too many labs were started from your address in the last minute. Wait ${seconds} seconds, then start the lab again.`);
    }
    if (config.LAB_ACCESS_CODE) {
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
    // Checked against the engines on offer by labs.create (400 naming them).
    const { lab, token } = await labs.create(lesson, { client, address, engine: body?.engine });
    log(`lab ${lab.id} ${lab.pooled ? 'taken from the warm pool' : 'created'} for ${lesson} (${lab.hosts.map((h) => h.name).join(', ')}; ${lab.subnet}; Engine ${engineById(lab.engine)!.version})`);
    sendJson(res, 201, this.describe(lab, token));
  }

  private async getLab({ req, res, params }: RouteContext): Promise<void> {
    const lab = this.opts.labs.authorize(params[0]!, bearer(req));
    if (!lab) return sendError(res, API_ERRORS.labNotFound, LAB_GONE);
    sendJson(res, 200, this.describe(lab));
  }

  private async deleteLab({ req, res, params }: RouteContext): Promise<void> {
    const lab = this.opts.labs.authorize(params[0]!, bearer(req));
    if (!lab) return sendError(res, API_ERRORS.labNotFound, LAB_GONE);
    await this.opts.labs.remove(lab.id, 'This lab was stopped.');
    this.opts.log(`lab ${lab.id} deleted`);
    res.writeHead(204).end();
  }

  private async check({ req, res, params }: RouteContext): Promise<void> {
    const { labs, manifest, docker, log } = this.opts;
    const lab = labs.authorize(params[0]!, bearer(req));
    if (!lab) return sendError(res, API_ERRORS.labNotFound, LAB_GONE);
    const exerciseId = params[1]!;
    const exercise = manifest.lessons[lab.lesson]?.exercises.find((e) => e.id === exerciseId);
    if (!exercise) {
      return sendError(res, API_ERRORS.exerciseNotFound, `This lesson has no exercise "${exerciseId.slice(0, 64)}". Reload the page: the course may have changed since you opened it.`);
    }
    const host = lab.hosts.find((h) => h.name === exercise.host);
    if (!host) throw new Error(`exercise ${exercise.id} runs on ${exercise.host}, which lab ${lab.id} lacks`);
    if (this.checking.has(lab.id)) return sendError(res, API_ERRORS.checkRunning, 'A check is already running in this lab; wait for its result, then try again.');
    this.checking.add(lab.id);
    labs.touch(lab);
    try {
      const result = await runCheck(docker, host.containerName, exercise);
      labs.recordCheck(lab, exercise.id, result.status, result.message);
      log(`lab ${lab.id} check ${exercise.id}: ${result.status} in ${result.durationMs} ms`);
      sendJson(res, 200, result);
    } catch (err) {
      throw new LabError(API_ERRORS.checkFailed, `The check could not run on ${host.name}: ${describeDockerError(err, docker)} Stop the lab and start a new one.`);
    } finally {
      this.checking.delete(lab.id);
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

  private describe(lab: Lab, token?: string): Omit<LabCreated, 'token'> & { token?: string } {
    return {
      id: lab.id,
      ...(token ? { token } : {}),
      lesson: lab.lesson,
      hosts: lab.hosts.map((h) => h.name),
      engine: { id: lab.engine, version: engineById(lab.engine)!.version },
      expiresAt: new Date(this.opts.labs.expiryOf(lab)).toISOString(),
      idleTimeoutSeconds: this.opts.config.LAB_IDLE_TIMEOUT,
    };
  }
}


