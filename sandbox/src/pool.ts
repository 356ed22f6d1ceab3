/**
 * The warm pool: labs built ahead of time, a few per lab shape, so that a learner who presses
 * Start lab gets one whose inner engines already answer, and types at once.
 *
 * What is pooled is a whole lab (its internal network and its hosts), not loose hosts joined to
 * a lab's network when claimed. Moving a running lab host between networks would cost a network
 * connect on the critical path, and leave the host with an interface named eth1, a default route
 * and /etc/hosts of the old network, and an engine that started on another subnet. A lab shape
 * (which hosts, macvlan or not) is everything a lab's containers and network depend on; the
 * lesson, the token and the clock start when the lab is claimed.
 *
 * This module only keeps count, builds and hands out; how a lab is built, checked and removed is
 * given to it (engine.ts, wired in labs.ts). take() finishes without awaiting anything, so two
 * requests can never be handed the same entry.
 */

/**
 * Labs built at once while filling. Starting a lab host's dockerd takes ~2.5 s, much of it
 * waiting; two at once fill a pool about twice as fast on this 2-core machine without slowing
 * terminals of running labs noticeably (measured with `npm run bench`).
 */
const FILL_PARALLEL = 2;
/** After a build fails (engine down, image missing), wait this long before the next try (ms). */
const RETRY_AFTER_MS = 10_000;

export interface PoolOptions<T> {
  /** Labs kept per shape; 0 turns the pool off. */
  size: number;
  shapes: string[];
  /** Build a lab of this shape: containers started, engines maybe still starting. */
  build: (shape: string) => Promise<T>;
  /** Resolves once every host of the lab has a working engine; rejects if one cannot start. */
  waitReady: (item: T) => Promise<void>;
  /** Remove a lab that will never be handed out. */
  discard: (item: T) => Promise<void>;
  log: (line: string) => void;
}

interface Entry<T> {
  item: T;
  ready: boolean;
}

export interface PoolStatus {
  /** Labs per shape the pool keeps. */
  size: number;
  /** Labs in the pool whose engines answer. */
  ready: number;
  /** Labs being built or still starting their engines. */
  starting: number;
}

export class WarmPool<T> {
  private readonly entries = new Map<string, Entry<T>[]>();
  /** Builds under way per shape (not yet in `entries`). */
  private readonly building = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private stopped = true;
  /** Consecutive failed builds: logged once per streak, not once per retry. */
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private readonly opts: PoolOptions<T>;

  constructor(opts: PoolOptions<T>) {
    this.opts = opts;
    for (const shape of opts.shapes) {
      this.entries.set(shape, []);
      this.building.set(shape, 0);
    }
  }

  start(): void {
    if (this.opts.size === 0) return;
    this.stopped = false;
    this.fill();
  }

  /** A lab of this shape from the pool, preferring one whose engines answer; undefined if none. */
  take(shape: string): T | undefined {
    const list = this.entries.get(shape);
    if (!list || list.length === 0) return undefined;
    const readyAt = list.findIndex((e) => e.ready);
    const [entry] = list.splice(readyAt >= 0 ? readyAt : 0, 1);
    this.fill();
    return entry!.item;
  }

  status(): PoolStatus {
    let ready = 0;
    let starting = 0;
    for (const [shape, list] of this.entries) {
      for (const e of list) e.ready ? ready++ : starting++;
      starting += this.building.get(shape) ?? 0;
    }
    return { size: this.opts.size, ready, starting };
  }

  /** Remove pooled labs for which `isDead` says so (a lab host stopped); the pool builds new ones. */
  async prune(isDead: (item: T) => boolean): Promise<void> {
    const dead: T[] = [];
    for (const list of this.entries.values()) {
      for (let i = list.length - 1; i >= 0; i--) {
        if (list[i]!.ready && isDead(list[i]!.item)) dead.push(list.splice(i, 1)[0]!.item);
      }
    }
    if (dead.length === 0) return;
    this.opts.log(`warm pool: ${dead.length} lab(s) whose host stopped were removed`);
    await Promise.all(dead.map((item) => this.opts.discard(item).catch(() => {})));
    this.fill();
  }

  /** Stop building, wait for builds under way, and remove every pooled lab. */
  async drain(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    await Promise.allSettled([...this.inFlight]);
    const items = [...this.entries.values()].flatMap((list) => list.splice(0).map((e) => e.item));
    await Promise.all(items.map((item) => this.opts.discard(item).catch(() => {})));
  }

  private fill(): void {
    if (this.stopped || this.retryTimer) return;
    while (this.inFlight.size < FILL_PARALLEL) {
      const shape = this.neediestShape();
      if (shape === undefined) return;
      this.building.set(shape, this.building.get(shape)! + 1);
      const job = this.buildOne(shape).finally(() => {
        this.inFlight.delete(job);
        this.fill();
      });
      this.inFlight.add(job);
    }
  }

  /** The shape furthest below its size, counting labs being built; undefined when all are full. */
  private neediestShape(): string | undefined {
    let best: string | undefined;
    let bestCount = this.opts.size;
    for (const [shape, list] of this.entries) {
      const count = list.length + this.building.get(shape)!;
      if (count < bestCount) {
        best = shape;
        bestCount = count;
      }
    }
    return best;
  }

  private async buildOne(shape: string): Promise<void> {
    let item: T;
    try {
      item = await this.opts.build(shape);
    } catch (err) {
      this.building.set(shape, this.building.get(shape)! - 1);
      this.failed(`could not build a ${shape} lab: ${(err as Error).message}`);
      return;
    }
    this.building.set(shape, this.building.get(shape)! - 1);
    if (this.stopped) {
      await this.opts.discard(item).catch(() => {});
      return;
    }
    const entry: Entry<T> = { item, ready: false };
    const list = this.entries.get(shape)!;
    list.push(entry);
    try {
      await this.opts.waitReady(item);
      entry.ready = true;
      this.failures = 0;
    } catch (err) {
      // Still pooled (nobody took it while it started): it will not get better; replace it.
      // A lab already taken is its learner's now, and lab-shell tells them what went wrong.
      const at = list.indexOf(entry);
      if (at >= 0) {
        list.splice(at, 1);
        await this.opts.discard(item).catch(() => {});
      }
      this.failed(`a ${shape} lab did not become ready: ${(err as Error).message}`);
    }
  }

  private failed(message: string): void {
    if (this.failures++ === 0) this.opts.log(`warm pool: ${message} (retrying every ${RETRY_AFTER_MS / 1000} s)`);
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.fill();
    }, RETRY_AFTER_MS);
    this.retryTimer.unref();
  }
}
