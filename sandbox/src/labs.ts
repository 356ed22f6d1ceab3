/**
 * The runner's labs, as its HTTP API, terminals and scripts use them: the registry (registry.ts:
 * which labs exist, their tokens, limits, lifetimes and kept state) given an engine side made of
 * the labs on Docker (engine.ts) and the warm pool (pool.ts), which builds labs of each shape
 * ahead. A lab runs the Docker Engine its learner chose among those on offer (engine.ts offers);
 * it comes from the pool when it has one of the right shape on that engine, and is built on the
 * spot otherwise. The pool keeps labs of the default engine only, other engines' for a room: an
 * instructor warms the pool for a room here (warmForRoom: lesson to lab shape and engine,
 * roomfit.ts says whether it fits). This module only wires them together and runs the periodic
 * sweep; it decides nothing about a lab's life and builds nothing itself, and does not speak HTTP
 * or bridge terminals.
 */
import { freemem } from 'node:os';
import type Docker from 'dockerode';
import { API_ERRORS, type CheckStatus, type EngineOffer, type HealthStatus, type Isolation, type PoolShape, type WarmRequest } from '../../contract/api.ts';
import { engineById, labShape, type Engine, type EngineId, type LabManifest, type LabSpec } from '../../contract/labspec.ts';
import type { RunnerNotice } from '../../contract/protocol.ts';
import type { Config } from './config.ts';
import { DockerLabs } from './engine.ts';
import { LabError } from './errors.ts';
import { WarmPool, type ShapeStatus } from './pool.ts';
import { LabRegistry, stoppedHost, type Adoption, type BuiltLab, type ChangeListener, type HostListing, type Lab, type RemovalListener } from './registry.ts';
import { planRoom } from './roomfit.ts';
import { LabStore } from './store.ts';
import type { PreparedShell } from './terminal.ts';

export type { Adoption, BuiltLab, Lab, LabHost, LastCheck } from './registry.ts';

/** The warm pool's key for labs of a lesson shape on an engine: "host1,host2@26". */
const poolKey = (shape: string, engine: EngineId) => `${shape}@${engine}`;
const fromPoolKey = (key: string) => {
  const at = key.lastIndexOf('@');
  return { shape: key.slice(0, at), engine: key.slice(at + 1) as EngineId };
};

/** Engines as a sentence's list: "28 (Docker Engine 28.5.2) and 26 (Docker Engine 26.1.5)". */
const engineList = (engines: readonly { id: string; version: string }[]): string => {
  const named = engines.map((e) => `${e.id} (Docker Engine ${e.version})`);
  return named.length < 2 ? (named[0] ?? '') : `${named.slice(0, -1).join(', ')} and ${named.at(-1)}`;
};

export class LabManager {
  private readonly registry: LabRegistry;
  private readonly engine: DockerLabs;
  private readonly pool: WarmPool<BuiltLab>;
  private readonly store: LabStore;
  private readonly config: Config;
  private readonly manifest: LabManifest;
  /** Every lab shape the lessons use, with a spec that builds it and the lessons that use it. */
  private readonly shapes = new Map<string, { spec: LabSpec; lessons: string[] }>();
  private readonly log: (line: string) => void;
  private sweeper?: NodeJS.Timeout;
  /** Per lab built on request: its hosts whose own engine is not ready yet (startingHosts). */
  private readonly starting = new Map<string, Set<string>>();
  private readonly startListeners = new Set<(lab: Lab) => void>();

