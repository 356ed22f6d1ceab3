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
 * A room expected on one chapter can reserve more labs of its shape for a while (reserve()): the
 * pool grows to that many, the room's learners use them up without the pool building them
 * again, and when the reservation ends the pool shrinks back to its size.
 *
 * This module only keeps count, builds and hands out; how a lab is built, checked and removed is
 * given to it (engine.ts, wired in labs.ts), and whether a reservation fits the machine is
 * roomfit.ts's. take() finishes without awaiting anything, so two requests can never be handed the
 * same entry.
 */

/**
 * Labs built at once while filling. Starting a lab host's dockerd takes ~2.5 s, much of it
 * waiting; two at once fill a pool about twice as fast on this 2-core machine without slowing
 * terminals of running labs noticeably (measured with `npm run bench`). A room's reservation of
 * 30 one-host labs filled in 13-15 s at this setting (15 two-host labs in 12.2 s), well ahead of
 * a room's arrival; four at once took 16.5 s against 13.1 s at two in the same hour: the two
 * cores are the limit, so a reservation builds no faster than the pool's size does.
 */
const FILL_PARALLEL = 2;
/** After a build fails (engine down, image missing), wait this long before the next try (ms). */
const RETRY_AFTER_MS = 10_000;

export interface PoolOptions<T> {
  /**
   * Every shape the pool may hold, with the labs it keeps of it without a reservation (0: only
   * for a room that reserved some). A "shape" here is whatever key the caller builds by (labs.ts:
   * a lab shape on one engine).
   */
  shapes: ReadonlyMap<string, number>;
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

/** More labs of one shape for a while, for a room (reserve()). */
export interface Reservation {
  /** Labs of the shape the room is expected to start. */
  count: number;
  /** When the reservation ends (ms since the epoch, as Date.now()). */
  until: number;
  /** Who it is for, as the status shows it (the lesson a room was warmed for). */
  label: string;
}

export interface ShapeStatus {
  shape: string;
  /** Labs of this shape the pool keeps without a reservation. */
  size: number;
  ready: number;
  starting: number;
  /** With `taken`: labs of this shape asked for since it began, from the pool or built on the spot. */
  reservation?: Reservation & { taken: number };
}

export interface PoolStatus {
  /** Labs per shape the pool keeps, for the shapes it keeps most of. */
  size: number;
  /** Labs in the pool whose engines answer. */
  ready: number;
  /** Labs being built or still starting their engines. */
  starting: number;
  shapes: ShapeStatus[];
}

export class WarmPool<T> {
  private readonly entries = new Map<string, Entry<T>[]>();
  /** Builds under way per shape (not yet in `entries`). */
  private readonly building = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  /** Each shape's reservation, with how many were taken since and the timer that ends it. */
  private readonly reservations = new Map<string, Reservation & { taken: number; timer: NodeJS.Timeout }>();
  /** Pooled labs being removed because the pool shrank: drain waits for them. */
  private readonly removals = new Set<Promise<void>>();
  private stopped = true;
  /** Consecutive failed builds: logged once per streak, not once per retry. */
  private failures = 0;
  private retryTimer?: NodeJS.Timeout;
  private readonly opts: PoolOptions<T>;

  constructor(opts: PoolOptions<T>) {
    this.opts = opts;
    for (const shape of opts.shapes.keys()) {
      this.entries.set(shape, []);
      this.building.set(shape, 0);
    }
  }

  /** Start keeping labs: each shape's size (none at 0), more for a reservation. */
  start(): void {
    this.stopped = false;
    this.fill();
  }

  /**
   * A lab of this shape from the pool, preferring one whose engines answer; undefined if none.
   * Each call counts against the shape's reservation, whether or not the pool had one: a learner
   * whose lab is built on the spot is still one of the room.
   */
  take(shape: string): T | undefined {
    const reservation = this.reservations.get(shape);
    if (reservation) reservation.taken++;
    const list = this.entries.get(shape);
    if (!list || list.length === 0) return undefined;
    const readyAt = list.findIndex((e) => e.ready);
    const [entry] = list.splice(readyAt >= 0 ? readyAt : 0, 1);
    this.fill();
    return entry!.item;
  }

