/**
 * The lab engine of LAB_OWN_ENGINE=1: a Docker Engine of the runner's own that remaps user
 * namespaces (the sandboxed mode, userns.ts), run as a container on the machine's engine (the one
 * DOCKER_HOST names) the way lab hosts are: outside any compose project, labelled with the
 * runner's instance, so stopping, restarting or replacing the runner keeps it and every lab in it,
 * the next runner adopts it, and `npm run labs:remove-all` removes it with its volume.
 *
 * This module starts it (or adopts it), copies the lab host images into it, and hands back a client
 * for its socket; labs are then created there as on any engine. It creates no lab itself.
 *
 * The engine is the lab host image's own dockerd (lab-entrypoint), in the capabilities form, in a
 * network namespace of its own (`bridge: none` deletes any docker0 where it runs: README,
 * "Security"), its /var/lib/docker on a volume of the instance. Its socket is in a folder the runner
 * shares with it (LAB_OWN_ENGINE_DIR): a path on the machine, or, for a runner in a container, what
 * backs that path there (a volume or a bind mount), found by inspecting the runner's own container.
 */
import { mkdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import type { ContainerCreateOptions, ContainerInspectInfo } from 'dockerode';
import type { Config } from './config.ts';
import { LAB_HOST_CAPABILITIES, withTimeout } from './docker.ts';
import { IMAGES, LAB_HOST_ENV, LABELS, ROLES } from './names.ts';

export const labEngineName = (instance: string) => `dnl-${instance}-lab-engine`;
/** Its /var/lib/docker: the labs' containers and the copied images, kept across its restarts. */
export const labEngineVolume = (instance: string) => `dnl-${instance}-lab-engine`;

/** Where the lab engine sees the socket folder's backing (a volume is mounted whole). */
const SOCKET_MOUNT = '/run/dnl-lab-engine';
const SOCKET = 'docker.sock';
/** The lab host image's entrypoint, which starts dockerd with /etc/docker/daemon.json (sandbox/images/labhost). */
const LAB_ENTRYPOINT = '/usr/local/bin/lab-entrypoint';
/** The variable that carries daemon.json into the container; its command writes it before dockerd starts. */
const DAEMON_JSON_ENV = 'LAB_ENGINE_DAEMON_JSON';
/**
 * How long its socket may take to answer at least: ~3 s here from a start (measured with the
 * compose service this replaced); the first start also creates the dockremap user and its ranges.
 * Longer where LAB_ENGINE_START_TIMEOUT is (a slow machine, as the emulated guest of
 * `npm run test:guest`): the lab engine is the lab host image's own dockerd.
 */
const ANSWER_TIMEOUT_MS = 60_000;
const POLL_MS = 250;
/** Every lab's logs stay inside the lab hosts; the engine's own container logs stay small. */
const LOG_OPTS = { 'max-size': '1m', 'max-file': '2' };

/** What backs the socket folder, as a mount of the lab engine: the socket is at `subpath` below SOCKET_MOUNT. */
export interface SocketBacking {
  type: 'bind' | 'volume';
  /** The machine's path (bind) or the volume's name. */
  source: string;
  subpath: string;
}

/**
 * The id of the container this process runs in, from /proc/self/mountinfo: the engine bind-mounts
 * /etc/hostname, /etc/hosts and /etc/resolv.conf from its containers/<id>/ folder into every
 * container, host network or not. The hostname is no guide (with network_mode: host it is the
 * machine's), nor /proc/self/cgroup (a private cgroup namespace, the cgroup v2 default, shows `/`).
 * Undefined on the machine itself.
 */
export function ownContainerId(mountinfo: string): string | undefined {
  return /\/containers\/([0-9a-f]{64})\/(?:hostname|hosts|resolv\.conf) /.exec(mountinfo)?.[1];
}

/** The mount of a container that holds `dir` (the deepest one), as a backing for the lab engine. */
export function backingOf(dir: string, mounts: ContainerInspectInfo['Mounts']): SocketBacking | undefined {
  const holding = mounts
    .filter((m) => (m.Type === 'bind' || m.Type === 'volume') && (dir === m.Destination || dir.startsWith(`${m.Destination}/`)))
    .sort((a, b) => b.Destination.length - a.Destination.length)[0];
  if (!holding) return undefined;
  const subpath = path.posix.relative(holding.Destination, dir);
  // A bind's folder can be named directly on the machine; a volume is mounted whole (a volume's
  // subpath needs Engine API 1.45, newer than many machines' engines).
  return holding.Type === 'bind' ? { type: 'bind', source: path.posix.join(holding.Source, subpath), subpath: '' } : { type: 'volume', source: holding.Name!, subpath };
}

/** The lab engine's daemon.json: remapped users, no default bridge, its socket in the shared folder too. */
export function daemonConfig(backing: SocketBacking): object {
  return {
    'userns-remap': 'default',
    bridge: 'none',
    hosts: ['unix:///var/run/docker.sock', `unix://${path.posix.join(SOCKET_MOUNT, backing.subpath, SOCKET)}`],
    'log-opts': LOG_OPTS,
  };
}

/**
 * The lab engine's container: the lab host image's dockerd with daemon.json, in the capabilities
 * form; its lab-entrypoint waits `startTimeoutS` (LAB_ENGINE_START_TIMEOUT) for that dockerd, as a
 * lab host's does.
 */
export function labEngineSpec(instance: string, image: string, backing: SocketBacking, startTimeoutS: number): ContainerCreateOptions {
  return {
    name: labEngineName(instance),
    Image: image,
    Entrypoint: ['tini', '--', 'sh', '-c', `printf '%s' "$${DAEMON_JSON_ENV}" > /etc/docker/daemon.json && exec ${LAB_ENTRYPOINT}`],
    Cmd: [],
    Env: [`${DAEMON_JSON_ENV}=${JSON.stringify(daemonConfig(backing))}`, `${LAB_HOST_ENV.engineStartTimeout}=${startTimeoutS}`],
    Labels: { [LABELS.instance]: instance, [LABELS.role]: ROLES.labEngine },
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      CapAdd: [...LAB_HOST_CAPABILITIES],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      // `--security-opt systempaths=unconfined`: nothing of /proc masked or read-only, as the
      // lab engine's own dockerd writes sysctls and its runc mounts /proc for the lab hosts.
      MaskedPaths: [],
      ReadonlyPaths: [],
      RestartPolicy: { Name: 'unless-stopped' },
      LogConfig: { Type: 'json-file', Config: LOG_OPTS },
      Mounts: [
        { Type: 'volume', Source: labEngineVolume(instance), Target: '/var/lib/docker' },
        { Type: backing.type, Source: backing.source, Target: SOCKET_MOUNT },
      ],
    },
  };
}

