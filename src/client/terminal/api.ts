/**
 * The runner's HTTP API as the browser sees it, and the tab's remembered lab. Small and
 * xterm-free: the lab panel shell imports it statically to resume a lab after a reload.
 * Every error thrown here is a LabApiError whose message is a sentence for the learner.
 * An exercise's check is in ./check.ts, loaded on the first Check.
 *
 * Routes, error codes and bodies come from the contract (contract/api.ts: a few hundred bytes
 * once built, and no more on a lesson page than this module needs).
 */
import {
  ACCESS_CODE_HEADER, API_ERRORS, CLIENT_ID_PATTERN, ROUTES,
  type ApiError, type CreateLabRequest, type EngineOffer, type HealthStatus, type LabCreated, type LabDescription, type LearnerState, type LearnerUpdate,
} from '../../../contract/api.ts';
import type { EngineId } from '../../../contract/engines.ts';
import { labApi } from '../../i18n/en/page.ts';
import { localSentence, text } from '../../i18n/page.ts';

export type Lab = LabCreated;

/** Why a request failed, for code that must react differently (e.g. stop retrying). */
export type LabErrorKind = 'unreachable' | 'unavailable' | 'gone' | 'server';

export class LabApiError extends Error {
  readonly kind: LabErrorKind;
  readonly status: number | undefined;
  /** The runner's error code (ApiError.error), when it sent one. */
  readonly code: string | undefined;
  constructor(message: string, kind: LabErrorKind, status?: number, code?: string) {
    super(message);
    this.name = 'LabApiError';
    this.kind = kind;
    this.status = status;
    this.code = code;
  }
}

/** Whether `e` is the runner asking for an access code (none sent, or a wrong one). */
export const needsAccessCode = (e: unknown): e is LabApiError =>
  e instanceof LabApiError && (e.code === API_ERRORS.accessCodeRequired.code || e.code === API_ERRORS.accessCodeWrong.code);
export const auth = (lab: Pick<Lab, 'token'>) => ({ Authorization: `Bearer ${lab.token}` });

/** The page's sentences about the lab server and its API (src/i18n/page.ts), read when said. */
export const apiText = () => text(labApi, (m) => m.labApi);

export async function send(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, { ...init, cache: 'no-store' });
  } catch {
    throw new LabApiError(apiText().unreachable, 'unreachable');
  }
}

/** Turn a non-2xx answer into a LabApiError, keeping the runner's own sentence when it sent one (on a page in English; others say the code's). */
export async function failure(res: Response): Promise<LabApiError> {
  let body: Partial<ApiError> | undefined;
  if (res.headers.get('content-type')?.includes('application/json')) {
    body = (await res.json().catch(() => undefined)) as Partial<ApiError> | undefined;
  }
  if (typeof body?.message !== 'string') {
    // A static file server or the Astro dev server answered: no runner behind this origin.
    if ([404, 405, 501].includes(res.status)) return new LabApiError(apiText().unavailable, 'unavailable', res.status);
    if ([502, 503, 504].includes(res.status)) return new LabApiError(apiText().unreachable, 'unreachable', res.status);
    return new LabApiError(apiText().unexpected(res.status), 'server', res.status);
  }
  const code = typeof body.error === 'string' ? body.error : undefined;
  return new LabApiError(localSentence(body.message, code, (m) => m.api), res.status === 404 ? 'gone' : 'server', res.status, code);
}

/**
 * Create a lab for `lesson` on Docker Engine `engine` (the runner's default when left out). Sends this browser's id (the runner keeps one lab per browser) and
 * the remembered access code, if any; a code the runner calls wrong is forgotten.
 */
export async function createLab(lesson: string, engine?: EngineId): Promise<Lab> {
  const code = accessCode();
  const body: CreateLabRequest = { lesson, client: clientId(), ...(engine ? { engine } : {}) };
  const res = await send(ROUTES.labs.path(), {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      Accept: 'application/json',
      ...(code ? { [ACCESS_CODE_HEADER]: code } : {}),
    },
    body: JSON.stringify(body),
  });
  if (res.status !== 201) {
    const error = await failure(res);
    if (error.code === API_ERRORS.accessCodeWrong.code) rememberAccessCode(undefined);
    throw error;
  }
  const lab = (await res.json().catch(() => undefined)) as Lab | undefined;
  if (!isLab(lab)) {
    throw new LabApiError(apiText().mismatch, 'server', res.status);
  }
  return lab;
}

/**
 * The lab as the runner has it now (with the exercises started in it), or undefined when it is
 * gone (the runner also answers 404 for a token that isn't this lab's); other failures throw.
 */
export async function describeLab(lab: Pick<Lab, 'id' | 'token'>): Promise<LabDescription | undefined> {
  const res = await send(ROUTES.lab.path(lab.id), { headers: { ...auth(lab), Accept: 'application/json' } });
  if (res.ok) {
    const body = (await res.json().catch(() => undefined)) as Partial<LabDescription> | undefined;
    // A runner from before exercise setups sends no list: nothing was started there.
    return { ...(body as LabDescription), started: Array.isArray(body?.started) ? body.started.filter((id) => typeof id === 'string') : [] };
  }
  if (res.status === 404 && res.headers.get('content-type')?.includes('application/json')) return undefined;
  throw await failure(res);
}

/** Whether the lab still exists (describeLab). */
export const labExists = async (lab: Pick<Lab, 'id' | 'token'>): Promise<boolean> => (await describeLab(lab)) !== undefined;

