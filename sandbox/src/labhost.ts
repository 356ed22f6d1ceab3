/**
 * Talking to one running lab host from outside it, without a terminal: run a command and
 * collect what it prints, or wait until its own Docker Engine is ready. Used by the runner
 * (warm pool, lab readiness, exercise checks), the image builder (preparing the inner image
 * store), and the bench and tests. A learner's interactive shell is terminal.ts's, not this.
 */
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { LAB_HOST_PATHS } from './names.ts';

/**
 * How long a lab host's engine may take to answer, and its images to be in place, before
 * waitForEngine gives up, where no configuration says otherwise (the runner's is
 * LAB_READY_TIMEOUT, of the same default). About 1.3 s on an idle machine; one filling the warm
 * pool while learners start labs needs several times that.
 */
export const ENGINE_READY_TIMEOUT_S = 60;
/** Poll interval of the wait inside the lab host (s): short, since a learner may be waiting. */
const READY_POLL_S = 0.05;

export interface ExecOptions {
  /** With a TTY, as a terminal would run it (stdout and stderr as one stream, line endings as CRLF). Default: none. */
  tty?: boolean;
  /** `NAME=value` pairs added to the container's environment. */
  env?: string[];
  workingDir?: string;
  /** Keep only the last this many bytes of output (a flood must not grow the caller). Default: all of it. */
  keepBytes?: number;
  /** Stop listening after this long (from the exec's start): the result then says `timedOut`, with no exit code. */
  timeoutMs?: number;
}

export interface ExecResult {
  /** The exit code; null when it timed out (or the engine did not say). */
  code: number | null;
  /** stdout and stderr together, in the order they came (the tail of it, with `keepBytes`). */
  output: string;
  timedOut: boolean;
}

/** Run a command in a container; resolves with its exit code and output when it ends, or when `timeoutMs` passes. */
export async function execCollect(docker: Docker, containerName: string, cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const tty = opts.tty ?? false;
  const exec = await docker.getContainer(containerName).exec({
    Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: tty, Env: opts.env, WorkingDir: opts.workingDir,
  });
  const stream = await exec.start({ hijack: true, stdin: false, Tty: tty });
  const output = new OutputTail(opts.keepBytes ?? Infinity);
  if (tty) {
    stream.on('data', (chunk: Buffer) => output.add(chunk));
  } else {
    // Without a TTY, stdout and stderr come multiplexed in one stream.
    const collect = new PassThrough();
    collect.on('data', (chunk: Buffer) => output.add(chunk));
    docker.modem.demuxStream(stream, collect, collect);
  }
  const finished = await new Promise<boolean>((resolve) => {
    const deadline = opts.timeoutMs === undefined ? undefined : setTimeout(() => resolve(false), opts.timeoutMs);
    const done = () => {
      clearTimeout(deadline);
      resolve(true);
    };
    stream.once('end', done);
    stream.once('close', done);
    stream.on('error', done);
  });
  if (!finished) stream.destroy();
  return { code: finished ? (await exec.inspect()).ExitCode : null, output: output.text(), timedOut: !finished };
}

/** Output bytes as they come, keeping the last `keep` of them; decoded once at the end, so no character is split between chunks. */
class OutputTail {
  readonly #keep: number;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(keep: number) {
    this.#keep = keep;
  }

  add(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.#size > this.#keep) {
      const all = Buffer.concat(this.#chunks);
      this.#chunks = [all.subarray(all.length - this.#keep)];
      this.#size = this.#keep;
    }
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
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
