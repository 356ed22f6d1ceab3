/**
 * Creating, finding, expiring, adopting and reaping labs. A lab is one internal Docker network
 * with a subnet of its own plus one lab host container per host the lesson names, all labelled
 * with this runner's instance so that a later process can find what an earlier one left. Each
 * lab's state is also kept on disk (store.ts): a runner started after a restart adopts the labs
 * that are still valid and removes only expired or broken ones and what no lab owns.
 * A lab comes from the warm pool (pool.ts) when it has one of the right shape, and is built
 * on the spot otherwise. This module does not speak HTTP or bridge terminals.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import type { Config } from './config.ts';
import { describeDockerError, detectPrivilegeMode, LAB_HOST_CAPABILITIES, privilegeHostConfig, type PrivilegeMode } from './docker.ts';
import { API_ERRORS } from '../../contract/api.ts';
import { MACVLAN_ENV, labShape, type LabManifest, type LabSpec } from '../../contract/labspec.ts';
import { disableBridgeIpv6, labBridgeName } from './bridges.ts';
import { LabError } from './errors.ts';
import { execCollect, waitForEngine } from './labhost.ts';
import { IMAGES, LABELS, LAB_HOST_PATHS, ROLES, dockerDataTmpfs, labHostContainerName, labNetworkName } from './names.ts';
import { WarmPool, type PoolStatus } from './pool.ts';
import type { CheckStatus } from '../../contract/api.ts';
import { LAB_ID_PATTERN, LabStore, type LabRecord } from './store.ts';
import { PreparedShell } from './terminal.ts';
import { firstFreeSubnet, formatCidr, gatewayOf, halves, parseCidr, type Cidr } from './subnets.ts';

export interface LabHost {
  name: string;
  containerName: string;
}

/** A lab's network and hosts on the engine, before anyone has claimed it. */
export interface BuiltLab {
  id: string;
  /** Which hosts, and macvlan or not (labShape): all the engine objects depend on. */
  shape: string;
  hosts: LabHost[];
  networkName: string;
  subnet: string;
  /** Extra environment of every lab host (the macvlan addresses, for `macvlan: true` labs). */
  env: string[];
  /** Login shells already started, per host name, for the first terminals to adopt (pooled labs). */
  shells: Map<string, PreparedShell>;
  /**
   * Resolves once every host's container was started, or one failed to be (see startInTurn).
   */
  allStarted: Promise<void>;
  /**
   * When allStarted resolved (performance.now()); undefined before. A host missing from a
   * container listing that began earlier is not dead, just not there yet.
   */
  allStartedAt?: number;
  /** Set when the lab is being removed: hosts not started yet never will be. */
  cancelled: boolean;
}

export interface Lab extends BuiltLab {
  lesson: string;
  /** Whether it came from the warm pool (built ahead) or was built for this request. */
  pooled: boolean;
  /** When it was handed to its learner (not when it was built, if it came from the pool). */
  createdAt: number;
  /** Hard limit: the lab is removed at this time whatever happens. */
  expiresAt: number;
  /** Last time a terminal was open or typed into; drives the idle timeout. */
  lastActive: number;
  openTerminals: number;
  tokenHash: Buffer;
  /** The browser that asked for it (a random id the page keeps), for one lab per browser. */
  client?: string;
  /** The client address it was created from (clientaddress.ts): the per-address cap counts these. */
  address: string;
  /** The last result of each exercise checked in this lab, by exercise id. */
  checks: Record<string, { status: CheckStatus; at: number }>;
}

const LAB_ID_BYTES = 6;
/** 256 bits: a token cannot be guessed, and only its hash is kept in memory. */
const TOKEN_BYTES = 32;
/**
 * Bridge driver option (libnetwork, all engines since 2019) that leaves the bridge without an
 * IPv4 address: the lab's gateway address then belongs to nobody, so nothing on the machine
 * answers a lab host.
 */
const INHIBIT_GATEWAY_OPTION = 'com.docker.network.bridge.inhibit_ipv4';
/** Bridge driver option naming the bridge interface on the machine. */
const BRIDGE_NAME_OPTION = 'com.docker.network.bridge.name';
/**
 * Longest a lab host runs without its CPU limit if its entrypoint never says it is ready or
 * failed (ms); normally the limit comes ~1.3 s after its engine starts.
 */
const BOOT_UNCAPPED_MAX_MS = 30_000;
/** lab-entrypoint's log lines that end its start-up: ready, or failed with a sentence. */
const BOOT_DONE_LOG = /\] (ready|FAILED)/;
/** How often to retry a subnet that another process took between our listing and our create. */
const SUBNET_RETRIES = 5;

