/**
 * The labs a runner holds and their lives: which labs exist and whose they are (tokens), whether
 * a new one may be created (capacity, the per-address cap, one lab per browser), when each one
 * ends (idle timeout, maximum lifetime), what a sweep removes and why, what is kept on disk
 * (store.ts) and when, and, at start, which kept labs an earlier process left are taken over.
 *
 * It deliberately knows no Docker: it is given a LabEngine that builds, lists and removes the
 * engine objects (engine.ts and the warm pool, wired in labs.ts), and a Clock, so its decisions
 * are tested without an engine or real waits (registry.test.ts). It does not speak HTTP or
 * bridge terminals either.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_ERRORS, type CheckStatus } from '../../contract/api.ts';
import { DEFAULT_ENGINE, labShape, type EngineId, type LabManifest } from '../../contract/labspec.ts';
import { RUNNER_NOTICES, type RunnerNotice } from '../../contract/protocol.ts';
import type { Config } from './config.ts';
import { LabError } from './errors.ts';
import { LAB_ID_PATTERN, type LabRecord, type LabStore } from './store.ts';
// A type only (erased when run): the registry hands prepared shells on, it never starts one.
import type { PreparedShell } from './terminal.ts';

export interface LabHost {
  name: string;
  containerName: string;
}

/** A lab's network and hosts on the engine, before anyone has claimed it. */
export interface BuiltLab {
  id: string;
  /** Which hosts, and macvlan or not (labShape): all the engine objects depend on. */
  shape: string;
  /** The Docker Engine its hosts run (an ENGINES id): which lab host image they were made from. */
  engine: EngineId;
  hosts: LabHost[];
  networkName: string;
  subnet: string;
  /** Extra environment of every lab host (the macvlan addresses, for `macvlan: true` labs). */
  env: string[];
  /** Login shells already started, per host name, for the first terminals to adopt (pooled labs). */
  shells: Map<string, PreparedShell>;
  /**
   * Resolves once every host's container was started, or one failed to be (engine.ts, startInTurn).
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
  /** The exercises whose setup ran in this lab (Start exercise), in that order: each runs once. */
  started: string[];
  /** When it was claimed (the instructor's roster shows its age). */
  createdAt: number;
  /** The learner's side (LearnerUpdate): a name for the instructor, and since when they ask for help. */
  learnerName: string | null;
  helpSince: number | null;
  /** The last check run in this lab, with the sentence the learner read. */
  lastCheck: LastCheck | null;
}

export interface LastCheck {
  exercise: string;
  status: CheckStatus;
  message: string;
  at: number;
}

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

export type RemovalListener = (lab: Lab, reason: RunnerNotice) => void;
/** Something the instructor's roster shows changed in this lab (it was created, checked, renamed...). */
export type ChangeListener = (lab: Lab) => void;

/** Wall-clock time in ms since the epoch, as Date.now(); tests give one they move by hand. */
export interface Clock {
  now(): number;
}

/** The lab hosts of this runner instance on the engine, as one listing saw them (sweeps). */
export interface HostListing {
  /** When the listing began, on BuiltLab.allStartedAt's clock (performance.now()). */
  listedAt: number;
  /** Every lab host listed, by `<lab id>/<host name>`: whether it runs, and the engine's words for its state. */
  hosts: Map<string, { running: boolean; status: string }>;
}

/** Every container and network of this runner instance on the engine (adoption). */
export interface EngineListing {
  /** `names` without Docker's leading slash; `lab` is the lab id label, if the object has one. */
  containers: { id: string; names: string[]; running: boolean; lab?: string }[];
  networks: { id: string; name: string; lab?: string }[];
}

/** What the registry needs done on the engine (labs.ts gives it engine.ts and the warm pool). */
export interface LabEngine {
  /** A lab of this shape and engine, from the warm pool (`pooled`) or built now; throws a LabError. */
  obtain(shape: string, engine: EngineId): Promise<{ built: BuiltLab; pooled: boolean }>;
  /** Remove a lab's engine objects; its later hosts may still be starting. */
  dismantle(lab: BuiltLab): Promise<void>;
  /**
   * This instance's lab hosts as they are now, or undefined when there is nothing to look at
   * (no labs and nothing pooled). Pooled labs the listing shows stopped are the engine side's
   * to replace.
   */
  listHosts(): Promise<HostListing | undefined>;
  listAll(): Promise<EngineListing>;
  /** Remove these containers (first) and networks, whatever they are. */
  removeListed(objects: EngineListing): Promise<void>;
  /** Hosts of adopted labs: end the shells an earlier process left, and give back the CPU limit. */
  revive(hosts: LabHost[]): Promise<void>;
}

