/**
 * Labs on the Docker Engine: building one (an internal network with a subnet of its own, then
 * one lab host container per host of its shape, started one at a time and given their CPU limit
 * once their own engine is up), waiting until it is ready and preparing its first shells,
 * listing and removing what this runner instance labelled, and reviving the hosts of labs taken
 * over from an earlier process. Everything is labelled with the runner's instance, so a later
 * process finds what an earlier one left.
 *
 * It deliberately decides nothing about a lab's life (who holds it, when it ends, what is kept):
 * that is registry.ts, which it serves through labs.ts. It does not speak HTTP or bridge terminals.
 */
import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { API_ERRORS, type EngineOffer, type Isolation } from '../../contract/api.ts';
import { MACVLAN_ENV, engineById, type Engine, type LabSpec } from '../../contract/labspec.ts';
import { disableBridgeIpv6, labBridgeName } from './bridges.ts';
import type { Config } from './config.ts';
import { describeDockerError, detectPrivilegeMode, LAB_HOST_CAPABILITIES, privilegeHostConfig, type PrivilegeMode } from './docker.ts';
import { delegateCgroups, isolationOf, remapsUsers } from './userns.ts';
import { LabError } from './errors.ts';
import { execCollect, waitForEngine } from './labhost.ts';
import { isPreparing } from './preparing.ts';
import { IMAGES, LABELS, LAB_HOST_ENV, LAB_HOST_PATHS, ROLES, dockerDataTmpfs, labHostContainerName, labNetworkName } from './names.ts';
import type { BuiltLab, EngineListing, HostListing, LabHost } from './registry.ts';
import { makeLabId } from './store.ts';
import { firstFreeSubnet, formatCidr, gatewayOf, halves, parseCidr, type Cidr } from './subnets.ts';
import { PreparedShell } from './terminal.ts';

const LAB_ID_BYTES = 6;
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
/**
 * Size of a lab host's /run: its engine's sockets and state, network namespaces made by hand
 * (`ip netns add`) and the runner's files in /run/lab take a few hundred KiB.
 */
const RUN_TMPFS_SIZE = '64m';
/**
 * How long the engines on offer (one image inspect per configured engine) are reused (ms): GET
 * /api/health needs no credentials, and images appear while the runner serves (preparing.ts),
 * so a short while, as for the engine's status in routes.ts.
 */
const OFFERS_CACHE_MS = 2_000;

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

export class DockerLabs {
  private readonly docker: Docker;
  private readonly config: Config;
  /** Every lab shape the lessons use, with a spec that builds it. */
  private readonly shapes: ReadonlyMap<string, LabSpec>;
  private readonly log: (line: string) => void;
  private privilegeMode?: Promise<PrivilegeMode>;
  /** Whether the engine remaps user namespaces (userns.ts), asked once; and its answer once there is one. */
  private remapped?: Promise<boolean>;
  private remappedAnswer?: boolean;
  /** Subnet choice and network creation run one at a time, so two labs never pick the same subnet. */
  private networkQueue: Promise<unknown> = Promise.resolve();
  private offered?: { at: number; offers: Promise<EngineOffer[]> };

  constructor(docker: Docker, config: Config, shapes: ReadonlyMap<string, LabSpec>, log: (line: string) => void) {
    this.docker = docker;
    this.config = config;
    this.shapes = shapes;
    this.log = log;
  }

  /** The lab host image that runs this Docker Engine. */
  imageOf(engine: Engine): string {
    return IMAGES.labHost(engine.suite);
  }

  /**
   * The configured engines (LAB_ENGINES) labs can run now, in their order: those whose lab host
   * image exists, and those whose image is being built (`preparing`). An engine the Engine API
   * could not be asked about is offered: starting its lab then says what is wrong.
   */
  offers(): Promise<EngineOffer[]> {
    if (!this.offered || performance.now() - this.offered.at > OFFERS_CACHE_MS) {
      const offers = Promise.all(this.config.engines.map(async (engine): Promise<EngineOffer | undefined> => {
        const offer = { id: engine.id, version: engine.version };
        try {
          await this.docker.getImage(this.imageOf(engine)).inspect();
        } catch (err) {
          // An image being rebuilt (out of date) still serves; one being built for the first time does not yet.
          if ((err as { statusCode?: number }).statusCode === 404) return isPreparing(engine.suite) ? { ...offer, state: 'preparing' } : undefined;
        }
        return { ...offer, state: 'ready' };
      })).then((all) => all.filter((o): o is EngineOffer => o !== undefined));
      this.offered = { at: performance.now(), offers };
    }
    return this.offered.offers;
  }