const hashToken = (token: string) => createHash('sha256').update(token).digest();

/**
 * Run in each host of an adopted lab: end the learner shells the previous runner process had
 * open. Their sockets died with that process, and an exec'd shell outlives its attach stream
 * (it would hold its processes and its foreground job until the lab ends). In parallel, since
 * each waits up to a second for its session to exit.
 */
const END_ORPHANED_SHELLS = `for f in /run/lab/terms/*; do [ -e "$f" ] && ${LAB_HOST_PATHS.endTerminal} "\${f##*/}" & done; wait`;

/** What a lab host is told about its link, for lessons that put macvlan containers on it. */
function labEnv(spec: LabSpec, subnet: Cidr): string[] {
  if (!spec.macvlan) return [];
  return [
    `${MACVLAN_ENV.subnet}=${formatCidr(subnet)}`,
    `${MACVLAN_ENV.gateway}=${gatewayOf(subnet)}`,
    `${MACVLAN_ENV.range}=${formatCidr(halves(subnet)[1])}`,
  ];
}

/**
 * Size of a lab host's /run: its engine's sockets and state, network namespaces made by hand
 * (`ip netns add`) and the runner's files in /run/lab take a few hundred KiB.
 */
const RUN_TMPFS_SIZE = '64m';

/**
 * How a lab host runs, apart from its network: privileges (or another runtime) and the limits
 * of README's "Security" table, except the CPU limit, which startInTurn applies.
 */
function labHostConfig(c: Config, mode: PrivilegeMode): NonNullable<ContainerCreateOptions['HostConfig']> {
  return {
    // Under another runtime (e.g. sysbox-runc) dockerd runs unprivileged; otherwise the lab
    // host needs the capabilities of docker.ts: see README, "Security".
    ...(c.LAB_RUNTIME ? { Runtime: c.LAB_RUNTIME } : privilegeHostConfig(mode)),
    Memory: c.LAB_HOST_MEMORY,
    // Equal to Memory: no swap, so a memory hog meets the OOM killer inside its own lab.
    MemorySwap: c.LAB_HOST_MEMORY,
    PidsLimit: c.LAB_HOST_PIDS,
    // Nothing a learner writes may land on the machine's disk: the root is read-only, and every
    // writable place is a sized tmpfs, whose pages count against Memory. The inner engine's
    // storage has its own (overlay2 cannot sit on the outer overlay anyway); everything else a
    // learner writes shares one (lab-entrypoint puts /root, /tmp, /etc/docker... there).
    ReadonlyRootfs: true,
    Tmpfs: {
      [LAB_HOST_PATHS.dockerData]: dockerDataTmpfs(c.LAB_HOST_DOCKER_SIZE),
      [LAB_HOST_PATHS.files]: `rw,exec,nosuid,nodev,size=${c.LAB_HOST_FILES_SIZE}`,
      [LAB_HOST_PATHS.run]: `rw,exec,nosuid,nodev,mode=755,size=${RUN_TMPFS_SIZE}`,
    },
    LogConfig: { Type: 'json-file', Config: { 'max-size': c.LAB_HOST_LOG_SIZE, 'max-file': '1' } },
  };
}

function closeShells(lab: BuiltLab): void {
  for (const shell of lab.shells.values()) shell.close();
  lab.shells.clear();
}

type RemovalListener = (lab: Lab, reason: string) => void;

/** What adopt() found at start. */
export interface Adoption {
  adopted: number;
  /** Labs whose lifetime or idle time ended while no runner was there. */
  expired: number;
  /** Labs whose network or a host is gone or stopped. */
  broken: number;
  /** Containers and networks no kept lab owns (pooled labs, half-built ones, probes). */
  orphans: { containers: number; networks: number };
}

const recordOf = (lab: Lab): LabRecord => ({
  version: 1,
  id: lab.id,
  lesson: lab.lesson,
  shape: lab.shape,
  hosts: lab.hosts,
  networkName: lab.networkName,
  subnet: lab.subnet,
  env: lab.env,
  pooled: lab.pooled,
  tokenHash: lab.tokenHash.toString('hex'),
  ...(lab.client ? { client: lab.client } : {}),
  address: lab.address,
  createdAt: lab.createdAt,
  expiresAt: lab.expiresAt,
  lastActive: lab.lastActive,
  inUse: lab.openTerminals > 0,
  checks: lab.checks,
});