/** The part of the lab store (store.ts) the registry uses; tests give one in memory. */
export type KeptLabs = Pick<LabStore, 'loadAll' | 'save' | 'remove'>;

export type RegistryConfig = Pick<Config, 'LAB_MAX_LABS' | 'LAB_MAX_LABS_PER_ADDRESS' | 'LAB_ONE_PER_BROWSER' | 'LAB_MAX_LIFETIME' | 'LAB_IDLE_TIMEOUT'>;

export interface RegistryOptions {
  config: RegistryConfig;
  manifest: LabManifest;
  engine: LabEngine;
  store: KeptLabs;
  clock?: Clock;
  log?: (line: string) => void;
}

/** What a lab's terminals are told when the runner removes it (other than for a stopped host). */
const REMOVAL_REASONS = {
  maxLifetime: { code: RUNNER_NOTICES.maxLifetime, message: 'This lab reached its maximum lifetime and was removed.' },
  idle: { code: RUNNER_NOTICES.idle, message: 'This lab was idle too long and was removed.' },
  anotherTab: {
    code: RUNNER_NOTICES.anotherTab,
    message: 'You started a lab in another tab or lesson of this browser, so this one was stopped (one lab per browser).',
  },
  shutdown: { code: RUNNER_NOTICES.shutdown, message: 'The lab server is shutting down; this lab was removed.' },
} as const satisfies Record<string, RunnerNotice>;

/** 256 bits: a token cannot be guessed, and only its hash is kept in memory. */
const TOKEN_BYTES = 32;

const hashToken = (token: string) => createHash('sha256').update(token).digest();

const systemClock: Clock = { now: () => Date.now() };

/**
 * The first host of `lab` that `listing` shows not running, with the engine's words for why;
 * undefined when all run, or when the listing began before the lab's hosts had all started
 * (a host not listed then is not dead, just not there yet).
 */
export function stoppedHost(lab: BuiltLab, listing: HostListing): { host: string; status: string } | undefined {
  if (lab.allStartedAt === undefined || lab.allStartedAt >= listing.listedAt) return undefined;
  const dead = lab.hosts.find((h) => !listing.hosts.get(`${lab.id}/${h.name}`)?.running);
  if (!dead) return undefined;
  return { host: dead.name, status: listing.hosts.get(`${lab.id}/${dead.name}`)?.status ?? 'it no longer exists' };
}

const recordOf = (lab: Lab): LabRecord => ({
  version: 1,
  id: lab.id,
  lesson: lab.lesson,
  shape: lab.shape,
  engine: lab.engine,
  hosts: lab.hosts,
  networkName: lab.networkName,
  subnet: lab.subnet,
  env: lab.env,
  pooled: lab.pooled,
  tokenHash: lab.tokenHash.toString('hex'),
  ...(lab.client ? { client: lab.client } : {}),
  address: lab.address,
  expiresAt: lab.expiresAt,
  lastActive: lab.lastActive,
  inUse: lab.openTerminals > 0,
  checks: lab.checks,
  ...(lab.started.length > 0 ? { started: lab.started } : {}),
  createdAt: lab.createdAt,
  ...(lab.learnerName !== null ? { learnerName: lab.learnerName } : {}),
  ...(lab.helpSince !== null ? { helpSince: lab.helpSince } : {}),
  ...(lab.lastCheck ? { lastCheck: lab.lastCheck } : {}),
});

export class LabRegistry {
  private readonly labs = new Map<string, Lab>();
  private readonly removalListeners = new Set<RemovalListener>();
  private readonly changeListeners = new Set<ChangeListener>();
  /** Lab removals under way, so that shutdown can wait for them. */
  private readonly removals = new Set<Promise<void>>();
  private creating = 0;
  /** Labs being created per client address, so concurrent requests cannot pass the cap together. */
  private readonly creatingFrom = new Map<string, number>();
  /** Labs whose last activity changed since it was last written: written on the next sweep. */
  private readonly unsaved = new Set<string>();
  /** Set by suspend(): labs are written as they were then, not as closing their terminals leaves them. */
  private suspended = false;
  private readonly config: RegistryConfig;
  private readonly manifest: LabManifest;
  private readonly engine: LabEngine;
  private readonly store: KeptLabs;
  private readonly clock: Clock;
  private readonly log: (line: string) => void;