  constructor(docker: Docker, config: Config, manifest: LabManifest, log: (line: string) => void = () => {}) {
    this.config = config;
    this.manifest = manifest;
    this.log = log;
    for (const [slug, lesson] of Object.entries(manifest.lessons)) {
      const shape = labShape(lesson.lab);
      this.shapes.set(shape, { spec: lesson.lab, lessons: [...(this.shapes.get(shape)?.lessons ?? []), slug] });
    }
    const specs = new Map([...this.shapes].map(([shape, { spec }]) => [shape, spec]));
    const engine = new DockerLabs(docker, config, specs, log);
    // LAB_POOL_SIZE labs of each shape on the default engine; other engines' only for a room
    // (warmForRoom): most learners keep the default, and each pooled lab holds memory.
    const poolSizes = new Map([...this.shapes.keys()].flatMap((shape) =>
      config.engines.map((e, i) => [poolKey(shape, e.id), i === 0 ? config.LAB_POOL_SIZE : 0] as const)));
    const pool = new WarmPool<BuiltLab>({
      shapes: poolSizes,
      build: (key) => {
        const { shape, engine: id } = fromPoolKey(key);
        return engine.build(shape, engineById(id)!);
      },
      waitReady: async (built) => {
        await engine.waitReady(built);
        await engine.prepareShells(built);
      },
      discard: (built) => engine.dismantle(built),
      log,
    });
    this.engine = engine;
    this.pool = pool;
    this.store = new LabStore(config.stateDir, log);
    this.registry = new LabRegistry({
      config,
      manifest,
      store: this.store,
      log,
      engine: {
        obtain: async (shape, id) => {
          const fromPool = pool.take(poolKey(shape, id));
          return { built: fromPool ?? (await engine.build(shape, engineById(id)!)), pooled: fromPool !== undefined };
        },
        dismantle: (lab) => engine.dismantle(lab),
        listHosts: () => this.listHosts(),
        listAll: () => engine.listAll(),
        removeListed: (objects) => engine.removeListed(objects),
        revive: (hosts) => engine.revive(hosts),
      },
    });
  }

  get size(): number {
    return this.registry.size;
  }

  /** Labs being created now (another cell places by them too, cells.ts). */
  get creating(): number {
    return this.registry.inCreation;
  }

  /** The warm pool as GET /api/health and the instructor's room show it. */
  get poolStatus(): HealthStatus['pool'] {
    const { ready, starting, shapes } = this.pool.status();
    return { size: this.config.LAB_POOL_SIZE, ready, starting, shapes: shapes.map((s) => this.describeShape(s)) };
  }

  /** The mode labs run in on this machine, as the engine last said; null before it answered (remapsUsers). */
  get isolation(): Isolation | null {
    return this.engine.isolation;
  }

  /** Asks the engine whether it remaps user namespaces (userns.ts); the answer is then `isolation`. */
  remapsUsers(): Promise<boolean> {
    return this.engine.remapsUsers();
  }

  /** The Docker Engines labs can run now (engine.ts offers), the default first. */
  engineOffers(): Promise<EngineOffer[]> {
    return this.engine.offers();
  }

  /**
   * The engine a new lab runs: `requested` (a client's, so anything) if it is on offer and ready,
   * the first ready one when none was asked for. Throws a LabError whose sentence names the
   * engines on offer: 400 for one that is not, 503 for one whose image is still being built.
   */
  async engineFor(requested: unknown): Promise<Engine> {
    const offers = await this.engine.offers();
    const ready = offers.filter((o) => o.state === 'ready');
    // With none ready, building the configured default says what is missing.
    if (requested === undefined) return engineById(ready[0]?.id) ?? this.config.engines[0]!;
    if (ready.some((o) => o.id === requested)) return engineById(requested)!;
    const choice = ready.length ? `This lab server offers ${engineList(ready)}: choose one of those.` : 'This lab server has no lab host image built yet: run "npm run build:images".';
    const preparing = offers.find((o) => o.id === requested);
    if (preparing) throw new LabError(API_ERRORS.imageMissing, `Docker Engine ${preparing.version} is still being prepared (its lab host image is being built); try again in a few minutes. ${choice}`);
    const shown = typeof requested === 'string' ? JSON.stringify(requested.slice(0, 20)) : `of type ${typeof requested}`;
    throw new LabError(API_ERRORS.badRequest, `There is no Docker Engine ${shown} to choose here. ${choice}`);
  }

  /** Start keeping LAB_POOL_SIZE labs of each shape ready (nothing with 0), more for a warmed room. */
  startPool(): void {
    this.pool.start();
  }

