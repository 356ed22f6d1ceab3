/**
 * The runner's HTTP API as its clients see it: every route, the bodies that go each way, and
 * every error code, named once here. The browser (src/client), the Node client of the tools
 * (sandbox/tools) and the runner (sandbox/src) all import it; docs/protocol.md describes it and
 * a test keeps the two in step. No `node:` imports (contract/tsconfig.json has no Node types).
 */
import type { EngineId } from './engines.ts';
import type { FILE_ERRORS, FileLimits } from './files.ts';

const segment = encodeURIComponent;

/** The query parameter of ROUTES.check naming the language of the check's sentences (a translation's locale). */
export const CHECK_LANG_PARAM = 'lang';

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
  /** `GET` (LabDescription) or `DELETE` one lab, with its token as a Bearer. */
  lab: { template: '/api/labs/:id', pattern: /^\/api\/labs\/([^/]+)$/, path: (labId: string) => `/api/labs/${segment(labId)}` },
  /**
   * `POST`, no body, the lab's token as a Bearer: runs that exercise's check, CheckResult. With
   * `?lang=zh` (CHECK_LANG_PARAM) it runs the check as the lesson's translation into that language
   * has it, so the sentences it prints are in the page's language; without it, the English check.
   */
  check: {
    template: '/api/labs/:id/checks/:exerciseId',
    pattern: /^\/api\/labs\/([^/]+)\/checks\/([^/]+)$/,
    path: (labId: string, exerciseId: string, lang?: string) =>
      `/api/labs/${segment(labId)}/checks/${segment(exerciseId)}${lang ? `?${CHECK_LANG_PARAM}=${segment(lang)}` : ''}`,
  },
  /**
   * `POST`, no body, the lab's token as a Bearer: starts that exercise by running its hidden
   * setup (the manifest's, once per lab: a second call runs nothing), SetupResult.
   */
  setup: {
    template: '/api/labs/:id/setups/:exerciseId',
    pattern: /^\/api\/labs\/([^/]+)\/setups\/([^/]+)$/,
    path: (labId: string, exerciseId: string) => `/api/labs/${segment(labId)}/setups/${segment(exerciseId)}`,
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
  /**
   * The lab's event WebSocket (protocol.ts, LAB_EVENTS): what the lab panel shows around the
   * terminals (the instructor's message, help, someone watching, web previews), pushed. The
   * token goes in the query, as for terminals.
   */
  labEvents: {
    template: '/api/labs/:id/events',
    pattern: /^\/api\/labs\/([^/]+)\/events$/,
    path: (labId: string, token: string) => `/api/labs/${segment(labId)}/events?token=${segment(token)}`,
  },
  /**
   * The lab's map WebSocket (protocol.ts, LAB_MAP): the lab's real network state, pushed while
   * the map tab is open (the runner follows the lab hosts only while one is). Token in the query.
   */
  labMap: {
    template: '/api/labs/:id/map',
    pattern: /^\/api\/labs\/([^/]+)\/map$/,
    path: (labId: string, token: string) => `/api/labs/${segment(labId)}/map?token=${segment(token)}`,
  },
  /** `PUT` LearnerUpdate, the lab's token as a Bearer: the learner's name and help flag; answers LearnerState. */
  learner: { template: '/api/labs/:id/learner', pattern: /^\/api\/labs\/([^/]+)\/learner$/, path: (labId: string) => `/api/labs/${segment(labId)}/learner` },
  /**
   * `GET`, between cells only (CELL_HEADERS.secret; without it 404 like any unknown path): this
   * cell's CellStatus.
   */
  cell: { template: '/api/cell', pattern: /^\/api\/cell$/, path: () => '/api/cell' },
  /**
   * `GET`, between cells only: CellNodeStatus of a Swarm node, from this cell's engine when it is
   * a Swarm manager (a draining cell asks whether it is the node being drained).
   */
  cellNode: { template: '/api/cell/nodes/:id', pattern: /^\/api\/cell\/nodes\/([^/]+)$/, path: (nodeId: string) => `/api/cell/nodes/${segment(nodeId)}` },
  /**
   * `DELETE`, between cells only: end the labs this browser (CreateLabRequest.client) started
   * here, as it starts a lab through another cell (one lab per browser across the workshop);
   * answers this cell's CellStatus after it, which the asking cell then places by.
   */
  cellClient: { template: '/api/cell/clients/:client', pattern: /^\/api\/cell\/clients\/([^/]+)$/, path: (client: string) => `/api/cell/clients/${segment(client)}` },
  /**
   * `GET`, between cells only: CellRoster, this cell's labs as its instructor dashboard lists
   * them and its status; a cell with a dashboard open asks the others, so the dashboard shows
   * the whole workshop.
   */
  cellRoster: { template: '/api/cell/roster', pattern: /^\/api\/cell\/roster$/, path: () => '/api/cell/roster' },
} as const;