  /** An engine error as a sentence a person can act on (docker.ts). */
  describeError(err: unknown): string {
    return describeDockerError(err, this.docker);
  }

  /**
   * Build a lab of this shape on the engine: its network, then its hosts, started (their engines
   * may still be starting). On failure nothing of it is left behind.
   */
  async build(shape: string, engine: Engine): Promise<BuiltLab> {
    const spec = this.shapes.get(shape);
    if (!spec) throw new Error(`no lesson has a lab of shape ${shape}`);
    const id = makeLabId(randomBytes(LAB_ID_BYTES).toString('hex'), this.config.LAB_CELL);
    const hosts = spec.hosts.map((name) => ({ name, containerName: labHostContainerName(id, name) }));
    try {
      await this.ensureImage(engine);
      const mode = await this.ensurePrivilegeMode(this.imageOf(engine));
      const networkName = labNetworkName(id);
      const subnet = await this.createNetwork(id, shape, networkName, spec, engine);
      const built: BuiltLab = {
        id, shape, engine: engine.id, hosts, networkName, subnet: formatCidr(subnet), env: labEnv(spec, subnet),
        shells: new Map(), allStarted: Promise.resolve(), cancelled: false,
      };
      await this.startHost(built, hosts[0]!, mode);
      this.startInTurn(built, mode);
      return built;
    } catch (err) {
      await this.removeLab(id).catch(() => {});
      if (err instanceof LabError) throw err;
      throw new LabError(API_ERRORS.dockerError, describeDockerError(err, this.docker));
    }
  }

  /** Resolves once every lab host of the lab has a working engine with its images (labhost.ts). */
  async waitReady(lab: BuiltLab): Promise<void> {
    await lab.allStarted;
    await Promise.all(lab.hosts.map((host) => this.waitHostReady(host)));
  }

  /** Resolves once this lab host's engine works with its images; rejects with the host's own sentence, or after LAB_READY_TIMEOUT. */
  waitHostReady(host: LabHost): Promise<void> {
    return waitForEngine(this.docker, host.containerName, this.config.LAB_READY_TIMEOUT);
  }

  /**
   * Start a login shell on every host, for the terminals the page opens as soon as the lab is
   * claimed: they then show a prompt that is already there (terminal.ts, PreparedShell).
   */
  async prepareShells(lab: BuiltLab): Promise<void> {
    await Promise.all(lab.hosts.map(async (h) => lab.shells.set(h.name, await PreparedShell.start(this.docker, h.containerName))));
  }

  /**
   * Remove a lab's engine objects. A host start may be under way (startInTurn): remove what
   * exists, which also ends the wait for it, and then once more what that start created.
   */
  async dismantle(lab: BuiltLab): Promise<void> {
    lab.cancelled = true;
    closeShells(lab);
    await this.removeLab(lab.id);
    await lab.allStarted;
    await this.removeLab(lab.id);
  }

  /** This instance's lab host containers as they are now (one listing, for every lab). */
  async listHosts(): Promise<HostListing> {
    // Only labs whose hosts all existed before the listing began can be judged by it: one that
    // finished starting while the engine answered (slow with a hundred labs) is not in it.
    const listedAt = performance.now();
    const containers = await this.docker.listContainers({ all: true, filters: this.filters([`${LABELS.role}=${ROLES.host}`]) });
    return {
      listedAt,
      hosts: new Map(containers.map((c) => [`${c.Labels[LABELS.lab]}/${c.Labels[LABELS.host]}`, { running: c.State === 'running', status: c.Status }])),
    };
  }

