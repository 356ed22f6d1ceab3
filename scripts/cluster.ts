/**
 * A three-node Docker Swarm on this one machine, to try the runner's cells (stack.yaml) without
 * three machines: each "machine" is a container of the lab host image (its own Docker Engine
 * 28.5.2) on a network of its own; the swarm and the stack run on those nested engines, and each
 * cell's labs run inside its machine.
 *
 *   npm run cluster up        make (or bring up to date) the nodes, the swarm and the stack; waits
 *                             until every cell answers GET /api/health
 *   npm run cluster status    the nodes, their addresses, the entry points and each cell's health
 *   npm run cluster down      remove everything `up` made (containers, volumes, network, image tar)
 *
 * Needs the lab host and runner images on this machine's engine (`npm run build` then
 * `npm run build:images -- --runner`): `up` loads them into each node (`docker save` once, `docker
 * load` in each), and no node can pull anything (no DNS server, and Swarm told to prefer local
 * images). Settings for the cells come from this shell's LAB_* variables, as for `docker stack
 * deploy` (stack.yaml); LAB_ENGINES is 28 (the only lab host image loaded into the nodes).
 *
 * The functions are exported for sandbox/test/cluster.test.ts.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import tar from 'tar-fs';
import { ROUTES, type HealthStatus } from '../contract/api.ts';
import { createDockerClient, describeDockerError, detectPrivilegeMode, privilegeHostConfig, type PrivilegeMode } from '../sandbox/src/docker.ts';
import { execCollect, waitForEngine, type ExecOptions } from '../sandbox/src/labhost.ts';
import { IMAGES, LABELS } from '../sandbox/src/names.ts';
import { ROOT } from './steps.ts';

/** On every object `up` makes (with LABELS.role saying which kind): what `down` removes. */
export const CLUSTER_LABEL = 'io.dnl.cluster';
const CLUSTER = 'test';
export const NODE_COUNT = 3;
export const nodeName = (i: number) => `dnl-cluster-node${i}`;
export const nodeHostname = (i: number) => `node${i}`;
const NETWORK = 'dnl-cluster';
const volumeName = (i: number) => `dnl-cluster-node${i}-docker`;
/** The stack's name: its service is `dnl_runner` (stack.yaml's `runner`). */
export const STACK = 'dnl';
export const SERVICE = `${STACK}_runner`;
/** stack.yaml's published port (host mode: each node's own). */
export const CELL_PORT = 4321;
/** The suite of the lab host image that makes the machines and runs the labs inside them. */
const SUITE = 'forky';
const IMAGES_TO_LOAD = [IMAGES.runner, IMAGES.labHost(SUITE)];
/** Where `up` keeps the images' tar between runs (gitignored .lab/): saved again only when an image changed. */
const CACHE_DIR = path.join(ROOT, '.lab', 'cluster');
/** Where the checkout's stack.yaml is copied into node1 at each deploy. */
const NODE_STACK_DIR = '/tmp';
/** Where CACHE_DIR is mounted in every node, read-only. */
const NODE_IMAGES_DIR = '/opt/dnl-images';
/**
 * From `stack deploy` to every cell answering: a task starts in a few seconds, but the runner
 * image's health check and a first lab host image probe on a busy 2-CPU machine take longer.
 */
const CELLS_READY_TIMEOUT_MS = 180_000;
/** A forced update of the runner service: one node at a time, each old runner exits within 15 s (main.ts). */
const SERVICE_UPDATE_TIMEOUT_MS = 180_000;
/** One health request to a cell; a slower answer counts as none (the next poll asks again). */
const HEALTH_TIMEOUT_MS = 3_000;
const POLL_MS = 500;

export interface ClusterNode {
  name: string;
  hostname: string;
  /** Its address on the cluster network, which this machine reaches directly. */
  address: string;
  /** The cell's base URL there (stack.yaml's published port). */
  url: string;
}