const labOf = (r: LabRecord): Lab => ({
  id: r.id,
  shape: r.shape,
  hosts: r.hosts,
  networkName: r.networkName,
  subnet: r.subnet,
  env: r.env,
  shells: new Map(),
  allStarted: Promise.resolve(),
  allStartedAt: performance.now(),
  cancelled: false,
  lesson: r.lesson,
  pooled: r.pooled,
  createdAt: r.createdAt,
  expiresAt: r.expiresAt,
  // A terminal was open when the runner went away: its learner was there, and their page is
  // reconnecting. The idle clock starts again now, not at their last keystroke before the gap.
  lastActive: r.inUse ? Date.now() : r.lastActive,
  openTerminals: 0,
  tokenHash: Buffer.from(r.tokenHash, 'hex'),
  ...(r.client ? { client: r.client } : {}),
  address: r.address,
  checks: r.checks as Lab['checks'],
});

export class LabManager {
  private readonly labs = new Map<string, Lab>();
  private readonly removalListeners = new Set<RemovalListener>();
  /** Lab removals under way, so that shutdown can wait for them. */
  private readonly removals = new Set<Promise<void>>();
  private privilegeMode?: Promise<PrivilegeMode>;
  /** Subnet choice and network creation run one at a time, so two labs never pick the same subnet. */
  private networkQueue: Promise<unknown> = Promise.resolve();
  private creating = 0;
  /** Labs being created per client address, so concurrent requests cannot pass the cap together. */
  private readonly creatingFrom = new Map<string, number>();
  /** Labs whose last activity changed since it was last written: written on the next sweep. */
  private readonly unsaved = new Set<string>();
  private readonly store: LabStore;
  /** Set by suspend(): labs are written as they were then, not as closing their terminals leaves them. */
  private suspended = false;
  private readonly log: (line: string) => void;
  private sweeper?: NodeJS.Timeout;
  private readonly docker: Docker;
  private readonly config: Config;
  private readonly manifest: LabManifest;
  /** Every lab shape the lessons use, with a spec that builds it. */
  private readonly shapes = new Map<string, LabSpec>();
  private readonly pool: WarmPool<BuiltLab>;

  constructor(docker: Docker, config: Config, manifest: LabManifest, log: (line: string) => void = () => {}) {
    this.docker = docker;
    this.config = config;
    this.manifest = manifest;
    this.log = log;
    this.store = new LabStore(config.stateDir, log);
    for (const lesson of Object.values(manifest.lessons)) this.shapes.set(labShape(lesson.lab), lesson.lab);
    this.pool = new WarmPool({
      size: config.LAB_POOL_SIZE,
      shapes: [...this.shapes.keys()],
      build: (shape) => this.build(shape),
      waitReady: async (built) => {
        await this.waitReady(built);
        await this.prepareShells(built);
      },
      discard: (built) => this.dismantle(built),
      log,
    });
  }

  get size(): number {
    return this.labs.size;
  }

  get poolStatus(): PoolStatus {
    return this.pool.status();
  }

  /** Start keeping LAB_POOL_SIZE labs of each shape ready (nothing with 0). */
  startPool(): void {
    this.pool.start();
  }

  get image(): string {
    return IMAGES.labHost(this.config.LAB_SUITE);
  }

  onRemoved(listener: RemovalListener): () => void {
    this.removalListeners.add(listener);
    return () => this.removalListeners.delete(listener);
  }