  /**
   * Keep `count` labs of the lesson's shape ready for `minutes`, for a room about to start it;
   * throws a LabError for an unknown lesson, or when they would not fit (roomfit.ts). Replaces the
   * shape's earlier warming; answers the shape's pool as it is now.
   */
  warmForRoom({ lesson, count, minutes, engine: id }: Omit<WarmRequest, 'engine'> & { engine?: unknown }): PoolShape {
    const engine = id === undefined ? this.config.engines[0]! : this.config.engines.find((e) => e.id === id);
    if (!engine) throw new LabError(API_ERRORS.badRequest, `There is no Docker Engine ${JSON.stringify(String(id).slice(0, 20))} to warm labs of: this lab server runs ${engineList(this.config.engines)}.`);
    const shape = poolKey(this.shapeOf(lesson), engine.id);
    const status = this.pool.status();
    const hostsOf = (key: string) => this.shapes.get(fromPoolKey(key).shape)!.spec.hosts.length;
    let own: ShapeStatus | undefined;
    // Other rooms' labs not built yet need memory too; what is pooled is in the machine's figures.
    let otherHostsToBuild = 0;
    for (const s of status.shapes) {
      if (s.shape === shape) own = s;
      else if (s.reservation) otherHostsToBuild += Math.max(0, s.reservation.count - s.reservation.taken - s.ready - s.starting) * hostsOf(s.shape);
    }
    const plan = planRoom({
      lesson, count, hostsPerLab: hostsOf(shape), pooled: own!.ready + own!.starting,
      otherHostsToBuild, availableBytes: freemem(), maxLabs: this.config.LAB_MAX_LABS,
    });
    if (!plan.fits) throw new LabError(API_ERRORS.roomTooLarge, plan.sentence);
    this.pool.reserve(shape, { count, until: Date.now() + minutes * 60_000, label: lesson });
    this.log(`warm pool: keeping ${count} ${shape} labs ready for ${lesson} for ${minutes} min (${plan.build} to build)`);
    return this.describeShape(this.pool.status().shapes.find((s) => s.shape === shape)!);
  }

  /** End the warmings of the lesson's lab shape now, on every engine (the pool shrinks back); false if there was none. */
  cancelWarm(lesson: string): boolean {
    const shape = this.shapeOf(lesson);
    return this.config.engines.map((e) => this.pool.cancel(poolKey(shape, e.id))).includes(true);
  }

  /** The lab host image of an engine (for the log). */
  imageOf(engine: Engine): string {
    return this.engine.imageOf(engine);
  }

  onRemoved(listener: RemovalListener): () => void {
    return this.registry.onRemoved(listener);
  }

  onChanged(listener: ChangeListener): () => void {
    return this.registry.onChanged(listener);
  }

  /** Every lab, oldest first (the instructor's roster). */
  list(): Lab[] {
    return this.registry.list();
  }

  /** The lab with this id, whoever holds it: for the instructor, who has no lab token. */
  get(id: string): Lab | undefined {
    return this.registry.get(id);
  }

  setLearner(lab: Lab, update: { name?: string | null; help?: boolean }): void {
    this.registry.setLearner(lab, update);
  }

  extend(lab: Lab, minutes: number): number {
    return this.registry.extend(lab, minutes);
  }

  /**
   * See LabRegistry.create: a lab for a lesson, once its hosts run, within the runner's limits,
   * on the engine the client asked for (engineFor: anything it sent, or nothing for the default).
   */
  async create(lesson: string, opts: { client?: string; address?: string; engine?: unknown } = {}): Promise<{ lab: Lab; token: string }> {
    const engine = await this.engineFor(opts.engine);
    const created = await this.registry.create(lesson, { ...opts, engine: engine.id });
    // A pooled lab's engines are ready already; one built now starts them while its page opens.
    if (!created.lab.pooled) this.followStart(created.lab);
    return created;
  }

  /** The lab's hosts whose own Docker engine is still starting (empty once all answer, or failed: their terminals say why). */
  startingHosts(lab: Lab): string[] {
    return [...(this.starting.get(lab.id) ?? [])];
  }

  /** Called whenever a lab's startingHosts change. */
  onStartChanged(listener: (lab: Lab) => void): () => void {
    this.startListeners.add(listener);
    return () => this.startListeners.delete(listener);
  }