export interface Cluster {
  nodes: ClusterNode[];
  /** LAB_CELL_SECRET of the deployed stack (tests ask cells for their status with it). */
  secret: string;
}

export interface UpOptions {
  /** Extra environment for `docker stack deploy` (the cells' settings, e.g. LAB_MAX_LABS). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

const labels = (role: string) => ({ [CLUSTER_LABEL]: CLUSTER, [LABELS.role]: role });
const byLabel = () => JSON.stringify({ label: [`${CLUSTER_LABEL}=${CLUSTER}`] });

/** Run a command in a node; throws with its output unless it exits 0. */
export async function nodeExec(docker: Docker, node: string, cmd: string[], opts: ExecOptions = {}): Promise<string> {
  const { code, output, timedOut } = await execCollect(docker, node, cmd, opts);
  if (code !== 0) throw new Error(`${node}: \`${cmd.join(' ')}\` ${timedOut ? 'did not finish' : `failed (exit ${code})`}: ${output.trim()}`);
  return output.trim();
}

/** Seconds since `t` (performance.now()), for the timings `up` prints. */
const since = (t: number) => `${((performance.now() - t) / 1000).toFixed(1)} s`;

/** Make the cluster, or bring one that is there up to date; resolves once every cell answers and sees the others. */
export async function clusterUp(opts: UpOptions = {}, docker = createDockerClient()): Promise<Cluster> {
  const log = opts.log ?? ((line: string) => console.log(line));
  const t0 = performance.now();
  await requireImages(docker);

  let t = performance.now();
  const imagesTar = await saveImages(docker, log);
  log(`images saved for the nodes (${path.basename(imagesTar)}): ${since(t)}`);

  t = performance.now();
  await ensureNetwork(docker);
  const mode = await detectPrivilegeMode(docker, IMAGES.labHost(SUITE), `cluster-${CLUSTER}`);
  await Promise.all(range().map((i) => ensureNode(docker, i, mode)));
  await Promise.all(range().map(async (i) => {
    await waitForEngine(docker, nodeName(i));
    await answerThisMachine(docker, i);
  }));
  log(`${NODE_COUNT} nodes' engines answer (${mode} form): ${since(t)}`);

  t = performance.now();
  const loaded = (await Promise.all(range().map((i) => loadImages(docker, i, imagesTar)))).some(Boolean);
  log(loaded ? `images loaded into the nodes: ${since(t)}` : 'the nodes have the images already');

  t = performance.now();
  await ensureSwarm(docker);
  log(`swarm of ${NODE_COUNT} nodes: ${since(t)}`);

  t = performance.now();
  const nodes = await clusterNodes(docker);
  const deployed = await deployedSecret(docker);
  const secret = deployed ?? randomBytes(32).toString('hex');
  const env = {
    LAB_ALLOWED_ORIGINS: nodes.map((n) => n.url).join(','),
    ...pick(process.env, /^LAB_/),
    ...opts.env,
    LAB_ENGINES: '28',
    LAB_CELL_SECRET: secret,
  };
  // Copied at each deploy (not mounted): an edited stack.yaml is often a new file, which a
  // bind mount of the old one would not show.
  await docker.getContainer(nodeName(1)).putArchive(tar.pack(ROOT, { entries: ['stack.yaml'] }) as unknown as NodeJS.ReadableStream, { path: NODE_STACK_DIR });
  // --resolve-image never: the CLI would ask a registry for each image's digest.
  await nodeExec(docker, nodeName(1), ['docker', 'stack', 'deploy', '--detach=true', '--resolve-image', 'never', '--prune', '-c', `${NODE_STACK_DIR}/stack.yaml`, STACK], {
    env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    timeoutMs: 60_000,
  });
  log(`stack ${STACK} deployed`);
  if (deployed !== undefined && loaded) {
    // Same tag, new image: the service's spec did not change, so Swarm would keep the old tasks.
    await nodeExec(docker, nodeName(1), ['docker', 'service', 'update', '--quiet', '--force', SERVICE], { timeoutMs: SERVICE_UPDATE_TIMEOUT_MS });
    log(`${SERVICE} updated to the new image, one node at a time`);
  }
  await waitForCells(nodes);
  log(`every cell answers GET /api/health and sees the others: ${since(t)}`);
  log(`cluster up in ${since(t0)}; entry points: ${nodes.map((n) => n.url).join(' ')}`);
  return { nodes, secret };
}

/** Remove every container, volume and network `up` made (by label), and the images' tar. */
export async function clusterDown(docker = createDockerClient(), log = (line: string) => console.log(line)): Promise<void> {
  const t = performance.now();
  const containers = await docker.listContainers({ all: true, filters: byLabel() });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true })));
  const volumes = (await docker.listVolumes({ filters: byLabel() })).Volumes ?? [];
  await Promise.all(volumes.map((v) => docker.getVolume(v.Name).remove()));
  const networks = await docker.listNetworks({ filters: byLabel() });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove()));
  await rm(CACHE_DIR, { recursive: true, force: true });
  log(`removed ${containers.length} node(s), ${volumes.length} volume(s), ${networks.length} network(s): ${since(t)}`);
}