/**
 * Headers one cell sends another (a runner of the same workshop on another machine, LAB_CELL):
 * honoured only with the right secret, and a cell drops any of them a client sent before it
 * forwards a request.
 */
export const CELL_HEADERS = {
  /** LAB_CELL_SECRET: the request comes from a cell (which is never forwarded again). */
  secret: 'x-dnl-cell-secret',
  /** The original client's address as the first cell saw it: the one per-address limits charge. */
  client: 'x-dnl-cell-client',
  /** `1` on a POST /api/labs another cell placed here: create the lab here or refuse, never forward it. */
  placed: 'x-dnl-cell-placed',
} as const;

/** Every header name between cells starts with this; a client's are dropped. */
export const CELL_HEADER_PREFIX = 'x-dnl-cell-';

/**
 * The instructor dashboard's routes (LAB_INSTRUCTOR_CODE). All of them sit under /instructor,
 * the path the session cookie is scoped to, so the browser never sends it anywhere else; the
 * dashboard page itself is /instructor/. Every route but signing in needs the session cookie.
 */
export const INSTRUCTOR_PREFIX = '/instructor/api/';

export const INSTRUCTOR_ROUTES = {
  /** `POST` InstructorSignIn: 204 with the session cookie. `GET`: 204 when signed in. `DELETE`: sign out. */
  session: { template: '/instructor/api/session', pattern: /^\/instructor\/api\/session$/, path: () => '/instructor/api/session' },
  /** `GET`: a server-sent event stream; each `room` event's data is a RoomSnapshot, sent on every change. */
  events: { template: '/instructor/api/events', pattern: /^\/instructor\/api\/events$/, path: () => '/instructor/api/events' },
  /** `DELETE`: end the lab (its learner is told the instructor ended it). */
  lab: { template: '/instructor/api/labs/:id', pattern: /^\/instructor\/api\/labs\/([^/]+)$/, path: (labId: string) => `/instructor/api/labs/${segment(labId)}` },
  /** `POST` ExtendLabRequest: the lab lives that many minutes longer (up to its maximum lifetime from now). */
  extend: {
    template: '/instructor/api/labs/:id/extend',
    pattern: /^\/instructor\/api\/labs\/([^/]+)\/extend$/,
    path: (labId: string) => `/instructor/api/labs/${segment(labId)}/extend`,
  },
  /** `DELETE`: clear the lab's help flag (the instructor is on it). */
  help: {
    template: '/instructor/api/labs/:id/help',
    pattern: /^\/instructor\/api\/labs\/([^/]+)\/help$/,
    path: (labId: string) => `/instructor/api/labs/${segment(labId)}/help`,
  },
  /** WebSocket: the live output of the learner's terminal on that host, read-only (binary frames). */
  watch: {
    template: '/instructor/api/labs/:id/hosts/:host/watch',
    pattern: /^\/instructor\/api\/labs\/([^/]+)\/hosts\/([^/]+)\/watch$/,
    path: (labId: string, host: string) => `/instructor/api/labs/${segment(labId)}/hosts/${segment(host)}/watch`,
  },
  /** `POST` BroadcastRequest: show a message in every learner's lab panel. `DELETE`: take it down. */
  broadcast: { template: '/instructor/api/broadcast', pattern: /^\/instructor\/api\/broadcast$/, path: () => '/instructor/api/broadcast' },
  /** `GET`: the room's progress as CSV (one row per lab). */
  progress: { template: '/instructor/api/progress.csv', pattern: /^\/instructor\/api\/progress\.csv$/, path: () => '/instructor/api/progress.csv' },
  /** `POST` WarmRequest: keep that many labs of the lesson's shape ready for a room; answers PoolShape. */
  warm: { template: '/instructor/api/warm', pattern: /^\/instructor\/api\/warm$/, path: () => '/instructor/api/warm' },
  /** `DELETE`: end the warmings of the lesson's lab shape now (on every engine); the pool shrinks back to its size. */
  warmLesson: {
    template: '/instructor/api/warm/:lesson',
    pattern: /^\/instructor\/api\/warm\/([^/]+)$/,
    path: (lesson: string) => `/instructor/api/warm/${segment(lesson)}`,
  },
} as const;