  /**
   * Every container and network of this instance, but its lab engine: a runner started with
   * LAB_OWN_ENGINE=0 on the machine where an earlier one ran with it must not take that engine,
   * with every lab in it, for a stray (labs:remove-all removes it).
   */
  async listAll(): Promise<EngineListing> {
    const filters = this.filters([]);
    const [containers, networks] = await Promise.all([this.docker.listContainers({ all: true, filters }), this.docker.listNetworks({ filters })]);
    return {
      containers: containers.filter((c) => c.Labels?.[LABELS.role] !== ROLES.labEngine).map((c) => ({ id: c.Id, names: c.Names.map((n) => n.replace(/^\//, '')), running: c.State === 'running', lab: c.Labels?.[LABELS.lab] })),
      networks: networks.map((n) => ({ id: n.Id, name: n.Name, lab: n.Labels?.[LABELS.lab] })),
    };
  }

  /** Remove these containers, then these networks (a network goes only once its containers have). */
  async removeListed(objects: EngineListing): Promise<void> {
    await this.removeContainers(objects.containers.map((c) => c.id));
    await this.removeNetworks(objects.networks.map((n) => n.id));
  }

  /** End the shells an earlier runner process left open in these hosts, and give each its CPU limit. */
  async revive(hosts: LabHost[]): Promise<void> {
    await Promise.all(hosts.map((host) => {
      const container = this.docker.getContainer(host.containerName);
      return Promise.all([
        execCollect(this.docker, host.containerName, ['sh', '-c', END_ORPHANED_SHELLS]).catch(() => {}),
        this.capCpu(container),
        // A runner killed between a host's start and its cgroups' handing over leaves it unable
        // to run containers: hand them over now (a host that has them is left as it is).
        this.delegate(host.containerName).catch((err: Error) => this.log(`lab host ${host.containerName}: ${err.message}`)),
      ]);
    }));
  }

  /** Remove this instance's containers (with their anonymous volumes), then its networks, matching `labels`. */
  async removeLabelled(labels: string[]): Promise<{ containers: number; networks: number }> {
    const filters = this.filters(labels);
    const containers = await this.docker.listContainers({ all: true, filters });
    await this.removeContainers(containers.map((c) => c.Id));
    const networks = await this.docker.listNetworks({ filters });
    await this.removeNetworks(networks.map((n) => n.Id));
    return { containers: containers.length, networks: networks.length };
  }

  private async removeContainers(ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.docker.getContainer(id).remove({ force: true, v: true }).catch(() => {})));
  }

  private async removeNetworks(ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.docker.getNetwork(id).remove().catch(() => {})));
  }

  private removeLab(labId: string): Promise<{ containers: number; networks: number }> {
    return this.removeLabelled([`${LABELS.lab}=${labId}`]);
  }

  /** An Engine API label filter: this instance's objects, and `labels` besides. */
  private filters(labels: string[]): string {
    return JSON.stringify({ label: [`${LABELS.instance}=${this.config.LAB_INSTANCE}`, ...labels] });
  }

  private labels(labId: string, shape: string, role: string): Record<string, string> {
    return { [LABELS.instance]: this.config.LAB_INSTANCE, [LABELS.lab]: labId, [LABELS.shape]: shape, [LABELS.role]: role };
  }

  /** Give a lab host its CPU limit (LAB_HOST_CPUS); a host already gone is no error. */
  private async capCpu(container: Docker.Container): Promise<void> {
    await container.update({ NanoCpus: Math.round(this.config.LAB_HOST_CPUS * 1e9) }).catch(() => {});
  }

  /** Throw a LabError saying what to run when the engine's lab host image is not built. */
  private async ensureImage(engine: Engine): Promise<void> {
    const image = this.imageOf(engine);
    try {
      await this.docker.getImage(image).inspect();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) throw err;
      throw new LabError(API_ERRORS.imageMissing, isPreparing(engine.suite)
        ? `The lab host image for Docker Engine ${engine.version} is still being built; try again in a few minutes.`
        : `The lab host image ${image} (Docker Engine ${engine.version}) is not built yet. Run "npm run build:images -- --suite ${engine.suite}" (npm start does it too), then start the lab again.`);
    }
  }

  /** The privileges lab hosts get, probed once with `image` (any lab host image will do). */
  private ensurePrivilegeMode(image: string): Promise<PrivilegeMode> {
    // Another runtime (LAB_RUNTIME) gets no privileges: nothing to probe.
    if (this.config.LAB_RUNTIME) return Promise.resolve(this.config.LAB_HOST_PRIVILEGES === 'auto' ? 'capabilities' : this.config.LAB_HOST_PRIVILEGES);
    // A form set by hand is logged once too, as auto's choice is: the log says which one ran.
    const fixed = this.config.LAB_HOST_PRIVILEGES;
    if (fixed !== 'auto') {
      if (!this.privilegeMode) {
        this.log(`lab hosts run with ${fixed === 'privileged' ? '--privileged' : 'the capabilities form'}, as LAB_HOST_PRIVILEGES=${fixed} says`);
        this.privilegeMode = Promise.resolve(fixed);
      }
      return this.privilegeMode;
    }
    this.privilegeMode ??= (async () => {
      // A remapping engine refuses --privileged ("privileged mode is incompatible with user
      // namespaces"), and the capabilities form is what keeps a lab host's root unprivileged
      // there: never the other form, nor --userns=host.
      if (await this.remapsUsers()) {
        this.log(`lab hosts run with the capabilities form (Docker's defaults plus ${LAB_HOST_CAPABILITIES.join(', ')}) under the engine's user-namespace remapping: their root is an unprivileged user on this machine`);
        return 'capabilities';
      }
      const mode = await detectPrivilegeMode(this.docker, image, this.config.LAB_INSTANCE);
      this.log(mode === 'privileged'
        ? 'lab hosts run with --privileged: the capabilities form does not start on this engine'
        : `lab hosts run with the capabilities form (Docker's defaults plus ${LAB_HOST_CAPABILITIES.join(', ')}), not --privileged`);
      return mode;
    })();
    // A failed probe (engine down) is retried on the next request, not cached.
    this.privilegeMode.catch(() => { this.privilegeMode = undefined; });
    return this.privilegeMode;
  }

