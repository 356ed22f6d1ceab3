/**
 * Talking to one running lab host from outside it, without a terminal: run a command and
 * collect what it prints, or wait until its own Docker Engine is ready. Used by the runner
 * (warm pool, lab readiness) and by the image builder (preparing the inner image store).
 */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { LAB_HOST_PATHS } from './names.ts';

/**
 * How long a lab host's engine may take to answer, and its images to be in place, before
 * waitForEngine gives up. About 1.3 s on an idle machine; one filling the warm pool while
 * learners start labs needs several times that. (lab-shell gives up on its own after 30 s.)
 */
export const ENGINE_READY_TIMEOUT_S = 60;
/** Poll interval of the wait inside the lab host (s): short, since a learner may be waiting. */
const READY_POLL_S = 0.05;

/** Run a command in a container without a TTY; resolves with its exit code and output when it ends. */
export async function execCollect(docker: Docker, containerName: string, cmd: string[]): Promise<{ code: number | null; output: string }> {
  const exec = await docker.getContainer(containerName).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: false });
  const stream = await exec.start({ hijack: true, stdin: false });
  let output = '';
  const collect = new PassThrough();
  collect.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  // Without a TTY, stdout and stderr come multiplexed in one stream.
  docker.modem.demuxStream(stream, collect, collect);
  await new Promise<void>((resolve) => {
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.on('error', () => resolve());
  });
  return { code: (await exec.inspect()).ExitCode, output };
}

/**
 * Resolves once the lab host's entrypoint says its engine answers with the inner images in
 * place (one exec that waits inside the host, not one per poll). Rejects with the entrypoint's
 * own sentence if the engine failed, or after `timeoutS`.
 */
export async function waitForEngine(docker: Docker, containerName: string, timeoutS = ENGINE_READY_TIMEOUT_S): Promise<void> {
  const { code, output } = await execCollect(docker, containerName, [
    'sh', '-c',
    // $1 ready file, $2 failed file, $3 polls allowed, $4 poll interval: exit 0 ready, 1 failed, 2 gave up.
    'n=0; while [ ! -e "$1" ]; do [ -e "$2" ] && { cat "$2"; exit 1; }; [ "$n" -ge "$3" ] && exit 2; sleep "$4"; n=$((n + 1)); done',
    'wait-for-engine', LAB_HOST_PATHS.ready, LAB_HOST_PATHS.failed, String(Math.round(timeoutS / READY_POLL_S)), String(READY_POLL_S),
  ]);
  if (code === 0) return;
  throw new Error(code === 2 ? `${containerName}: its engine did not start within ${timeoutS} s` : `${containerName}: ${output.trim() || `exit code ${code}`}`);
}