/** The instructor's session cookie: HttpOnly, SameSite=Strict, Path=/instructor. */
export const INSTRUCTOR_COOKIE = 'lab_instructor';

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
  instructorOff: { code: 'instructor_off', status: 404 },
  signInRequired: { code: 'sign_in_required', status: 401 },
  instructorCodeWrong: { code: 'instructor_code_wrong', status: 403 },
  forbiddenOrigin: { code: 'forbidden_origin', status: 403 },
  notFound: { code: 'not_found', status: 404 },
  unknownLesson: { code: 'unknown_lesson', status: 404 },
  labNotFound: { code: 'lab_not_found', status: 404 },
  exerciseNotFound: { code: 'exercise_not_found', status: 404 },
  noSetup: { code: 'no_setup', status: 404 },
  checkRunning: { code: 'check_running', status: 409 },
  setupRunning: { code: 'setup_running', status: 409 },
  setupFailed: { code: 'setup_failed', status: 409 },
  roomTooLarge: { code: 'room_too_large', status: 409 },
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
  cellUnreachable: { code: 'cell_unreachable', status: 503 },
} as const satisfies Record<string, { code: string; status: number }>;

/** An error the runner answers with: one of API_ERRORS, or of the Files API's (contract/files.ts FILE_ERRORS). */
export type ApiErrorKind = (typeof API_ERRORS)[keyof typeof API_ERRORS] | (typeof FILE_ERRORS)[keyof typeof FILE_ERRORS];
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
  /**
   * The Docker Engine the lab's hosts run (an id of ENGINES in engines.ts, e.g. "26"); the
   * runner's default (HealthStatus.engines[0]) when left out. One the runner does not offer
   * is refused (400, bad_request) with a sentence naming those it does.
   */
  engine?: EngineId;
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
  /** The Docker Engine its hosts run: an id of ENGINES (engines.ts) and its version. */
  engine: { id: EngineId; version: string };
  /** ISO 8601; the lab is removed at this time at the latest (an idle lab goes sooner). */
  expiresAt: string;
  idleTimeoutSeconds: number;
  /**
   * How long the runner waits for a host's Docker engine (LAB_READY_TIMEOUT): a page waits at
   * least as long for a shell before it calls the host broken. Absent from runners before it.
   */
  readyTimeoutSeconds?: number;
  /** The limits of the Files API (contract/files.ts). Absent from runners before it. */
  files?: FileLimits;
}

/** The body of `GET /api/labs/:id`: the lab as created (without its token), and what was done in it since. */
export interface LabDescription extends Omit<LabCreated, 'token'> {
  /** The exercises started in this lab (their setup ran), in the order they were started. */
  started: string[];
}

