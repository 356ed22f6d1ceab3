/**
 * The runner's labs, as its HTTP API, terminals and scripts use them: the registry (registry.ts:
 * which labs exist, their tokens, limits, lifetimes and kept state) given an engine side made of
 * the labs on Docker (engine.ts) and the warm pool (pool.ts), which builds labs of each shape
 * ahead. A lab comes from the pool when it has one of the right shape, and is built on the spot
 * otherwise. An instructor warms the pool for a room here (warmForRoom: lesson to lab shape,
 * roomfit.ts says whether it fits). This module only wires them together and runs the periodic
 * sweep; it decides nothing about a lab's life and builds nothing itself, and does not speak HTTP
 * or bridge terminals.
 */
import { freemem } from 'node:os';
import type Docker from 'dockerode';
import { API_ERRORS, type CheckStatus, type HealthStatus, type PoolShape, type WarmRequest } from '../../contract/api.ts';
import { labShape, type LabManifest, type LabSpec } from '../../contract/labspec.ts';
import type { Config } from './config.ts';
import { DockerLabs } from './engine.ts';
import { LabError } from './errors.ts';
import { WarmPool, type ShapeStatus } from './pool.ts';
import { LabRegistry, stoppedHost, type Adoption, type BuiltLab, type ChangeListener, type HostListing, type Lab, type RemovalListener } from './registry.ts';
import { planRoom } from './roomfit.ts';
import { LabStore } from './store.ts';
import type { PreparedShell } from './terminal.ts';

export type { Adoption, BuiltLab, Lab, LabHost, LastCheck } from './registry.ts';

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
    const pool = new WarmPool<BuiltLab>({
      size: config.LAB_POOL_SIZE,
      shapes: [...this.shapes.keys()],
      build: (shape) => engine.build(shape),
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
        obtain: async (shape) => {
          const fromPool = pool.take(shape);
          return { built: fromPool ?? (await engine.build(shape)), pooled: fromPool !== undefined };
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

  /** The warm pool as GET /api/health and the instructor's room show it. */
  get poolStatus(): HealthStatus['pool'] {
    const { size, ready, starting, shapes } = this.pool.status();
    return { size, ready, starting, shapes: shapes.map((s) => this.describeShape(s)) };
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
  warmForRoom({ lesson, count, minutes }: WarmRequest): PoolShape {
    const shape = this.shapeOf(lesson);
    const status = this.pool.status();
    const hostsOf = (s: string) => this.shapes.get(s)!.spec.hosts.length;
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

  /** End the warming of the lesson's lab shape now (the pool shrinks back); false if there was none. */
  cancelWarm(lesson: string): boolean {
    return this.pool.cancel(this.shapeOf(lesson));
  }

  get image(): string {
    return this.engine.image;
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

  /** See LabRegistry.create: a lab for a lesson, once its hosts run, within the runner's limits. */
  create(lesson: string, opts: { client?: string; address?: string } = {}): Promise<{ lab: Lab; token: string }> {
    return this.registry.create(lesson, opts);
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

  remove(id: string, reason: string): Promise<boolean> {
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

  private describeShape({ shape, size, ready, starting, reservation: r }: ShapeStatus): PoolShape {
    return {
      shape,
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