  /**
   * The lab's network, on the first subnet of LAB_SUBNET_POOL no network on the engine uses.
   * One at a time (networkQueue), and retried on the next subnet when another engine user took
   * this one between our listing and our create.
   */
  private createNetwork(labId: string, shape: string, name: string, spec: LabSpec, engine: Engine): Promise<Cidr> {
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
          await this.createNetworkOn(subnet, labId, shape, name, spec, engine);
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

  /** Create the lab's network on `subnet` and switch IPv6 off on its bridge (bridges.ts). */
  private async createNetworkOn(subnet: Cidr, labId: string, shape: string, name: string, spec: LabSpec, engine: Engine): Promise<void> {
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
    await disableBridgeIpv6(this.docker, labBridgeName(labId), { image: this.imageOf(engine), instance: this.config.LAB_INSTANCE }).catch((err: Error) => {
      throw new LabError(API_ERRORS.bridgeSetup, err.message);
    });
  }

  private async usedSubnets(): Promise<Cidr[]> {
    const networks = await this.docker.listNetworks();
    return networks.flatMap((n) => (n.IPAM?.Config ?? []).map((c) => parseCidr(c.Subnet ?? '')).filter((c): c is Cidr => !!c));
  }

  private async startHost(lab: BuiltLab, host: LabHost, mode: PrivilegeMode): Promise<void> {
    const container = await this.docker.createContainer({
      name: host.containerName,
      Hostname: host.name,
      Image: this.imageOf(engineById(lab.engine)!),
      Env: ['TERM=xterm-256color', `${LAB_HOST_ENV.engineStartTimeout}=${this.config.LAB_ENGINE_START_TIMEOUT}`, ...lab.env],
      Labels: { ...this.labels(lab.id, lab.shape, ROLES.host), [LABELS.host]: host.name },
      HostConfig: { ...labHostConfig(this.config, mode), NetworkMode: lab.networkName },
      NetworkingConfig: { EndpointsConfig: { [lab.networkName]: { Aliases: [host.name] } } },
    });
    await container.start();
    await this.delegate(container.id);
  }

  /**
   * Under an engine that remaps user namespaces, hand the lab host its own cgroups (userns.ts)
   * before anything reports it ready: its engine's containers cannot start until then. Under
   * another runtime (LAB_RUNTIME) the runtime provides what dockerd needs.
   */
  private async delegate(container: string): Promise<void> {
    if (this.config.LAB_RUNTIME || !(await this.remapsUsers())) return;
    await delegateCgroups(this.docker, container, this.config.LAB_INSTANCE).catch((err: Error) => {
      throw new LabError(API_ERRORS.dockerError, `Could not hand a lab host its own cgroups on this engine, which remaps user namespaces (${err.message}); its containers could not start, so the lab was not started.`);
    });
  }

  /** The mode labs run in, as the engine last said (null before it answered: see remapsUsers). */
  get isolation(): Isolation | null {
    return this.remappedAnswer === undefined ? null : isolationOf(this.remappedAnswer);
  }

  /** Whether the engine remaps user namespaces; asked once (a failed question is asked again). */
  remapsUsers(): Promise<boolean> {
    this.remapped ??= this.docker.info().then((info) => (this.remappedAnswer = remapsUsers(info as { SecurityOptions?: string[] })));
    this.remapped.catch(() => { this.remapped = undefined; });
    return this.remapped;
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
          await this.capCpu(container);
        }
      } catch {
        // The lab is being removed, or a host could not be started (see above).
      } finally {
        startedAll();
      }
    })();
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
}