/** The mode labs run in on a machine: what a learner who breaks out of a lab host gets there. */
export interface Isolation {
  /** True when the engine remaps user namespaces (its `docker info` lists name=userns). */
  sandboxed: boolean;
  /** contract/isolation.ts ISOLATION's sentence for it. */
  sentence: string;
}

/** The body of `GET /api/health`: whether labs can start here, and how the runner is doing. */
export interface HealthStatus {
  engine: { available: boolean; version?: string; cgroupVersion?: string; message?: string };
  /** The mode labs run in on this machine; null while the engine does not answer. */
  isolation: Isolation | null;
  /**
   * The Docker Engines labs can run here (LAB_ENGINES whose lab host image exists, or is being
   * built while the runner serves: `preparing`), the default first. The lab panel offers the
   * ready ones.
   */
  engines: EngineOffer[];
  labs: number;
  maxLabs: number;
  maxLabsPerAddress: number;
  /**
   * The warm pool: labs per shape it keeps, ready ones, and ones being built or starting, in all
   * and per lab shape.
   */
  pool: { size: number; ready: number; starting: number; shapes: PoolShape[] };
  accessCodeRequired: boolean;
  /** Whether the instructor dashboard is on (LAB_INSTRUCTOR_CODE): the lab panel then offers help and asks a name. */
  instructorDashboard: boolean;
  /** The cells of a workshop spread over several machines (LAB_CELL_PEERS), this one included; null on one machine. */
  cluster: null | { cell: string; cells: CellView[] };
  runner: {
    rssBytes: number;
    /** Event-loop delay since the runner started (ms): how promptly it answers everyone. */
    eventLoopDelayMs: { p50: number; p99: number; max: number };
    uptimeSeconds: number;
  };
}

/** One cell's state as `GET /api/cell` answers it (between cells) and health shows it. */
export interface CellStatus {
  /** Its LAB_CELL: the prefix of its labs' ids. */
  cell: string;
  labs: number;
  /** Labs being created now (they count against maxLabs). */
  creating: number;
  maxLabs: number;
  /** Memory the machine has available (bytes). */
  freeBytes: number;
  /** False while it drains: it takes no new labs. */
  accepting: boolean;
  /** Whether its Docker Engine answers. */
  engine: boolean;
  /** Warm-pool labs ready to be taken. */
  poolReady: number;
}

/** A cell as this one last saw it. */
export interface CellView extends CellStatus {
  /** This cell, the one that answered. */
  self: boolean;
  /** It answered the last time it was asked. */
  reachable: boolean;
  /** ISO 8601: when it last answered. */
  seenAt: string;
}

/** `GET /api/cell/nodes/:id`: a Swarm node's availability, or null when this cell's engine is no Swarm manager. */
export interface CellNodeStatus {
  availability: 'active' | 'pause' | 'drain' | null;
}

/** A Docker Engine the runner offers for labs. */
export interface EngineOffer {
  id: EngineId;
  version: string;
  /** `preparing`: its lab host image is being built (npm start builds the default engine's first). */
  state: 'ready' | 'preparing';
}

/** The warm pool's labs of one lab shape (labShape in labspec.ts): a pooled lab serves any of its lessons. */
export interface PoolShape {
  /** Which hosts, and macvlan or not: "host1", "host1,host2+macvlan". */
  shape: string;
  /** The Docker Engine of these labs: the pool keeps labs of the default engine, others only for a warmed room. */
  engine: EngineId;
  /** The lessons whose labs have this shape. */
  lessons: string[];
  /** Labs of this shape the pool keeps when no room is expected (LAB_POOL_SIZE for the default engine, else 0). */
  size: number;
  ready: number;
  starting: number;
  /** The instructor's warming for a room (WarmRequest), while it lasts; null otherwise. */
  room: WarmedRoom | null;
}

/**
 * A room the pool is warmed for. The pool keeps `count - taken` labs of the shape (at least its
 * size) until `until`, then shrinks back to its size.
 */