export async function deleteLab(lab: Pick<Lab, 'id' | 'token'>): Promise<void> {
  const res = await send(ROUTES.lab.path(lab.id), { method: 'DELETE', headers: auth(lab) });
  // Already gone is what the learner wanted.
  if (!res.ok && res.status !== 404) throw await failure(res);
}

/** The learner's name for the instructor and their help flag (PUT /learner). */
export async function updateLearner(lab: Pick<Lab, 'id' | 'token'>, update: LearnerUpdate): Promise<LearnerState> {
  const res = await send(ROUTES.learner.path(lab.id), {
    method: 'PUT',
    headers: { ...auth(lab), 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(update),
  });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as LearnerState;
}

/** What GET /api/health says, or undefined when there is no runner to ask (or it failed). */
async function health(): Promise<Partial<HealthStatus> | undefined> {
  try {
    const res = await send(ROUTES.health.path(), { headers: { Accept: 'application/json' } });
    return res.ok ? ((await res.json()) as Partial<HealthStatus>) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the runner has an instructor dashboard (then the panel offers help and asks a name); false if unsure. */
export async function instructorDashboardOn(): Promise<boolean> {
  return (await health())?.instructorDashboard === true;
}

/** The Docker Engines the runner can start labs on now, the default first; none when it cannot say. */
export async function readyEngines(): Promise<EngineOffer[]> {
  const engines = (await health())?.engines;
  return Array.isArray(engines) ? engines.filter((e) => e?.state === 'ready' && typeof e.id === 'string' && typeof e.version === 'string') : [];
}

/**
 * How long a Run button waits for a shell at least (ms). A new lab host starts its own Docker
 * Engine first (about 3 s on the project's machines); a busy workshop machine may need far longer.
 */
const READY_TIMEOUT_MS = 90_000;
/** The page waits this much longer than the runner does for a host, so the runner's sentence about the host comes first (s). */
const READY_MARGIN_S = 30;

/**
 * How long a page waits for a lab's shell before it calls the host broken (ms): the runner's own
 * wait (LAB_READY_TIMEOUT, raised for slow hosts) plus a margin, and never less than READY_TIMEOUT_MS.
 */
export function readyTimeout(lab: Pick<Lab, 'readyTimeoutSeconds'>): number {
  const runner = typeof lab.readyTimeoutSeconds === 'number' && Number.isFinite(lab.readyTimeoutSeconds) ? lab.readyTimeoutSeconds : 0;
  return Math.max(READY_TIMEOUT_MS, (runner + READY_MARGIN_S) * 1000);
}

function isLab(v: unknown): v is Lab {
  const l = v as Partial<Lab> | undefined;
  return (
    typeof l?.id === 'string' &&
    typeof l.token === 'string' &&
    typeof l.lesson === 'string' &&
    Array.isArray(l.hosts) &&
    l.hosts.every((h) => typeof h === 'string') &&
    typeof l.engine?.id === 'string' &&
    typeof l.engine.version === 'string' &&
    typeof l.expiresAt === 'string' &&
    typeof l.idleTimeoutSeconds === 'number'
  );
}

// ---------------------------------------------------------------- remembered lab
// sessionStorage, not localStorage: a lab belongs to one browser tab, and a reload of the
// same lesson should find it again, but a new tab should not silently share its shells.
const STORAGE_KEY = 'dnl-lab';

export function rememberedLab(): Lab | undefined {
  try {
    const lab: unknown = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null');
    return isLab(lab) ? lab : undefined;
  } catch {
    return undefined;
  }
}

export function rememberLab(lab: Lab | undefined): void {
  try {
    if (lab) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(lab));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    /* storage disabled: the lab still works, it just won't survive a reload */
  }
}

// ---------------------------------------------------------------- this browser
// localStorage: the browser's id and the workshop's access code are shared by its tabs and
// survive a reload. Where storage is disabled or full they live in memory for this page.
const CLIENT_KEY = 'dnl-client';
const ACCESS_CODE_KEY = 'dnl-access-code';
const inMemory: Record<string, string> = {};

function load(key: string): string | undefined {
  try {
    return localStorage.getItem(key) ?? inMemory[key];
  } catch {
    return inMemory[key];
  }
}

function store(key: string, value: string | undefined): void {
  delete inMemory[key];
  try {
    if (value === undefined) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    if (value !== undefined) inMemory[key] = value;
  }
}

/** This browser's random id (CLIENT_ID_PATTERN): made once, 24 base64url characters. */
function clientId(): string {
  let id = load(CLIENT_KEY);
  if (!id || !CLIENT_ID_PATTERN.test(id)) {
    const bytes = crypto.getRandomValues(new Uint8Array(18));
    id = btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
    store(CLIENT_KEY, id);
  }
  return id;
}

const ENGINE_KEY = 'dnl-engine';

/** The Docker Engine this browser chose last for its labs (an ENGINES id), if it ever chose. */
export const rememberedEngine = (): string | undefined => load(ENGINE_KEY);

export function rememberEngine(id: string): void {
  store(ENGINE_KEY, id);
}

const NAME_KEY = 'dnl-learner-name';

/**
 * The name this browser gave the instructor: undefined if never asked, '' if the learner chose
 * not to give one. Asked once, then sent with every lab.
 */
export const learnerName = (): string | undefined => load(NAME_KEY);

export function rememberLearnerName(name: string): void {
  store(NAME_KEY, name);
}

/** The access code the learner entered last, unless the runner called it wrong since. */
export const accessCode = (): string | undefined => load(ACCESS_CODE_KEY) || undefined;

export function rememberAccessCode(code: string | undefined): void {
  store(ACCESS_CODE_KEY, code || undefined);
}