/** The nodes as they run now, in order; throws with a sentence when one is missing or stopped. */
export async function clusterNodes(docker = createDockerClient()): Promise<ClusterNode[]> {
  return Promise.all(range().map(async (i) => {
    const info = await docker.getContainer(nodeName(i)).inspect().catch(() => undefined);
    const address = info?.State.Running ? info.NetworkSettings.Networks[NETWORK]?.IPAddress : undefined;
    if (!address) throw new Error(`${nodeName(i)} is not running: start the cluster with \`npm run cluster up\`.`);
    return { name: nodeName(i), hostname: nodeHostname(i), address, url: `http://${address}:${CELL_PORT}` };
  }));
}

/** A cell's health, or the reason it gave none. */
export async function cellHealth(node: ClusterNode): Promise<HealthStatus | Error> {
  try {
    const answer = await fetch(node.url + ROUTES.health.path(), { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    if (answer.status !== 200) return new Error(`answered ${answer.status}`);
    return (await answer.json()) as HealthStatus;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Prints the nodes, the swarm's view of them, and each cell's health. */
export async function clusterStatus(docker = createDockerClient(), log = (line: string) => console.log(line)): Promise<void> {
  const nodes = await clusterNodes(docker);
  log(await nodeExec(docker, nodeName(1), ['docker', 'node', 'ls']));
  log(await nodeExec(docker, nodeName(1), ['docker', 'service', 'ps', '--no-trunc', '--filter', 'desired-state=running', '--format', '{{.Node}}\t{{.CurrentState}}\t{{.Error}}', SERVICE]));
  for (const node of nodes) {
    const health = await cellHealth(node);
    const said = health instanceof Error ? `no answer (${health.message})`
      : `Docker Engine ${health.engine.version ?? '?'}${health.engine.available ? '' : ' (not reachable)'}, ${health.labs} lab(s), `
        + `cell ${health.cluster?.cell ?? '(none)'} sees ${health.cluster?.cells.filter((c) => c.reachable).length ?? 0} of ${NODE_COUNT} cells`
        + `${health.cluster?.cells.find((c) => c.self)?.accepting === false ? ', draining' : ''}`;
    log(`${node.hostname}  ${node.address}  ${node.url}  ${said}`);
  }
}

// --- steps of `up` -------------------------------------------------------------------------------

const range = () => Array.from({ length: NODE_COUNT }, (_, i) => i + 1);

async function requireImages(docker: Docker): Promise<void> {
  for (const image of IMAGES_TO_LOAD) {
    const found = await docker.getImage(image).inspect().catch((err: { statusCode?: number }) => {
      if (err.statusCode === 404) return undefined;
      throw new Error(describeDockerError(err, docker));
    });
    if (!found) {
      throw new Error(`The image ${image} is not on this machine's engine; make it with \`npm run build\` then \`npm run build:images -- --runner\`, and run \`npm run cluster up\` again.`);
    }
  }
}

/** One tar of the images for every node, named by their ids (an unchanged image is not saved again). */
async function saveImages(docker: Docker, log: (line: string) => void): Promise<string> {
  const ids = await Promise.all(IMAGES_TO_LOAD.map(async (image) => (await docker.getImage(image).inspect()).Id.replace(/^sha256:/, '').slice(0, 12)));
  const file = path.join(CACHE_DIR, `images-${ids.join('-')}.tar`);
  if (await stat(file).then(() => true, () => false)) return file;
  // The folder stays (running nodes have it mounted); only the tar of older images goes.
  await mkdir(CACHE_DIR, { recursive: true });
  for (const old of await readdir(CACHE_DIR)) await rm(path.join(CACHE_DIR, old), { force: true });
  log(`docker save ${IMAGES_TO_LOAD.join(' ')}`);
  const saved = await (docker as Docker & { getImages(o: { names: string[] }): Promise<NodeJS.ReadableStream> }).getImages({ names: IMAGES_TO_LOAD });
  await pipeline(saved, createWriteStream(`${file}.part`));
  await rename(`${file}.part`, file);
  return file;
}

async function ensureNetwork(docker: Docker): Promise<void> {
  const found = await docker.listNetworks({ filters: JSON.stringify({ name: [NETWORK], label: [`${CLUSTER_LABEL}=${CLUSTER}`] }) });
  if (found.some((n) => n.Name === NETWORK)) return;
  // Internal: the nodes reach each other and this machine reaches them, nothing else.
  await docker.createNetwork({ Name: NETWORK, Internal: true, Labels: labels('cluster-network') });
}

/** Start node i unless it runs; a stopped one is started again with its engine's data. */
async function ensureNode(docker: Docker, i: number, mode: PrivilegeMode): Promise<void> {
  const container = docker.getContainer(nodeName(i));
  const info = await container.inspect().catch(() => undefined);
  if (info?.State.Running) return;
  if (!info) {
    await docker.createVolume({ Name: volumeName(i), Labels: labels('cluster-volume') });
    await docker.createContainer({
      name: nodeName(i),
      Hostname: nodeHostname(i),
      Image: IMAGES.labHost(SUITE),
      Labels: labels('cluster-node'),
      // Swarm otherwise asks a registry for every task's image, even one it has.
      Env: ['DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1'],
      HostConfig: {
        // What a lab host gets, which is what a machine running lab hosts needs (its own lab
        // hosts get no more than that, and the runner task only the node's socket).
        ...privilegeHostConfig(mode),
        NetworkMode: NETWORK,
        // No name server: nothing in a node can look up, let alone pull from, a registry.
        Dns: ['127.0.0.1'],
        Mounts: [
          // A volume, not a tmpfs: the loaded images would cost ~450 MiB of memory per node.
          { Type: 'volume', Source: volumeName(i), Target: '/var/lib/docker' },
          { Type: 'bind', Source: CACHE_DIR, Target: NODE_IMAGES_DIR, ReadOnly: true },
        ],
      },
    });
  }
  await container.start();
}

/**
 * The lab host image's entrypoint makes its network's gateway address unreachable (a lab must
 * reach nothing but its own hosts), and that address is this machine's: without this, no answer
 * from a node finds its way back here. Done at every start, since the entrypoint does it again.
 */
async function answerThisMachine(docker: Docker, i: number): Promise<void> {
  const info = await docker.getContainer(nodeName(i)).inspect();
  const gateway = info.NetworkSettings.Networks[NETWORK]?.Gateway;
  if (gateway) await execCollect(docker, nodeName(i), ['ip', 'route', 'del', 'unreachable', gateway]);
}

/** Load the tar into node i unless its engine has the images already (same ids); says whether it loaded them. */
async function loadImages(docker: Docker, i: number, imagesTar: string): Promise<boolean> {
  const want = await Promise.all(IMAGES_TO_LOAD.map(async (image) => (await docker.getImage(image).inspect()).Id));
  const have = await execCollect(docker, nodeName(i), ['docker', 'image', 'inspect', '--format', '{{.Id}}', ...IMAGES_TO_LOAD]);
  if (have.code === 0 && have.output.trim().split('\n').join() === want.join()) return false;
  await nodeExec(docker, nodeName(i), ['docker', 'load', '-q', '-i', `${NODE_IMAGES_DIR}/${path.basename(imagesTar)}`]);
  return true;
}

/** swarm init on node1 and the others join it, unless they are in it; each node labelled with its name. */
async function ensureSwarm(docker: Docker): Promise<void> {
  const state = (i: number) => nodeExec(docker, nodeName(i), ['docker', 'info', '--format', '{{.Swarm.LocalNodeState}}']);
  const [first] = await clusterNodes(docker);
  if (await state(1) !== 'active') {
    await nodeExec(docker, nodeName(1), ['docker', 'swarm', 'init', '--advertise-addr', first!.address]);
  }
  const token = await nodeExec(docker, nodeName(1), ['docker', 'swarm', 'join-token', '-q', 'worker']);
  for (const i of range().slice(1)) {
    if (await state(i) !== 'active') {
      await nodeExec(docker, nodeName(i), ['docker', 'swarm', 'join', '--token', token, `${first!.address}:2377`]);
    }
  }
  for (const i of range()) {
    await nodeExec(docker, nodeName(1), ['docker', 'node', 'update', '--label-add', `io.dnl.machine=${nodeHostname(i)}`, nodeHostname(i)]);
  }
}

/** The secret of the stack deployed before, so that deploying again changes nothing it need not. */
async function deployedSecret(docker: Docker): Promise<string | undefined> {
  const found = await execCollect(docker, nodeName(1), ['docker', 'service', 'inspect', '--format', '{{json .Spec.TaskTemplate.ContainerSpec.Env}}', SERVICE]);
  if (found.code !== 0) return undefined;
  const env = JSON.parse(found.output) as string[] | null;
  return env?.find((e) => e.startsWith('LAB_CELL_SECRET='))?.slice('LAB_CELL_SECRET='.length) || undefined;
}

async function waitForCells(nodes: ClusterNode[]): Promise<void> {
  const deadline = performance.now() + CELLS_READY_TIMEOUT_MS;
  for (;;) {
    const healths = await Promise.all(nodes.map(cellHealth));
    // Answering, reaching its engine, and seeing every cell (each finds the others every 2 s):
    // a lab created before that would be placed among fewer cells.
    const silent = nodes.filter((_, i) => {
      const h = healths[i]!;
      return h instanceof Error || !h.engine.available || h.cluster?.cells.filter((c) => c.reachable).length !== NODE_COUNT;
    });
    if (silent.length === 0) return;
    if (performance.now() > deadline) {
      throw new Error(`${silent.map((n) => n.hostname).join(', ')} did not answer GET /api/health, or did not see every cell, within ${CELLS_READY_TIMEOUT_MS / 1000} s; \`npm run cluster status\` shows the tasks and their errors.`);
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function pick(env: NodeJS.ProcessEnv, pattern: RegExp): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => pattern.test(e[0]) && e[1] !== undefined));
}

// --- command line --------------------------------------------------------------------------------

if (import.meta.url === `file://${process.argv[1]}`) {
  const command = process.argv[2];
  try {
    if (command === 'up') await clusterUp();
    else if (command === 'down') await clusterDown();
    else if (command === 'status') await clusterStatus();
    else {
      console.error('usage: npm run cluster up|down|status');
      process.exit(2);
    }
  } catch (err) {
    console.error(`npm run cluster ${command} failed: ${(err as Error).message}`);
    process.exit(1);
  }
}