  /**
   * Create a lab for a lesson; resolves once every lab host is running (its inner dockerd may
   * still be starting). With LAB_ONE_PER_BROWSER, the client's previous labs are removed first.
   * `address` is who asked (clientaddress.ts): one address holds at most LAB_MAX_LABS_PER_ADDRESS.
   */
  async create(lesson: string, opts: { client?: string; address?: string } = {}): Promise<{ lab: Lab; token: string }> {
    const spec = this.manifest.lessons[lesson]?.lab;
    if (!spec) throw new LabError(API_ERRORS.unknownLesson, `There is no lesson "${lesson}" with a lab. Check the lesson name in the page address.`);
    const address = opts.address ?? 'local';
    if (opts.client && this.config.LAB_ONE_PER_BROWSER) {
      const previous = [...this.labs.values()].filter((l) => l.client === opts.client);
      await Promise.all(previous.map((l) => this.remove(l.id, 'You started a lab in another tab or lesson of this browser, so this one was stopped (one lab per browser).')));
    }
    if (this.labs.size + this.creating >= this.config.LAB_MAX_LABS) {
      const n = this.config.LAB_MAX_LABS;
      throw new LabError(API_ERRORS.capacity, `The workshop is full (${n} of ${n} labs in use); try again in a few minutes.`);
    }
    const held = [...this.labs.values()].filter((l) => l.address === address).length + (this.creatingFrom.get(address) ?? 0);
    if (held >= this.config.LAB_MAX_LABS_PER_ADDRESS) {
      const n = this.config.LAB_MAX_LABS_PER_ADDRESS;
      throw new LabError(API_ERRORS.addressFull, `Your address already holds ${n} lab${n === 1 ? '' : 's'}, the most one address may have at once. Stop a lab you no longer use (or wait until one expires), then start this one again.`);
    }
    this.creating++;
    this.creatingFrom.set(address, (this.creatingFrom.get(address) ?? 0) + 1);
    try {
      const shape = labShape(spec);
      const fromPool = this.pool.take(shape);
      const built = fromPool ?? (await this.build(shape));
      const token = randomBytes(TOKEN_BYTES).toString('base64url');
      const now = Date.now();
      const lab: Lab = {
        ...built,
        pooled: fromPool !== undefined,
        lesson,
        createdAt: now,
        expiresAt: now + this.config.LAB_MAX_LIFETIME * 1000,
        lastActive: now,
        openTerminals: 0,
        tokenHash: hashToken(token),
        ...(opts.client ? { client: opts.client } : {}),
        address,
        checks: {},
      };
      this.labs.set(lab.id, lab);
      this.store.save(recordOf(lab));
      return { lab, token };
    } finally {
      this.creating--;
      const left = (this.creatingFrom.get(address) ?? 1) - 1;
      if (left > 0) this.creatingFrom.set(address, left);
      else this.creatingFrom.delete(address);
    }
  }

  /** Resolves once every lab host of the lab has a working engine with its images (labhost.ts). */
  async waitReady(lab: BuiltLab): Promise<void> {
    await lab.allStarted;
    await Promise.all(lab.hosts.map((host) => waitForEngine(this.docker, host.containerName)));
  }

  /**
   * Start a login shell on every host, for the terminals the page opens as soon as the lab is
   * claimed: they then show a prompt that is already there (terminal.ts, PreparedShell).
   */
  private async prepareShells(lab: BuiltLab): Promise<void> {
    await Promise.all(lab.hosts.map(async (h) => lab.shells.set(h.name, await PreparedShell.start(this.docker, h.containerName))));
  }

  /** Resolves once this host's container was started (or failed to be), for its terminals. */
  whenStarted(lab: Lab, host: string): Promise<void> {
    return host === lab.hosts[0]?.name ? Promise.resolve() : lab.allStarted;
  }

  /** The prepared shell of this host, once: the first terminal opened there adopts it. */
  takeShell(lab: Lab, host: string): PreparedShell | undefined {
    const shell = lab.shells.get(host);
    lab.shells.delete(host);
    return shell;
  }

  /** The lab with this id if the token is its own; undefined otherwise (callers answer 404 either way). */
  authorize(id: string, token: string | null | undefined): Lab | undefined {
    if (!LAB_ID_PATTERN.test(id) || !token) return undefined;
    const lab = this.labs.get(id);
    if (!lab) return undefined;
    return timingSafeEqual(lab.tokenHash, hashToken(token)) ? lab : undefined;
  }

  /** The lab was used now. Written to disk on the next sweep, not on every keystroke. */
  touch(lab: Lab): void {
    lab.lastActive = Date.now();
    this.unsaved.add(lab.id);
  }

  /** Remember an exercise's check result in the lab (kept across restarts). */
  recordCheck(lab: Lab, exerciseId: string, status: CheckStatus): void {
    lab.checks[exerciseId] = { status, at: Date.now() };
    lab.lastActive = Date.now();
    this.save(lab);
  }

  private save(lab: Lab): void {
    this.unsaved.delete(lab.id);
    if (!this.suspended && this.labs.get(lab.id) === lab) this.store.save(recordOf(lab));
  }

  /** Write every lab whose last activity changed since it was last written. */
  private saveActivity(): void {
    for (const id of this.unsaved) {
      const lab = this.labs.get(id);
      if (lab) this.save(lab);
    }
    this.unsaved.clear();
  }

  terminalOpened(lab: Lab): void {
    lab.openTerminals++;
    this.touch(lab);
    if (lab.openTerminals === 1) this.save(lab);
  }

  terminalClosed(lab: Lab): void {
    lab.openTerminals = Math.max(0, lab.openTerminals - 1);
    this.touch(lab);
    if (lab.openTerminals === 0) this.save(lab);
  }

