/**
 * The runner's lab API from Node, typed with the contract (contract/api.ts): health, create a
 * lab, get, delete, run an exercise's check, start an exercise. The lesson verifier, the benchmark and the tests
 * make every HTTP request to the API through it; `request` is the raw form, for tests that send
 * what no well-behaved client would.
 *
 * It does not open terminals (terminal-client.ts does), retry, or remember labs; the browser has
 * its own client (src/client/terminal/api.ts), whose errors are sentences for a learner.
 *
 * Requests go through node:http rather than fetch: only node:http can choose the local address
 * a request comes from (tests act as a second client machine from 127.0.0.2).
 */
import http from 'node:http';
import {
  ACCESS_CODE_HEADER, API_ERRORS, ROUTES,
  type ApiError, type CheckResult, type CreateLabRequest, type ErrorCode, type HealthStatus, type LabCreated, type LabDescription,
  type SetupResult,
} from '../../contract/api.ts';
import { FILE_ERRORS } from '../../contract/files.ts';
import type { EngineId } from '../../contract/labspec.ts';

/** An answer as it came: status, headers, the body as text, and as JSON when it parses. */
export interface Answer<T = unknown> {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON; undefined when it is empty or not JSON. */
  json: T | undefined;
}

export interface RequestOptions {
  /** Sent as JSON; a string is sent as it is (to send malformed JSON on purpose). */
  body?: unknown;
  /** The lab's token, sent as a Bearer. */
  token?: string;
  headers?: Record<string, string>;
}

export interface CreateOptions {
  /** The browser's id (CLIENT_ID_PATTERN): a new lab replaces the ones this id made before. */
  client?: string;
  /** The workshop's access code, when the runner has one (LAB_ACCESS_CODE). */
  accessCode?: string;
  /** The Docker Engine the lab runs (an ENGINES id); the runner's default when left out. */
  engine?: EngineId;
  headers?: Record<string, string>;
}

const ERROR_CODES: ReadonlySet<string> = new Set([...Object.values(API_ERRORS), ...Object.values(FILE_ERRORS)].map((e) => e.code));
/** Most of a body that is not the API's JSON that an error message quotes. */
const QUOTED_BODY_CHARS = 500;

/** An answer other than the one a call expects, with the runner's error code and sentence when it sent them. */
export class LabApiError extends Error {
  readonly status: number;
  /** The runner's `error` (API_ERRORS, FILE_ERRORS), when its body was the API's error JSON. */
  readonly code: ErrorCode | undefined;
  /** The runner's own sentence (`message` of its body), when it sent one. */
  readonly sentence: string | undefined;

  constructor(what: string, answer: Answer) {
    const body = answer.json as Partial<ApiError> | undefined;
    const code = typeof body?.error === 'string' && ERROR_CODES.has(body.error) ? body.error : undefined;
    const sentence = typeof body?.message === 'string' ? body.message : undefined;
    super(`${what} answered ${answer.status}${code ? ` ${code}` : ''}: ${sentence ?? answer.text.slice(0, QUOTED_BODY_CHARS)}`);
    this.name = 'LabApiError';
    this.status = answer.status;
    this.code = code;
    this.sentence = sentence;
  }
}

export class LabClient {
  /** The runner's base URL, e.g. http://127.0.0.1:4321 */
  readonly url: string;
  readonly #localAddress: string | undefined;
  readonly #lang: string | undefined;

  /**
   * `localAddress`: the address requests come from, e.g. 127.0.0.2 as a second client machine on loopback.
   * `lang`: the language checks run in (a translation's locale, as a page in that language asks); English without.
   */
  constructor(url: string, opts: { localAddress?: string; lang?: string | undefined } = {}) {
    this.url = url;
    this.#localAddress = opts.localAddress;
    this.#lang = opts.lang;
  }

  /**
   * One request, whatever it answers. The URL is parsed as fetch parses it (`/../x` and
   * `/%2e%2e/x` become `/x`); rawExchange in the test harness sends bytes as they are.
   */
  request<T = unknown>(method: string, pathname: string, opts: RequestOptions = {}): Promise<Answer<T>> {
    const target = new URL(this.url + pathname);
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    const headers = {
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    };
    return new Promise((resolve, reject) => {
      const req = http.request(
        // URL keeps an IPv6 address in brackets; http.request wants it bare.
        { host: target.hostname.replace(/^\[|\]$/g, ''), port: target.port, path: target.pathname + target.search, method, headers, localAddress: this.#localAddress },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: parseJson<T>(text) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }

  health(): Promise<HealthStatus> {
    return this.#expect<HealthStatus>(200, 'GET', ROUTES.health.path());
  }

  create(lesson: string, opts: CreateOptions = {}): Promise<LabCreated> {
    const body: CreateLabRequest = { lesson, ...(opts.client !== undefined ? { client: opts.client } : {}), ...(opts.engine !== undefined ? { engine: opts.engine } : {}) };
    const headers = { ...(opts.accessCode !== undefined ? { [ACCESS_CODE_HEADER]: opts.accessCode } : {}), ...opts.headers };
    return this.#expect<LabCreated>(201, 'POST', ROUTES.labs.path(), { body, headers });
  }

  get(lab: Pick<LabCreated, 'id' | 'token'>): Promise<LabDescription> {
    return this.#expect<LabDescription>(200, 'GET', ROUTES.lab.path(lab.id), { token: lab.token });
  }

  /** Remove the lab. One that is already gone (API_ERRORS.labNotFound) is what the caller wanted. */
  async delete(lab: Pick<LabCreated, 'id' | 'token'>): Promise<void> {
    const answer = await this.request('DELETE', ROUTES.lab.path(lab.id), { token: lab.token });
    const error = answer.status === 204 ? undefined : new LabApiError(`DELETE ${ROUTES.lab.path(lab.id)}`, answer);
    if (error && error.code !== API_ERRORS.labNotFound.code) throw error;
  }

  /** Run an exercise's check; a check that ran answers 200, passed or not (CheckResult.status). */
  check(lab: Pick<LabCreated, 'id' | 'token'>, exerciseId: string): Promise<CheckResult> {
    return this.#expect<CheckResult>(200, 'POST', ROUTES.check.path(lab.id, exerciseId, this.#lang), { token: lab.token });
  }

  /** Start an exercise: its setup runs once per lab (SetupResult.ran says whether it ran now). */
  setup(lab: Pick<LabCreated, 'id' | 'token'>, exerciseId: string): Promise<SetupResult> {
    return this.#expect<SetupResult>(200, 'POST', ROUTES.setup.path(lab.id, exerciseId), { token: lab.token });
  }

  async #expect<T>(status: number, method: string, pathname: string, opts?: RequestOptions): Promise<T> {
    const answer = await this.request<T>(method, pathname, opts);
    if (answer.status !== status || answer.json === undefined) throw new LabApiError(`${method} ${pathname}`, answer);
    return answer.json;
  }
}

function parseJson<T>(text: string): T | undefined {
  try {
    return text ? (JSON.parse(text) as T) : undefined;
  } catch {
    return undefined;
  }
}