/** A container's inspection, or undefined when the engine has no such container. */
const inspectIfThere = (docker: Docker, container: string): Promise<ContainerInspectInfo | undefined> =>
  docker.getContainer(container).inspect().catch((err: { statusCode?: number }) => {
    if (err.statusCode === 404) return undefined;
    throw err;
  });

/** What backs LAB_OWN_ENGINE_DIR: the folder itself on the machine, else a mount of the runner's container. */
async function socketBacking(machine: Docker, dir: string): Promise<SocketBacking> {
  const id = ownContainerId(readFileSync('/proc/self/mountinfo', 'utf8'));
  // Not found: a container of another engine (a CI job's, say), which sees the paths this process sees.
  const own = id && (await inspectIfThere(machine, id));
  if (!own) return { type: 'bind', source: dir, subpath: '' };
  const backing = backingOf(dir, own.Mounts);
  if (!backing) {
    throw new Error(`LAB_OWN_ENGINE_DIR ${dir} is not on a volume or bind mount of the runner's container (${own.Name.replace(/^\//, '')}), so the lab engine cannot share its socket: mount one there (compose.yaml mounts /run/dnl-lab-engine), or set LAB_OWN_ENGINE=0.`);
  }
  return backing;
}

const imageId = (docker: Docker, image: string) => docker.getImage(image).inspect().then((i) => i.Id, () => undefined);

/**
 * Copy each image into the lab engine where it lacks that tag with the same id (docker save piped
 * into docker load: ~18 s for a lab host image the first time), and drop the one it replaces.
 */