  /** When the lab will be removed if nothing more happens. */
  expiryOf(lab: Lab): number {
    if (lab.openTerminals > 0) return lab.expiresAt;
    return Math.min(lab.expiresAt, lab.lastActive + this.config.LAB_IDLE_TIMEOUT * 1000);
  }

  async remove(id: string, reason: string): Promise<boolean> {
    const lab = this.labs.get(id);
    if (!lab) return false;
    this.labs.delete(id);
    this.unsaved.delete(id);
    this.store.remove(id);
    for (const listener of this.removalListeners) listener(lab, reason);
    const removal = this.dismantle(lab);
    this.removals.add(removal);
    try {
      await removal;
    } finally {
      this.removals.delete(removal);
    }
    return true;
  }

  /** Remove every lab whose time is up, or whose lab host stopped; run periodically. */
  async sweep(now = Date.now()): Promise<void> {
    const due = [...this.labs.values()].filter((lab) => now >= this.expiryOf(lab));
    await Promise.all(
      due.map((lab) => this.remove(lab.id, now >= lab.expiresAt ? 'This lab reached its maximum lifetime and was removed.' : 'This lab was idle too long and was removed.')),
    );
    await this.removeDeadLabs();
    this.saveActivity();
  }

  /**
   * A lab host that stopped (killed, crashed, or the engine restarted and took it down) leaves a
   * lab nobody can use: remove it, saying why. One container listing per sweep covers all labs;
   * if the engine does not answer, labs stay until it does, and are checked then.
   */
  private async removeDeadLabs(): Promise<void> {
    if (this.labs.size === 0 && this.pool.status().ready === 0) return;
    const filters = JSON.stringify({ label: [`${LABELS.instance}=${this.config.LAB_INSTANCE}`, `${LABELS.role}=${ROLES.host}`] });
    // Only labs whose hosts all existed before the listing began can be judged by it: one that
    // finished starting while the engine answered (slow with a hundred labs) is not in it.
    const listedAt = performance.now();
    const judged = (lab: BuiltLab) => lab.allStartedAt !== undefined && lab.allStartedAt < listedAt;
    const containers = await this.docker.listContainers({ all: true, filters });
    const byHost = new Map(containers.map((c) => [`${c.Labels[LABELS.lab]}/${c.Labels[LABELS.host]}`, c]));
    await this.pool.prune((built) => judged(built) && built.hosts.some((h) => byHost.get(`${built.id}/${h.name}`)?.State !== 'running'));
    await Promise.all(
      [...this.labs.values()].filter(judged).map((lab) => {
        const dead = lab.hosts.find((h) => byHost.get(`${lab.id}/${h.name}`)?.State !== 'running');
        if (!dead) return;
        const c = byHost.get(`${lab.id}/${dead.name}`);
        return this.remove(lab.id, `Lab host ${dead.name} stopped (${c ? c.Status : 'it no longer exists'}), so this lab was removed. Start a new lab.`);
      }),
    );
  }

  startSweeper(): void {
    this.sweeper = setInterval(() => {
      this.sweep().catch((err) => this.log(`checking labs for expiry failed (retried in ${this.config.LAB_SWEEP_INTERVAL} s): ${describeDockerError(err, this.docker)}`));
    }, this.config.LAB_SWEEP_INTERVAL * 1000);
    this.sweeper.unref();
  }

