/**
 * An exercise's check, as the browser asks the runner for it. Apart from api.ts so the lab
 * panel imports it on the first Check (a lab is running by then, so the shared protocol code
 * is loaded already) and a lesson page costs no more JavaScript before Start lab.
 */
import { ROUTES, type CheckResult } from '../../../contract/api.ts';
import { auth, failure, LabApiError, MESSAGES, send, type Lab } from './api.ts';

/**
 * How long the browser waits for a check's answer. The runner bounds every check (at most 60 s
 * of check, plus waiting for the lab's engine) and answers; this only covers a runner that died.
 */
const CHECK_ANSWER_TIMEOUT_MS = 120_000;

/** Run an exercise's check in `lab`. Resolves for passed, failed and timed-out checks alike. */
export async function checkExercise(lab: Pick<Lab, 'id' | 'token'>, exerciseId: string): Promise<CheckResult> {
  const signal = AbortSignal.timeout(CHECK_ANSWER_TIMEOUT_MS);
  let res: Response;
  try {
    res = await send(ROUTES.check.path(lab.id, exerciseId), { method: 'POST', headers: { ...auth(lab), Accept: 'application/json' }, signal });
  } catch (e) {
    if (!signal.aborted) throw e;
    throw new LabApiError(`The lab server did not answer the check in ${CHECK_ANSWER_TIMEOUT_MS / 1000} seconds. Reload the page; if your lab is gone, start a new one.`, 'unreachable');
  }
  if (!res.ok) throw await failure(res);
  const result = (await res.json().catch(() => undefined)) as CheckResult | undefined;
  if (!isCheckResult(result)) throw new LabApiError(MESSAGES.mismatch, 'server', res.status);
  return result;
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