export interface WarmedRoom {
  /** The lesson it was asked for. */
  lesson: string;
  count: number;
  /** Labs of this shape started since, from the pool or built on the spot. */
  taken: number;
  /** ISO 8601. */
  until: string;
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

/** The body of a 200 answer to starting an exercise: its setup ran now, or had run before. */
export interface SetupResult {
  exercise: string;
  /** False when the exercise was started in this lab before: nothing ran this time. */
  ran: boolean;
  /** A sentence for the learner. */
  message: string;
  durationMs: number;
}

/** `PUT /api/labs/:id/learner`: what the learner changes; a field left out stays as it is. */
export interface LearnerUpdate {
  /** Shown to the instructor; at most MAX_LEARNER_NAME_CHARS, null or '' clears it. */
  name?: string | null;
  /** "Ask for help" (true) or cancel it (false). */
  help?: boolean;
}

export const MAX_LEARNER_NAME_CHARS = 40;

/** The learner's side of a lab, as PUT /learner answers and the lab's event socket pushes. */
export interface LearnerState {
  name: string | null;
  help: boolean;
}

/** `POST /instructor/api/session`. */
export interface InstructorSignIn {
  code: string;
}

/** `POST /instructor/api/labs/:id/extend`. */
export interface ExtendLabRequest {
  minutes: number;
}

/**
 * `POST /instructor/api/warm`: `count` learners are expected to start the lesson's lab within
 * `minutes` (1 to MAX_WARM_MINUTES). A new request for the same lab shape and engine replaces the last.
 */
export interface WarmRequest {
  lesson: string;
  count: number;
  minutes: number;
  /** The Docker Engine of the labs to keep ready (an ENGINES id); the runner's default when left out. */
  engine?: EngineId;
}

export const MAX_WARM_MINUTES = 24 * 60;

/** `POST /instructor/api/broadcast`. */
export interface BroadcastRequest {
  text: string;
}

export const MAX_BROADCAST_CHARS = 280;

/** A message from the instructor to every learner. */
export interface Notice {
  /** Changes with every new message, so a learner who dismissed one sees the next. */
  id: string;
  text: string;
  /** ISO 8601. */
  at: string;
}

/** One lab in the instructor's roster. Times are ISO 8601; the page shows them relative to now. */
export interface RosterEntry {
  id: string;
  name: string | null;
  lesson: string;
  hosts: string[];
  createdAt: string;
  lastActive: string;
  /** When the lab will be removed if nothing more happens (idle timeout or maximum lifetime). */
  expiresAt: string;
  /** Terminals open now: 0 means the learner's page is closed or disconnected. */
  openTerminals: number;
  /** Exercises of the lesson that passed in this lab, in the lesson's order. */
  passed: string[];
  /** How many exercises the lesson has. */
  exercises: number;
  lastCheck: { exercise: string; status: CheckStatus; message: string; at: string } | null;
  /** Since when the learner asks for help (ISO 8601), or null. */
  help: string | null;
  /** Instructors watching one of its terminals now. */
  watchers: number;
  /** The cell (machine) the lab lives on (LAB_CELL); null on one machine. */
  cell: string | null;
}

/** `GET /api/cell/roster` (between cells): a cell's labs, the instructor's message shown there, and its status as of now. */
export interface CellRoster {
  cell: string;
  labs: RosterEntry[];
  notice: Notice | null;
  status: CellStatus;
}

/** What the instructor's event stream sends on every change. */
export interface RoomSnapshot {
  at: string;
  labs: RosterEntry[];
  capacity: {
    labs: number;
    maxLabs: number;
    pool: HealthStatus['pool'];
    machine: { memoryTotalBytes: number; memoryAvailableBytes: number; load: [number, number, number]; cpus: number };
    /** The mode labs run in on this machine (HealthStatus.isolation). */
    isolation: Isolation | null;
  };
  notice: Notice | null;
  /**
   * Every machine of a workshop spread over several (LAB_CELL_PEERS), this one first, as health's
   * cluster view shows them; `labs` then holds every cell's labs. Null on one machine.
   */
  cells: CellView[] | null;
}