  /**
   * At start: take over the labs an earlier runner process of this instance left, from their
   * kept state (store.ts). A lab is kept when its deadline has not passed and its network and
   * every host still exist and run; the shells that process had open are ended (their sockets
   * are gone) and each host gets its CPU limit again, in case that process died before giving
   * it. Everything else this instance labelled is removed: expired and broken labs, pooled
   * labs (nobody holds their token), half-built labs and probes.
   */
  async adopt(now = Date.now()): Promise<Adoption> {
    const records = this.store.loadAll();
    const filters = JSON.stringify({ label: [`${LABELS.instance}=${this.config.LAB_INSTANCE}`] });
    const [containers, networks] = await Promise.all([this.docker.listContainers({ all: true, filters }), this.docker.listNetworks({ filters })]);
    const running = new Set(containers.filter((c) => c.State === 'running').flatMap((c) => c.Names.map((n) => n.replace(/^\//, ''))));
    const networkNames = new Set(networks.map((n) => n.Name));
    const result: Adoption = { adopted: 0, expired: 0, broken: 0, orphans: { containers: 0, networks: 0 } };
    for (const record of records) {
      const lab = labOf(record);
      if (now >= this.expiryOf(lab)) {
        result.expired++;
        this.log(`lab ${lab.id} ended while the runner was not running (${now >= lab.expiresAt ? 'maximum lifetime' : 'idle timeout'}): removing it`);
      } else if (!networkNames.has(lab.networkName) || lab.hosts.some((h) => !running.has(h.containerName))) {
        result.broken++;
        this.log(`lab ${lab.id} lost its network or a host while the runner was not running: removing it`);
      } else {
        this.labs.set(lab.id, lab);
        result.adopted++;
        continue;
      }
      this.store.remove(lab.id);
    }
    const owned = (labels: Record<string, string> | undefined) => this.labs.has(labels?.[LABELS.lab] ?? '');
    const strayContainers = containers.filter((c) => !owned(c.Labels));
    await Promise.all(strayContainers.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
    const strayNetworks = networks.filter((n) => !owned(n.Labels));
    await Promise.all(strayNetworks.map((n) => this.docker.getNetwork(n.Id).remove().catch(() => {})));
    result.orphans = { containers: strayContainers.length, networks: strayNetworks.length };
    await Promise.all([...this.labs.values()].flatMap((lab) => lab.hosts.map((h) => this.reviveHost(h))));
    return result;
  }

  private async reviveHost(host: LabHost): Promise<void> {
    const container = this.docker.getContainer(host.containerName);
    await Promise.all([
      execCollect(this.docker, host.containerName, ['sh', '-c', END_ORPHANED_SHELLS]).catch(() => {}),
      container.update({ NanoCpus: Math.round(this.config.LAB_HOST_CPUS * 1e9) }).catch(() => {}),
    ]);
  }

  /**
   * Remove every container and network this runner instance ever labelled, and forget its
   * kept labs: `npm run labs:remove-all`, and a verify run's clean start.
   */
  async reapAll(): Promise<{ containers: number; networks: number }> {
    const removed = await this.removeLabelled([]);
    this.store.removeAll();
    return removed;
  }

  /**
   * Stop without ending any lab (SIGTERM, e.g. for an upgrade): write every lab's state, remove
   * the pooled labs nobody holds, and let removals already under way finish. The next runner
   * process of this instance adopts the labs. Call it before closing the terminals: what it
   * writes is taken synchronously, at the call.
   */
  async suspend(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    // Written as they are now, before the server closes their terminals: a lab in use stays
    // marked in use for the next process (its learner's page is about to reconnect).
    for (const lab of this.labs.values()) this.save(lab);
    this.unsaved.clear();
    this.suspended = true;
    await this.pool.drain();
    await Promise.allSettled([...this.removals]);
  }

  /** Stop and remove every lab (lesson verification, tests): nothing of this instance is left. */
  async shutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.pool.drain();
    await Promise.all([...this.labs.keys()].map((id) => this.remove(id, 'The lab server is shutting down; this lab was removed.')));
    // Removals the sweeper or a DELETE started must finish too: a network cannot be removed
    // while its container is still going, and the process exits right after this.
    await Promise.allSettled([...this.removals]);
    await this.reapAll().catch(() => {});
  }

  private ensurePrivilegeMode(): Promise<PrivilegeMode> {
    // Another runtime (LAB_RUNTIME) gets no privileges: nothing to probe.
    if (this.config.LAB_HOST_PRIVILEGES !== 'auto' || this.config.LAB_RUNTIME) return Promise.resolve(this.config.LAB_HOST_PRIVILEGES === 'auto' ? 'capabilities' : this.config.LAB_HOST_PRIVILEGES);
    this.privilegeMode ??= (async () => {
      try {
        await this.docker.getImage(this.image).inspect();
      } catch (err) {
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
        throw new LabError(API_ERRORS.imageMissing, `The lab host image ${this.image} is not built yet. Run "npm run build:images" (npm start does it too), then start the lab again.`);
      }
      const mode = await detectPrivilegeMode(this.docker, this.image, this.config.LAB_INSTANCE);
      this.log(mode === 'privileged'
        ? 'lab hosts run with --privileged: the capabilities form does not start on this engine'
        : `lab hosts run with the capabilities form (Docker's defaults plus ${LAB_HOST_CAPABILITIES.join(', ')}), not --privileged`);
      return mode;
    })();
    // A failed probe (engine down, image missing) is retried on the next request, not cached.
    this.privilegeMode.catch(() => { this.privilegeMode = undefined; });
    return this.privilegeMode;
  }

  /**
   * Build a lab of this shape on the engine: its network, then its hosts, started (their engines
   * may still be starting). On failure nothing of it is left behind.
   */
  private async build(shape: string): Promise<BuiltLab> {
    const spec = this.shapes.get(shape);
    if (!spec) throw new Error(`no lesson has a lab of shape ${shape}`);
    const id = randomBytes(LAB_ID_BYTES).toString('hex');
    const hosts = spec.hosts.map((name) => ({ name, containerName: labHostContainerName(id, name) }));
    try {
      const mode = await this.ensurePrivilegeMode();
      const networkName = labNetworkName(id);
      const subnet = await this.createNetwork(id, shape, networkName, spec);
      const built: BuiltLab = {
        id, shape, hosts, networkName, subnet: formatCidr(subnet), env: labEnv(spec, subnet),
        shells: new Map(), allStarted: Promise.resolve(), cancelled: false,
      };
      await this.startHost(built, hosts[0]!, mode);
      this.startInTurn(built, mode);
      return built;
    } catch (err) {
      await this.removeObjects(id).catch(() => {});
      if (err instanceof LabError) throw err;
      throw new LabError(API_ERRORS.dockerError, describeDockerError(err, this.docker));
    }
  }

  private labels(labId: string, shape: string, role: string): Record<string, string> {
    return { [LABELS.instance]: this.config.LAB_INSTANCE, [LABELS.lab]: labId, [LABELS.shape]: shape, [LABELS.role]: role };
  }

  private createNetwork(labId: string, shape: string, name: string, spec: LabSpec): Promise<Cidr> {
    const task = this.networkQueue.then(async () => {
      const pool = parseCidr(this.config.LAB_SUBNET_POOL)!;
      // Subnets another engine user took between our listing and our create: skip them on the
      // next attempt, or two runners sharing an engine would keep colliding on the same one.
      const taken: Cidr[] = [];
      for (let attempt = 0; attempt < SUBNET_RETRIES; attempt++) {
        const used = [...(await this.usedSubnets()), ...taken];
        const subnet = firstFreeSubnet(pool, this.config.LAB_SUBNET_PREFIX, used);
        if (!subnet) {
          throw new LabError(API_ERRORS.noSubnet, `No free subnet is left in LAB_SUBNET_POOL ${this.config.LAB_SUBNET_POOL}; remove some labs or give the runner a larger pool.`);
        }
        try {
          await this.docker.createNetwork({
            Name: name,
            Driver: 'bridge',
            // No route out: labs reach nothing but their own hosts (README, "Security").
            Internal: true,
            // And no address for the machine on the lab's bridge: an internal network only stops
            // forwarding, so a lab host could otherwise reach every service of the machine itself
            // (the runner's port, sshd) through the gateway address.
            // Named by the runner, so that it knows which bridge to switch IPv6 off on below.
            Options: { [INHIBIT_GATEWAY_OPTION]: 'true', [BRIDGE_NAME_OPTION]: labBridgeName(labId) },
            CheckDuplicate: true,
            IPAM: {
              Driver: 'default',
              Config: [{
                Subnet: formatCidr(subnet),
                Gateway: gatewayOf(subnet),
                // Keep the upper half free for the learner's macvlan containers on this link.
                ...(spec.macvlan ? { IPRange: formatCidr(halves(subnet)[0]) } : {}),
              }],
            },
            Labels: this.labels(labId, shape, ROLES.network),
          });
          // inhibit_ipv4 leaves the machine no IPv4 address on the lab network; this takes away
          // its IPv6 link-local one (bridges.ts).
          await disableBridgeIpv6(this.docker, labBridgeName(labId), { image: this.image, instance: this.config.LAB_INSTANCE }).catch((err: Error) => {
            throw new LabError(API_ERRORS.bridgeSetup, err.message);
          });
          return subnet;
        } catch (err) {
          // Another engine user took the subnet between our listing and our create: try the next one.
          // The engine says so as an overlap, or, when both creates reach IPAM together, as the
          // gateway address being in use.
          if (!/overlap|failed to allocate gateway|already in use/i.test(String((err as Error).message))) throw err;
          taken.push(subnet);
        }
      }
      throw new LabError(API_ERRORS.noSubnet, 'Could not find a free subnet for the lab network; try again.');
    });
    this.networkQueue = task.catch(() => {});
    return task;
  }

  private async usedSubnets(): Promise<Cidr[]> {
    const networks = await this.docker.listNetworks();
    return networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => parseCidr(c.Subnet ?? '')).filter((c): c is Cidr => !!c));
  }

  private async startHost(lab: BuiltLab, host: LabHost, mode: PrivilegeMode): Promise<void> {
    const container = await this.docker.createContainer({
      name: host.containerName,
      Hostname: host.name,
      Image: this.image,
      Env: ['TERM=xterm-256color', ...lab.env],
      Labels: { ...this.labels(lab.id, lab.shape, ROLES.host), [LABELS.host]: host.name },
      HostConfig: { ...labHostConfig(this.config, mode), NetworkMode: lab.networkName },
      NetworkingConfig: { EndpointsConfig: { [lab.networkName]: { Aliases: [host.name] } } },
    });
    await container.start();
  }

  /**
   * With the first host started, start the others one at a time, each once the previous host's
   * engine is up, and give each host its CPU limit once its own engine is up. In the background:
   * terminals on a later host wait for it (whenStarted), and lab-shell for its engine.
   *
   * One at a time, because two at once slow each other down on a 2-core machine: a container
   * start costs the outer engine ~1 s of CPU, and an engine start ~1.2 s. The second host's
   * start pushed the first host's engine from ~1.3 s to ~1.9 s, and the first prompt with it.
   *
   * Without its CPU limit while it starts, because a CFS quota of one CPU throttles dockerd's
   * start-up bursts (Go threads, a hundred iptables calls): its engine answered after ~1.25 s
   * capped against ~1.08 s uncapped here (three runs each). The limit protects other labs from
   * a running lab, not from its first second.
   */
  private startInTurn(lab: BuiltLab, mode: PrivilegeMode): void {
    let startedAll!: () => void;
    lab.allStarted = new Promise<void>((resolve) => (startedAll = resolve)).then(() => {
      lab.allStartedAt = performance.now();
    });
    void (async () => {
      try {
        for (const [i, host] of lab.hosts.entries()) {
          if (i > 0) {
            if (lab.cancelled) break;
            // If this fails, its terminal says the host does not exist and the sweeper removes the lab.
            await this.startHost(lab, host, mode);
          }
          if (i === lab.hosts.length - 1) startedAll();
          const container = this.docker.getContainer(host.containerName);
          await this.startUpEnded(container);
          await container.update({ NanoCpus: Math.round(this.config.LAB_HOST_CPUS * 1e9) }).catch(() => {});
        }
      } catch {
        // The lab is being removed, or a host could not be started (see above).
      } finally {
        startedAll();
      }
    })();
  }

  /**
   * Remove a lab's engine objects. A host start may be under way (startInTurn): remove what
   * exists, which also ends the wait for it, and then once more what that start created.
   */
  private async dismantle(lab: BuiltLab): Promise<void> {
    lab.cancelled = true;
    closeShells(lab);
    await this.removeObjects(lab.id);
    await lab.allStarted;
    await this.removeObjects(lab.id);
  }

  /**
   * Resolves when the lab host's entrypoint logs that start-up is over (ready or failed), its
   * log ends, or after BOOT_UNCAPPED_MAX_MS. Reading the log runs nothing inside the host.
   */
  private async startUpEnded(container: Docker.Container): Promise<void> {
    try {
      const logs = (await container.logs({ follow: true, stdout: true, stderr: true })) as unknown as NodeJS.ReadableStream & { destroy(): void };
      await new Promise<void>((resolve) => {
        let seen = '';
        const done = () => {
          clearTimeout(timer);
          logs.destroy();
          resolve();
        };
        const timer = setTimeout(done, BOOT_UNCAPPED_MAX_MS);
        // The stream is multiplexed (8-byte frame headers), which a search for the line ignores.
        logs.on('data', (chunk: Buffer) => {
          seen = (seen + chunk.toString('latin1')).slice(-4096);
          if (BOOT_DONE_LOG.test(seen)) done();
        });
        logs.once('end', done);
        logs.on('error', done);
      });
    } catch {
      // No logs: the host is already gone, and what the caller does next fails quietly too.
    }
  }

  private async removeObjects(labId: string): Promise<void> {
    await this.removeLabelled([`${LABELS.lab}=${labId}`]);
  }

  /** Remove this instance's containers (with their anonymous volumes), then its networks, matching `labels`. */
  private async removeLabelled(labels: string[]): Promise<{ containers: number; networks: number }> {
    const filters = JSON.stringify({ label: [`${LABELS.instance}=${this.config.LAB_INSTANCE}`, ...labels] });
    const containers = await this.docker.listContainers({ all: true, filters });
    await Promise.all(containers.map((c) => this.docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
    const networks = await this.docker.listNetworks({ filters });
    await Promise.all(networks.map((n) => this.docker.getNetwork(n.Id).remove().catch(() => {})));
    return { containers: containers.length, networks: networks.length };
  }
}