export async function copyImages(machine: Docker, lab: Docker, images: string[], log: (line: string) => void): Promise<void> {
  for (const image of images) {
    const id = await imageId(machine, image);
    const there = await imageId(lab, image);
    if (!id || id === there) continue;
    const started = performance.now();
    // pipe() inside docker-modem carries the backpressure: the save stream waits for the load.
    const loading = await lab.loadImage(await machine.getImage(image).get(), { quiet: true });
    await new Promise((resolve, reject) => lab.modem.followProgress(loading, (err) => (err ? reject(err) : resolve(undefined))));
    if ((await imageId(lab, image)) !== id) throw new Error(`copying ${image} into the lab engine did not leave it there`);
    // Still used by a running lab it stays (the engine refuses), and goes at a later start.
    if (there) await lab.getImage(there).remove().catch(() => {});
    log(`copied ${image} into the lab engine in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}

/** Whether the lab engine answers within `timeoutMs`; a socket this user may not open is a sentence at once. */
async function answers(lab: Docker, socket: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const failure = await withTimeout(lab.ping(), POLL_MS * 4, 'ping').then(() => undefined, (err: NodeJS.ErrnoException) => err);
    if (!failure) return true;
    if (failure.code === 'EACCES') throw new Error(`permission denied on ${socket}, which is root's: run the runner as root, or set LAB_OWN_ENGINE=0.`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return false;
}

/** Where the lab engine's socket is for the runner. */
export const labEngineSocket = (config: Config) => path.join(config.ownEngineDir, SOCKET);
/** A client for the lab engine's socket (whether it answers or not). */
export const labEngineClient = (config: Config) => new Docker({ socketPath: labEngineSocket(config) });

/**
 * Start or adopt this instance's lab engine on `machine`, bring its lab host images up to date and
 * return a client for it. Throws a sentence saying what to do when it cannot.
 */
export async function startLabEngine(machine: Docker, config: Config, log: (line: string) => void): Promise<Docker> {
  const instance = config.LAB_INSTANCE;
  const name = labEngineName(instance);
  const image = IMAGES.labHost(config.engines[0]!.suite);
  try {
    mkdirSync(config.ownEngineDir, { recursive: true });
  } catch (err) {
    throw new Error(`the folder for its socket, ${config.ownEngineDir}, cannot be made (${(err as NodeJS.ErrnoException).code}): set LAB_OWN_ENGINE_DIR to a folder this user may write, or run the runner as root.`);
  }
  const backing = await socketBacking(machine, config.ownEngineDir);
  let found = await inspectIfThere(machine, name);
  if (!found) {
    await machine.createVolume({ Name: labEngineVolume(instance), Labels: { [LABELS.instance]: instance, [LABELS.role]: ROLES.labEngine } });
    await machine.createContainer(labEngineSpec(instance, image, backing, config.LAB_ENGINE_START_TIMEOUT)).catch((err: { statusCode?: number; message?: string }) => {
      if (err.statusCode === 404) throw new Error(`The lab engine's image ${image} is not built on this machine's engine: run npm run build:images (or set LAB_OWN_ENGINE=0).`);
      throw err;
    });
    found = await machine.getContainer(name).inspect();
    log(`created the lab engine ${name} (from ${image}, its data on the volume ${labEngineVolume(instance)})`);
  } else {
    log(`took over the lab engine ${name}`);
  }
  if (!found.State.Running) await machine.getContainer(name).start();
  const lab = labEngineClient(config);
  const socket = labEngineSocket(config);
  const answerMs = Math.max(ANSWER_TIMEOUT_MS, config.LAB_ENGINE_START_TIMEOUT * 1000);
  if (!(await answers(lab, socket, answerMs))) {
    throw new Error(`The lab engine ${name} did not answer on ${socket} within ${answerMs / 1000} s: see \`docker logs ${name}\`; \`npm run labs:remove-all\` removes it (and every lab in it) for a fresh one at the next start, LAB_OWN_ENGINE=0 runs labs on the machine's engine.`);
  }
  await copyImages(machine, lab, config.engines.map((e) => IMAGES.labHost(e.suite)), log);
  return lab;
}

/**
 * Remove the instance's lab engine (every lab in it goes with it), its volume and its socket;
 * resolves with whether there was one. Touches nothing else: names and the socket file only.
 */
export async function removeLabEngine(machine: Docker, instance: string, socketDir?: string): Promise<boolean> {
  const removed = await machine.getContainer(labEngineName(instance)).remove({ force: true, v: true }).then(() => true, () => false);
  await machine.getVolume(labEngineVolume(instance)).remove().catch(() => {});
  if (socketDir) {
    // The folder too if nothing else is in it (a mount point stays; so does a folder of root's
    // for a user who may use Docker but not write there: the next start takes it over).
    try {
      rmSync(path.join(socketDir, SOCKET), { force: true });
      rmdirSync(socketDir);
    } catch {}
  }
  return removed;
}
