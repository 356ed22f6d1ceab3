/**
 * The runner's HTTP API as its clients see it: every route, the bodies that go each way, and
 * every error code, named once here. The browser (src/client), the Node client of the tools
 * (sandbox/tools) and the runner (sandbox/src) all import it; docs/protocol.md describes it and
 * a test keeps the two in step. No `node:` imports (contract/tsconfig.json has no Node types).
 */

const segment = encodeURIComponent;

/** Every API path starts with this; anything else is the course site. */
export const API_PREFIX = '/api/';

/**
 * Every route of the API: its template (as docs/protocol.md writes it), the pattern the runner
 * matches a request's path against (its groups are the path's parameters, still percent-encoded)
 * and the builder clients use.
 */
export const ROUTES = {
  /** `GET`: HealthStatus. No credentials. */
  health: { template: '/api/health', pattern: /^\/api\/health$/, path: () => '/api/health' },
  /** `POST` CreateLabRequest: LabCreated. */
  labs: { template: '/api/labs', pattern: /^\/api\/labs$/, path: () => '/api/labs' },
  /** `GET` (LabCreated without the token) or `DELETE` one lab, with its token as a Bearer. */
  lab: { template: '/api/labs/:id', pattern: /^\/api\/labs\/([^/]+)$/, path: (labId: string) => `/api/labs/${segment(labId)}` },
  /** `POST`, no body, the lab's token as a Bearer: runs that exercise's check, CheckResult. */
  check: {
    template: '/api/labs/:id/checks/:exerciseId',
    pattern: /^\/api\/labs\/([^/]+)\/checks\/([^/]+)$/,
    path: (labId: string, exerciseId: string) => `/api/labs/${segment(labId)}/checks/${segment(exerciseId)}`,
  },
  /**
   * The terminal WebSocket of one lab host (protocol.ts). The token goes in the query: browsers
   * cannot set headers on WebSockets.
   */
  terminal: {
    template: '/api/labs/:id/hosts/:host/terminal',
    pattern: /^\/api\/labs\/([^/]+)\/hosts\/([^/]+)\/terminal$/,
    path: (labId: string, host: string, token: string) => `/api/labs/${segment(labId)}/hosts/${segment(host)}/terminal?token=${segment(token)}`,
  },
} as const;

/**
 * Every error the API answers with: the `error` code of its JSON body and its HTTP status
 * (docs/protocol.md's table of errors is made from these, with when each happens: that text
 * lives in scripts/protocol-docs.ts, off the pages' script). The sentence a person reads
 * (`message`) is written where the error happens: it says what happened and what to do.
 */
export const API_ERRORS = {
  badUrl: { code: 'bad_url', status: 400 },
  badJson: { code: 'bad_json', status: 400 },
  badRequest: { code: 'bad_request', status: 400 },
  accessCodeRequired: { code: 'access_code_required', status: 401 },
  accessCodeWrong: { code: 'access_code_wrong', status: 403 },
  forbiddenOrigin: { code: 'forbidden_origin', status: 403 },
  notFound: { code: 'not_found', status: 404 },
  unknownLesson: { code: 'unknown_lesson', status: 404 },
  labNotFound: { code: 'lab_not_found', status: 404 },
  exerciseNotFound: { code: 'exercise_not_found', status: 404 },
  checkRunning: { code: 'check_running', status: 409 },
  bodyTooLarge: { code: 'body_too_large', status: 413 },
  rateLimited: { code: 'rate_limited', status: 429 },
  addressFull: { code: 'address_full', status: 429 },
  internal: { code: 'internal', status: 500 },
  capacity: { code: 'capacity', status: 503 },
  imageMissing: { code: 'image_missing', status: 503 },
  noSubnet: { code: 'no_subnet', status: 503 },
  bridgeSetup: { code: 'bridge_setup', status: 503 },
  dockerError: { code: 'docker_error', status: 503 },
  checkFailed: { code: 'check_failed', status: 503 },
} as const satisfies Record<string, { code: string; status: number }>;

export type ApiErrorKind = (typeof API_ERRORS)[keyof typeof API_ERRORS];
export type ErrorCode = ApiErrorKind['code'];

/** The JSON body of every HTTP API error: a sentence for a person, plus a stable code for programs. */
export interface ApiError {
  error: ErrorCode;
  message: string;
}

/** The body of POST /api/labs. */
export interface CreateLabRequest {
  lesson: string;
  /**
   * A random id the page keeps in localStorage (CLIENT_ID_PATTERN): with one lab per browser
   * (the default), creating a lab removes the labs this id created before.
   */
  client?: string;
}

export const CLIENT_ID_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

/** Request header carrying the workshop's access code, when the runner has one (LAB_ACCESS_CODE). */
export const ACCESS_CODE_HEADER = 'x-lab-access-code';

/** The body of a 201 answer to POST /api/labs. */
export interface LabCreated {
  id: string;
  token: string;
  lesson: string;
  hosts: string[];
  /** ISO 8601; the lab is removed at this time at the latest (an idle lab goes sooner). */
  expiresAt: string;
  idleTimeoutSeconds: number;
}

/** The body of `GET /api/health`: whether labs can start here, and how the runner is doing. */
export interface HealthStatus {
  engine: { available: boolean; version?: string; cgroupVersion?: string; message?: string };
  labs: number;
  maxLabs: number;
  maxLabsPerAddress: number;
  /** The warm pool: labs per shape it keeps, ready ones, and ones being built or starting. */
  pool: { size: number; ready: number; starting: number };
  accessCodeRequired: boolean;
  runner: {
    rssBytes: number;
    /** Event-loop delay since the runner started (ms): how promptly it answers everyone. */
    eventLoopDelayMs: { p50: number; p99: number; max: number };
    uptimeSeconds: number;
  };
}

/** Outcomes of an exercise check; the page shows passed / not yet (with the hint) / timed out. */
export const CHECK_STATUS = { passed: 'passed', failed: 'failed', timedOut: 'timed-out' } as const;
export type CheckStatus = (typeof CHECK_STATUS)[keyof typeof CHECK_STATUS];

/** Most of a check's output the runner sends back (its tail); enough to say why it failed. */
export const MAX_CHECK_OUTPUT_CHARS = 2000;

/** The body of a 200 answer to a check. A check that ran is always 200, passed or not. */
export interface CheckResult {
  exercise: string;
  status: CheckStatus;
  /** `status === 'passed'`, for clients that only need a yes or no. */
  passed: boolean;
  /** A sentence for the learner. */
  message: string;
  /** The tail of what the check printed (stdout and stderr), at most MAX_CHECK_OUTPUT_CHARS. */
  output: string;
  durationMs: number;
}
