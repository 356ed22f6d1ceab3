/**
 * An exercise's check and its start (the setup), as the browser asks the runner for them. Apart
 * from api.ts so the lab panel imports it on the first Check or Start exercise (a lab is running
 * by then, so the shared protocol code is loaded already) and a lesson page costs no more
 * JavaScript before Start lab.
 */
import { ROUTES, type CheckResult, type SetupResult } from '../../../contract/api.ts';
import { auth, failure, LabApiError, MESSAGES, send, type Lab } from './api.ts';
import { DEFAULT_LOCALE, pageLocale } from '../../i18n/index.ts';

/**
 * How long the browser waits for a check's or a setup's answer. The runner bounds both (at most
 * 60 s of script, plus waiting for the lab's engine) and answers; this only covers a runner that died.
 */
const CHECK_ANSWER_TIMEOUT_MS = 120_000;

/**
 * Run an exercise's check in `lab`, in the page's language (its sentences are translated with the
 * chapter). Resolves for passed, failed and timed-out checks alike.
 */
export function checkExercise(lab: Pick<Lab, 'id' | 'token'>, exerciseId: string): Promise<CheckResult> {
  const locale = pageLocale();
  return post(lab, ROUTES.check.path(lab.id, exerciseId, locale === DEFAULT_LOCALE ? undefined : locale), 'the check', isCheckResult);
}

/** Start an exercise in `lab`: the runner runs its setup, once per lab. */
export const startExercise = (lab: Pick<Lab, 'id' | 'token'>, exerciseId: string): Promise<SetupResult> =>
  post(lab, ROUTES.setup.path(lab.id, exerciseId), 'the start of the exercise', isSetupResult);

/** POST with the lab's token and no body; the answer, if it is what `valid` expects. */
async function post<T>(lab: Pick<Lab, 'id' | 'token'>, path: string, what: string, valid: (v: unknown) => v is T): Promise<T> {
  const signal = AbortSignal.timeout(CHECK_ANSWER_TIMEOUT_MS);
  let res: Response;
  try {
    res = await send(path, { method: 'POST', headers: { ...auth(lab), Accept: 'application/json' }, signal });
  } catch (e) {
    if (!signal.aborted) throw e;
    throw new LabApiError(`The lab server did not answer ${what} in ${CHECK_ANSWER_TIMEOUT_MS / 1000} seconds. Reload the page; if your lab is gone, start a new one.`, 'unreachable');
  }
  if (!res.ok) throw await failure(res);
  const result: unknown = await res.json().catch(() => undefined);
  if (!valid(result)) throw new LabApiError(MESSAGES.mismatch, 'server', res.status);
  return result;
}

function isSetupResult(v: unknown): v is SetupResult {
  const r = v as Partial<SetupResult> | undefined;
  return typeof r?.exercise === 'string' && typeof r.ran === 'boolean' && typeof r.message === 'string';
}

function isCheckResult(v: unknown): v is CheckResult {
  const r = v as Partial<CheckResult> | undefined;
  return (
    typeof r?.exercise === 'string' &&
    typeof r.status === 'string' &&
    typeof r.passed === 'boolean' &&
    typeof r.message === 'string' &&
    typeof r.output === 'string'
  );
}