  constructor(opts: RegistryOptions) {
    this.config = opts.config;
    this.manifest = opts.manifest;
    this.engine = opts.engine;
    this.store = opts.store;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? (() => {});
  }

  get size(): number {
    return this.labs.size;
  }

  /** Labs being created now: they count against LAB_MAX_LABS already. */
  get inCreation(): number {
    return this.creating;
  }

  onRemoved(listener: RemovalListener): () => void {
    this.removalListeners.add(listener);
    return () => this.removalListeners.delete(listener);
  }

  /** Called after a lab is created or anything the roster shows changes (not on removal: onRemoved). */
  onChanged(listener: ChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Every lab, oldest first. */
  list(): Lab[] {
    return [...this.labs.values()];
  }

  get(id: string): Lab | undefined {
    return this.labs.get(id);
  }

  /**
   * With LAB_ONE_PER_BROWSER, end the labs this browser (its client id) started before, as it
   * starts another: here, or on another cell (cells.ts). Resolves with how many there were.
   */
  async endLabsOf(client: string): Promise<number> {
    if (!this.config.LAB_ONE_PER_BROWSER) return 0;
    const previous = [...this.labs.values()].filter((l) => l.client === client);
    await Promise.all(previous.map((l) => this.remove(l.id, REMOVAL_REASONS.anotherTab)));
    return previous.length;
  }

  /**
   * Create a lab for a lesson; resolves once every lab host is running (its inner dockerd may
   * still be starting). With LAB_ONE_PER_BROWSER, the client's previous labs are removed first.
   * `address` is who asked (clientaddress.ts): one address holds at most LAB_MAX_LABS_PER_ADDRESS.
   * `engine` is the Docker Engine its hosts run, one the caller made sure is offered.
   */
  async create(lesson: string, opts: { client?: string; address?: string; engine?: EngineId } = {}): Promise<{ lab: Lab; token: string }> {
    const spec = this.manifest.lessons[lesson]?.lab;
    if (!spec) throw new LabError(API_ERRORS.unknownLesson, `There is no lesson "${lesson}" with a lab. Check the lesson name in the page address.`);
    const address = opts.address ?? 'local';
    if (opts.client) await this.endLabsOf(opts.client);
    this.admit(address);
    this.creating++;
    this.creatingFrom.set(address, (this.creatingFrom.get(address) ?? 0) + 1);
    try {
      const { built, pooled } = await this.engine.obtain(labShape(spec), opts.engine ?? DEFAULT_ENGINE.id);
      const token = randomBytes(TOKEN_BYTES).toString('base64url');
      const now = this.clock.now();
      const lab: Lab = {
        ...built,
        pooled,
        lesson,
        expiresAt: now + this.config.LAB_MAX_LIFETIME * 1000,
        lastActive: now,
        openTerminals: 0,
        tokenHash: hashToken(token),
        ...(opts.client ? { client: opts.client } : {}),
        address,
        checks: {},
        started: [],
        createdAt: now,
        learnerName: null,
        helpSince: null,
        lastCheck: null,
      };
      this.labs.set(lab.id, lab);
      this.store.save(recordOf(lab));
      this.changed(lab);
      return { lab, token };
    } finally {
      this.creating--;
      const left = (this.creatingFrom.get(address) ?? 1) - 1;
      if (left > 0) this.creatingFrom.set(address, left);
      else this.creatingFrom.delete(address);
    }
  }

  /** Throw if one more lab, from `address`, would pass LAB_MAX_LABS or LAB_MAX_LABS_PER_ADDRESS (labs being created count). */
  private admit(address: string): void {
    if (this.labs.size + this.creating >= this.config.LAB_MAX_LABS) {
      const n = this.config.LAB_MAX_LABS;
      throw new LabError(API_ERRORS.capacity, `The workshop is full (${n} of ${n} labs in use); try again in a few minutes.`);
    }
    const held = [...this.labs.values()].filter((l) => l.address === address).length + (this.creatingFrom.get(address) ?? 0);
    if (held >= this.config.LAB_MAX_LABS_PER_ADDRESS) {
      const n = this.config.LAB_MAX_LABS_PER_ADDRESS;
      throw new LabError(API_ERRORS.addressFull, `Your address already holds ${n} lab${n === 1 ? '' : 's'}, the most one address may have at once. Stop a lab you no longer use (or wait until one expires), then start this one again.`);
    }
  }

  /** The lab with this id if the token is its own; undefined otherwise (callers answer 404 either way). */
  authorize(id: string, token: string | null | undefined): Lab | undefined {
    if (!LAB_ID_PATTERN.test(id) || !token) return undefined;
    const lab = this.labs.get(id);
    if (!lab) return undefined;
    return timingSafeEqual(lab.tokenHash, hashToken(token)) ? lab : undefined;
  }

  /**
   * The lab was used now. Written to disk on the next sweep, not on every keystroke; listeners
   * hear of it (they coalesce: the roster shows idle time, not keystrokes).
   */
  touch(lab: Lab): void {
    lab.lastActive = this.clock.now();
    this.unsaved.add(lab.id);
    this.changed(lab);
  }

  /** Remember an exercise's check result in the lab (kept across restarts). */
  recordCheck(lab: Lab, exerciseId: string, status: CheckStatus, message: string): void {
    const at = this.clock.now();
    lab.checks[exerciseId] = { status, at };
    lab.lastCheck = { exercise: exerciseId, status, message, at };
    lab.lastActive = at;
    this.save(lab);
    this.changed(lab);
  }

  /** An exercise's setup ran in the lab (kept across restarts, so it never runs twice). */
  recordStarted(lab: Lab, exerciseId: string): void {
    if (!lab.started.includes(exerciseId)) lab.started.push(exerciseId);
    lab.lastActive = this.clock.now();
    this.save(lab);
    this.changed(lab);
  }

  /** The learner's name and help flag (LearnerUpdate); a field left undefined stays as it is. */
  setLearner(lab: Lab, update: { name?: string | null; help?: boolean }): void {
    if (update.name !== undefined) lab.learnerName = update.name || null;
    if (update.help !== undefined) lab.helpSince = update.help ? (lab.helpSince ?? this.clock.now()) : null;
    this.save(lab);
    this.changed(lab);
  }

  /**
   * The instructor gives the lab `minutes` more: its deadline moves on (but never more than
   * LAB_MAX_LIFETIME past now, so a lab cannot be kept forever by one click too many), and its
   * idle clock starts again. Returns the new deadline.
   */
  extend(lab: Lab, minutes: number): number {
    const now = this.clock.now();
    lab.expiresAt = Math.min(Math.max(lab.expiresAt, now) + minutes * 60_000, now + this.config.LAB_MAX_LIFETIME * 1000);
    lab.lastActive = now;
    this.save(lab);
    this.changed(lab);
    return lab.expiresAt;
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

  private changed(lab: Lab): void {
    for (const listener of this.changeListeners) listener(lab);
  }

  /** When the lab will be removed if nothing more happens. */
  expiryOf(lab: Lab): number {
    if (lab.openTerminals > 0) return lab.expiresAt;
    return Math.min(lab.expiresAt, lab.lastActive + this.config.LAB_IDLE_TIMEOUT * 1000);
  }

  async remove(id: string, reason: RunnerNotice): Promise<boolean> {
    const lab = this.labs.get(id);
    if (!lab) return false;
    this.labs.delete(id);
    this.unsaved.delete(id);
    this.store.remove(id);
    for (const listener of this.removalListeners) listener(lab, reason);
    const removal = this.engine.dismantle(lab);
    this.removals.add(removal);
    try {
      await removal;
    } finally {
      this.removals.delete(removal);
    }
    return true;
  }

  /** Remove every lab (the runner is shutting down for good), telling their terminals so. */
  async removeAll(): Promise<void> {
    await Promise.all([...this.labs.keys()].map((id) => this.remove(id, REMOVAL_REASONS.shutdown)));
  }

  /** Resolves once the removals under way now have finished, however they ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.removals]);
  }

  /** The labs whose time is up at `now`, each with the sentence its terminals are told. */
  dueAt(now: number): { lab: Lab; reason: RunnerNotice }[] {
    return [...this.labs.values()]
      .filter((lab) => now >= this.expiryOf(lab))
      .map((lab) => ({ lab, reason: now >= lab.expiresAt ? REMOVAL_REASONS.maxLifetime : REMOVAL_REASONS.idle }));
  }

  /** Remove every lab whose time is up, or whose lab host stopped; run periodically. */
  async sweep(now = this.clock.now()): Promise<void> {
    await Promise.all(this.dueAt(now).map(({ lab, reason }) => this.remove(lab.id, reason)));
    await this.removeDeadLabs();
    this.saveActivity();
  }

  /**
   * A lab host that stopped (killed, crashed, or the engine restarted and took it down) leaves a
   * lab nobody can use: remove it, saying why. One listing per sweep covers all labs; if the
   * engine does not answer, labs stay until it does, and are checked then.
   */
  private async removeDeadLabs(): Promise<void> {
    const listing = await this.engine.listHosts();
    if (!listing) return;
    await Promise.all(
      [...this.labs.values()].map((lab) => {
        const stopped = stoppedHost(lab, listing);
        if (!stopped) return;
        return this.remove(lab.id, {
          code: RUNNER_NOTICES.hostStopped,
          message: `Lab host ${stopped.host} stopped (${stopped.status}), so this lab was removed. Start a new lab.`,
        });
      }),
    );
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

  /**
   * Write every lab as it is now, and nothing after: a lab in use stays marked in use for the
   * next process (its learner's page is about to reconnect), though the server then closes its
   * terminals. Call it before closing them.
   */
  suspend(): void {
    for (const lab of this.labs.values()) this.save(lab);
    this.unsaved.clear();
    this.suspended = true;
  }

  /**
   * At start: take over the labs an earlier runner process of this instance left, from their
   * kept state (store.ts). A lab is kept when its deadline has not passed and its network and
   * every host still exist and run; the engine side then revives its hosts (ends the shells
   * that process had open, whose sockets are gone, and gives back the CPU limit in case that
   * process died before giving it). Everything else this instance labelled is removed: expired
   * and broken labs, pooled labs (nobody holds their token), half-built labs and probes.
   */
  async adopt(now = this.clock.now()): Promise<Adoption> {
    const records = this.store.loadAll();
    const listing = await this.engine.listAll();
    const running = new Set(listing.containers.filter((c) => c.running).flatMap((c) => c.names));
    const networkNames = new Set(listing.networks.map((n) => n.name));
    const result: Adoption = { adopted: 0, expired: 0, broken: 0, orphans: { containers: 0, networks: 0 } };
    for (const record of records) {
      const lab = this.labOf(record);
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
    const owned = (labId: string | undefined) => this.labs.has(labId ?? '');
    const stray: EngineListing = { containers: listing.containers.filter((c) => !owned(c.lab)), networks: listing.networks.filter((n) => !owned(n.lab)) };
    await this.engine.removeListed(stray);
    result.orphans = { containers: stray.containers.length, networks: stray.networks.length };
    await this.engine.revive([...this.labs.values()].flatMap((lab) => lab.hosts));
    return result;
  }

  private labOf(r: LabRecord): Lab {
    return {
      id: r.id,
      shape: r.shape,
      // Kept by runners since labs had a choice of engine; before, every lab ran the default's.
      engine: r.engine ?? DEFAULT_ENGINE.id,
      hosts: r.hosts,
      networkName: r.networkName,
      subnet: r.subnet,
      env: r.env,
      shells: new Map(),
      allStarted: Promise.resolve(),
      // Its hosts ran before this process started: every listing of this process can judge them.
      allStartedAt: Number.NEGATIVE_INFINITY,
      cancelled: false,
      lesson: r.lesson,
      pooled: r.pooled,
      expiresAt: r.expiresAt,
      // A terminal was open when the runner went away: its learner was there, and their page is
      // reconnecting. The idle clock starts again now, not at their last keystroke before the gap.
      lastActive: r.inUse ? this.clock.now() : r.lastActive,
      openTerminals: 0,
      tokenHash: Buffer.from(r.tokenHash, 'hex'),
      ...(r.client ? { client: r.client } : {}),
      address: r.address,
      checks: r.checks as Lab['checks'],
      started: r.started ?? [],
      // Kept by runners since the instructor dashboard; a lab kept by an older one has none.
      createdAt: r.createdAt ?? r.lastActive,
      learnerName: r.learnerName ?? null,
      helpSince: r.helpSince ?? null,
      lastCheck: (r.lastCheck as LastCheck | undefined) ?? null,
    };
  }
}