  /**
   * Keep `count` labs of this shape (ready or starting) until `until`, instead of `size`; labs
   * taken meanwhile use it up (30 learners taking 30 labs leave the pool at its size, not
   * building 30 more). It replaces the shape's earlier reservation; when it ends (cancel(), or
   * `until`) the pool removes what it holds above the shape's size.
   */
  reserve(shape: string, reservation: Reservation): void {
    if (!this.entries.has(shape)) throw new Error(`no lesson has a lab of shape ${shape}`);
    clearTimeout(this.reservations.get(shape)?.timer);
    const timer = setTimeout(() => this.cancel(shape), Math.max(0, reservation.until - Date.now()));
    timer.unref();
    this.reservations.set(shape, { ...reservation, taken: 0, timer });
    this.trim(shape);
    this.fill();
  }

  /** End the shape's reservation now and shrink back to its size; false if it had none. */
  cancel(shape: string): boolean {
    const reservation = this.reservations.get(shape);
    if (!reservation) return false;
    clearTimeout(reservation.timer);
    this.reservations.delete(shape);
    this.opts.log(`warm pool: the reservation of ${reservation.count} ${shape} labs for ${reservation.label} ended (${reservation.taken} taken); keeping ${this.opts.shapes.get(shape)}`);
    this.trim(shape);
    return true;
  }

  status(): PoolStatus {
    const shapes = [...this.entries].map(([shape, list]): ShapeStatus => {
      const ready = list.filter((e) => e.ready).length;
      const r = this.reservations.get(shape);
      return {
        shape,
        size: this.opts.shapes.get(shape)!,
        ready,
        starting: list.length - ready + this.building.get(shape)!,
        ...(r ? { reservation: { count: r.count, until: r.until, label: r.label, taken: r.taken } } : {}),
      };
    });
    const sum = (key: 'ready' | 'starting') => shapes.reduce((n, s) => n + s[key], 0);
    return { size: Math.max(0, ...this.opts.shapes.values()), ready: sum('ready'), starting: sum('starting'), shapes };
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
    for (const r of this.reservations.values()) clearTimeout(r.timer);
    this.reservations.clear();
    await Promise.allSettled([...this.inFlight, ...this.removals]);
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

  /** Labs of this shape the pool keeps now: its size, or what is left of a reservation above it. */
  private target(shape: string): number {
    const size = this.opts.shapes.get(shape)!;
    const r = this.reservations.get(shape);
    return r ? Math.max(size, r.count - r.taken) : size;
  }

  /** Labs of this shape held or being built beyond its target. */
  private surplus(shape: string): number {
    return this.entries.get(shape)!.length + this.building.get(shape)! - this.target(shape);
  }

  /** The shape furthest below its target, counting labs being built; undefined when all are full. */
  private neediestShape(): string | undefined {
    let best: string | undefined;
    let bestSurplus = 0;
    for (const shape of this.entries.keys()) {
      const surplus = this.surplus(shape);
      if (surplus < bestSurplus) {
        best = shape;
        bestSurplus = surplus;
      }
    }
    return best;
  }

  /**
   * Remove ready labs of this shape beyond its target (a reservation ended or shrank). Labs still
   * starting or being built are left to finish: buildOne removes them then if they are too many.
   */
  private trim(shape: string): void {
    const list = this.entries.get(shape)!;
    const extra: T[] = [];
    for (let i = list.length - 1; i >= 0 && list.length > this.target(shape); i--) {
      if (list[i]!.ready) extra.push(list.splice(i, 1)[0]!.item);
    }
    for (const item of extra) {
      const removal = this.opts.discard(item).catch(() => {});
      this.removals.add(removal);
      void removal.finally(() => this.removals.delete(removal));
    }
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
    // Stopped, or the reservation it was built for ended meanwhile.
    if (this.stopped || this.surplus(shape) >= 0) {
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
      this.trim(shape);
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