  /** Watch each host of a lab built on request until its engine is ready (or gave up), for startingHosts. */
  private followStart(lab: Lab): void {
    const hosts = new Set(lab.hosts.map((h) => h.name));
    this.starting.set(lab.id, hosts);
    const told = () => {
      for (const listener of this.startListeners) listener(lab);
    };
    told();
    for (const host of lab.hosts) {
      // Hosts after the first start in turn (engine.ts startInTurn).
      const started = host === lab.hosts[0] ? Promise.resolve() : lab.allStarted;
      void started.then(() => this.engine.waitHostReady(host)).catch(() => {}).finally(() => {
        hosts.delete(host.name);
        if (hosts.size === 0 && this.starting.get(lab.id) === hosts) this.starting.delete(lab.id);
        told();
      });
    }
  }

  /** See LabRegistry.endLabsOf: a browser's earlier labs end as it starts one on another cell. */
  endLabsOf(client: string): Promise<number> {
    return this.registry.endLabsOf(client);
  }

  /** Resolves once every lab host of the lab has a working engine with its images (labhost.ts). */
  waitReady(lab: BuiltLab): Promise<void> {
    return this.engine.waitReady(lab);
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

  authorize(id: string, token: string | null | undefined): Lab | undefined {
    return this.registry.authorize(id, token);
  }

  touch(lab: Lab): void {
    this.registry.touch(lab);
  }

  recordCheck(lab: Lab, exerciseId: string, status: CheckStatus, message: string): void {
    this.registry.recordCheck(lab, exerciseId, status, message);
  }

  recordStarted(lab: Lab, exerciseId: string): void {
    this.registry.recordStarted(lab, exerciseId);
  }

  terminalOpened(lab: Lab): void {
    this.registry.terminalOpened(lab);
  }

  terminalClosed(lab: Lab): void {
    this.registry.terminalClosed(lab);
  }

  expiryOf(lab: Lab): number {
    return this.registry.expiryOf(lab);
  }

  remove(id: string, reason: RunnerNotice): Promise<boolean> {
    return this.registry.remove(id, reason);
  }

  sweep(now?: number): Promise<void> {
    return this.registry.sweep(now);
  }

  startSweeper(): void {
    this.sweeper = setInterval(() => {
      this.sweep().catch((err) => this.log(`checking labs for expiry failed (retried in ${this.config.LAB_SWEEP_INTERVAL} s): ${this.engine.describeError(err)}`));
    }, this.config.LAB_SWEEP_INTERVAL * 1000);
    this.sweeper.unref();
  }

  adopt(now?: number): Promise<Adoption> {
    return this.registry.adopt(now);
  }

  /**
   * Remove every container and network this runner instance ever labelled, and forget its
   * kept labs: `npm run labs:remove-all`, and a verify run's clean start.
   */
  async reapAll(): Promise<{ containers: number; networks: number }> {
    const removed = await this.engine.removeLabelled([]);
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
    this.registry.suspend();
    await this.pool.drain();
    await this.registry.settled();
  }

  /** Stop and remove every lab (lesson verification, tests): nothing of this instance is left. */
  async shutdown(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.pool.drain();
    await this.registry.removeAll();
    // Removals the sweeper or a DELETE started must finish too: a network cannot be removed
    // while its container is still going, and the process exits right after this.
    await this.registry.settled();
    await this.reapAll().catch(() => {});
  }

  private shapeOf(lesson: string): string {
    const spec = this.manifest.lessons[lesson]?.lab;
    if (!spec) throw new LabError(API_ERRORS.unknownLesson, `There is no lesson "${lesson}" with a lab. Choose a lesson from the course's list.`);
    return labShape(spec);
  }

  private describeShape({ shape: key, size, ready, starting, reservation: r }: ShapeStatus): PoolShape {
    const { shape, engine } = fromPoolKey(key);
    return {
      shape,
      engine,
      lessons: this.shapes.get(shape)!.lessons,
      size,
      ready,
      starting,
      room: r ? { lesson: r.label, count: r.count, taken: r.taken, until: new Date(r.until).toISOString() } : null,
    };
  }

  /**
   * The sweep's listing of lab hosts, which also serves the pool: its ready labs with a stopped
   * host are replaced. No listing when there is neither a lab nor a ready pooled lab to judge.
   */
  private async listHosts(): Promise<HostListing | undefined> {
    if (this.registry.size === 0 && this.pool.status().ready === 0) return undefined;
    const listing = await this.engine.listHosts();
    await this.pool.prune((built) => stoppedHost(built, listing) !== undefined);
    return listing;
  }
}
