/**
 * A second Docker Engine beside the machine's, with user-namespace remapping, for the tests and
 * the lesson verification of the sandboxed mode (userns.ts): `dockerd --userns-remap=default` on
 * a socket, data root, exec root and pidfile of its own and no default bridge, in a network
 * namespace of its own (see startUsernsEngine), with the lab host
 * image copied in from the machine's engine. Started if it is not running, stopped by whoever
 * started it; its data root stays (the copied image with it), so a second run on the same machine
 * saves the copy (~11 s). Needs root, as `.ci/run` is; `dockerd` creates the `dockremap` user and
 * its /etc/subuid range itself.
 *
 * It starts nothing else and knows nothing of labs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';

/** Where it lives: names of its own, so it never meets the machine's engine's files. */
const NAME = 'dnl-userns';
export const USERNS_ENGINE = {
  socket: `/run/${NAME}.sock`,
  host: `unix:///run/${NAME}.sock`,
  dataRoot: `/var/lib/${NAME}`,
  execRoot: `/run/${NAME}`,
  pidfile: `/run/${NAME}.pid`,
  log: `/var/log/${NAME}.log`,
} as const;
/** How long dockerd may take to answer (~2 s here; the first start also creates dockremap). */
const START_TIMEOUT_MS = 60_000;
/** How long it may take to stop once asked (it stops its containers first). */
const STOP_TIMEOUT_MS = 30_000;
const POLL_MS = 250;

const docker = (host: string | undefined, args: string[]) =>
  spawnSync('docker', host ? ['-H', host, ...args] : args, { encoding: 'utf8', maxBuffer: 1 << 20 });

const answers = () => docker(USERNS_ENGINE.host, ['version', '--format', '{{.Server.Version}}']).status === 0;

async function until(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

export interface UsernsEngine {
  /** DOCKER_HOST for it. */
  host: string;
  /** Stop it if this process started it (else nothing: someone else's run uses it). */
  stop(): Promise<void>;
}

/**
 * The remapped engine, running, with `images` as the machine's engine has them (copied with
 * `docker save | docker load` where missing or different).
 */
export async function startUsernsEngine(images: string[], log: (line: string) => void = () => {}): Promise<UsernsEngine> {
  let started = false;
  if (!answers()) {
    if (process.getuid?.() !== 0) {
      throw new Error(`A second Docker Engine with --userns-remap (for the sandboxed mode's tests) can only be started as root, as .ci/run runs; start it as root first (README, "Security") or run these tests as root.`);
    }
    mkdirSync(USERNS_ENGINE.dataRoot, { recursive: true });
    mkdirSync(USERNS_ENGINE.execRoot, { recursive: true });
    const out = openSync(USERNS_ENGINE.log, 'a');
    // In a network namespace of its own: a dockerd started with `--bridge none` deletes any
    // interface named docker0 where it runs ("removeDefaultBridgeInterface"), which on the
    // machine is the machine's engine's default bridge (seen here: every default-network
    // `docker run` then failed with "could not find bridge docker0"). Its own namespace also
    // keeps its lab networks and firewall rules apart from the machine engine's. The runner
    // needs only its socket; lab hosts' /proc and cgroups are the machine's as before.
    const child = spawn('unshare', [
      '--net', '--', 'dockerd', '--userns-remap=default', '--host', USERNS_ENGINE.host, '--data-root', USERNS_ENGINE.dataRoot,
      '--exec-root', USERNS_ENGINE.execRoot, '--pidfile', USERNS_ENGINE.pidfile, '--bridge', 'none',
    ], { detached: true, stdio: ['ignore', out, out] });
    child.unref();
    started = true;
    log(`started a Docker Engine with --userns-remap=default on ${USERNS_ENGINE.socket} (log: ${USERNS_ENGINE.log})`);
    await until(`the Docker Engine on ${USERNS_ENGINE.socket} did not answer (see ${USERNS_ENGINE.log})`, answers, START_TIMEOUT_MS);
  }
  for (const image of images) {
    const want = docker(undefined, ['image', 'inspect', '--format', '{{.Id}}', image]).stdout.trim();
    if (!want) throw new Error(`the machine's Docker Engine has no image ${image} to copy`);
    if (docker(USERNS_ENGINE.host, ['image', 'inspect', '--format', '{{.Id}}', image]).stdout.trim() === want) continue;
    const t0 = performance.now();
    const copy = spawnSync('sh', ['-c', 'docker save "$1" | docker -H "$2" load -q', 'copy', image, USERNS_ENGINE.host], { encoding: 'utf8' });
    if (copy.status !== 0) throw new Error(`copying ${image} into the remapped engine failed: ${copy.stderr.trim()}`);
    log(`copied ${image} into it in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return {
    host: USERNS_ENGINE.host,
    stop: async () => {
      if (!started || !existsSync(USERNS_ENGINE.pidfile)) return;
      const pid = Number(readFileSync(USERNS_ENGINE.pidfile, 'utf8'));
      process.kill(pid, 'SIGTERM');
      await until(`the Docker Engine on ${USERNS_ENGINE.socket} did not stop`, () => !existsSync(`/proc/${pid}`), STOP_TIMEOUT_MS);
    },
  };
}
