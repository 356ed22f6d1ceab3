/**
 * Running an exercise's scripts in a lab host: its check, and its setup (what Start exercise
 * runs). The script comes from the build-time manifest (never from the browser) and goes to
 * `bash -c` under coreutils' `timeout`, without a TTY; its exit status decides: for a check, 0
 * passed, anything else not yet, timeout's own statuses timed out; a setup must exit 0.
 *
 * `timeout` puts the script in a process group of its own and signals the whole group, so its
 * background jobs end with it and the learner's shells are untouched: the lab stays usable
 * after a script that hung.
 */
import type Docker from 'dockerode';
import type { Exercise } from '../../contract/labspec.ts';
import { execCollect } from './labhost.ts';
import { LAB_HOST_PATHS } from './names.ts';
import { CHECK_STATUS, MAX_CHECK_OUTPUT_CHARS, type CheckResult, type CheckStatus } from '../../contract/api.ts';

/** After the TERM at the deadline, how long a check may take to exit before `timeout` sends KILL. */
const KILL_AFTER_SECONDS = 2;
/**
 * Extra time the runner waits past the check's own deadline before it stops listening: covers
 * exec start-up on a busy engine. If even that passes, the engine itself is stuck.
 */
const RUNNER_GRACE_MS = 5_000;
/** `timeout`'s exit statuses: 124 when the TERM ended the command, 137 (128 + KILL) when KILL had to. */
const TIMEOUT_STATUSES = new Set([124, 137]);
/**
 * A check pressed (or verified) right after the lab starts must not fail just because the lab
 * host's own dockerd is still starting: wait for it first, as lab-shell does, for up to this long.
 */
const ENGINE_WAIT_SECONDS = 30;
/** Output kept while the check runs; only the last MAX_CHECK_OUTPUT_CHARS are sent back. */
const OUTPUT_KEEP_BYTES = 16 * 1024;

/**
 * A setup may build containers and networks, which takes longer than a check; a minute is
 * several times what the course's setups take (docker run of a local image, iptables rules).
 */
export const SETUP_TIMEOUT_SECONDS = 60;

/** How a script ended: CHECK_STATUS's words, the tail of its output, and how long it took. */
export interface ScriptResult {
  status: CheckStatus;
  /** The exit status; null when the runner stopped listening. */
  code: number | null;
  output: string;
  durationMs: number;
}

/** Run `script` with `bash -c` in the lab host, once its engine is up, for at most `timeoutSeconds`. */
export async function runScript(docker: Docker, containerName: string, script: string, timeoutSeconds: number): Promise<ScriptResult> {
  const started = performance.now();
  const { code, output } = await execCollect(docker, containerName, [
    'sh', '-c',
    // $1 is the ready file, $2 the polls allowed; the rest is the check under timeout.
    'n=0; while [ ! -e "$1" ] && [ "$n" -lt "$2" ]; do sleep 0.1; n=$((n + 1)); done; shift 2; exec "$@"',
    'wait-for-engine', LAB_HOST_PATHS.ready, String(ENGINE_WAIT_SECONDS * 10),
    'timeout', `--kill-after=${KILL_AFTER_SECONDS}`, `${timeoutSeconds}`, 'bash', '-c', script,
  ], {
    env: ['LANG=C.UTF-8'],
    workingDir: '/root',
    keepBytes: OUTPUT_KEEP_BYTES,
    timeoutMs: (ENGINE_WAIT_SECONDS + timeoutSeconds + KILL_AFTER_SECONDS) * 1000 + RUNNER_GRACE_MS,
  });
  // No exit code: the runner stopped listening (RUNNER_GRACE_MS passed too), which is a timeout as well.
  const status: CheckStatus =
    code === 0 ? CHECK_STATUS.passed : code === null || TIMEOUT_STATUSES.has(code) ? CHECK_STATUS.timedOut : CHECK_STATUS.failed;
  const text = output.trimEnd();
  return {
    status,
    code,
    output: text.length > MAX_CHECK_OUTPUT_CHARS ? text.slice(-MAX_CHECK_OUTPUT_CHARS) : text,
    durationMs: Math.round(performance.now() - started),
  };
}

export async function runCheck(docker: Docker, containerName: string, exercise: Exercise): Promise<CheckResult> {
  const { status, output, durationMs } = await runScript(docker, containerName, exercise.check, exercise.timeoutSeconds);
  return { exercise: exercise.id, status, passed: status === CHECK_STATUS.passed, message: messageFor(status, exercise), output, durationMs };
}

function messageFor(status: CheckStatus, exercise: Exercise): string {
  switch (status) {
    case CHECK_STATUS.passed:
      return `Passed: ${exercise.title}.`;
    case CHECK_STATUS.failed:
      return `Not yet: the check on ${exercise.host} did not pass.`;
    case CHECK_STATUS.timedOut:
      return `The check did not finish within ${exercise.timeoutSeconds} seconds, so it was stopped. Your lab is still usable: check that nothing you started is stuck, then press Check again.`;
  }
}
