/**
 * The lab registry's decisions with a clock moved by hand and a fake of the engine side (the
 * registry's own LabEngine interface) and of the store: lifetimes, sweeps, limits, tokens,
 * adoption and what is kept on disk, with no Docker and no real waits. The same behaviour
 * against real labs is in sandbox/test/labs.test.ts, workshop.test.ts and restart.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { API_ERRORS, CHECK_STATUS } from '../../contract/api.ts';
import { DEFAULT_ENGINE, type EngineId, type LabManifest } from '../../contract/labspec.ts';
import { LabError } from './errors.ts';
import { LabRegistry, type BuiltLab, type EngineListing, type HostListing, type KeptLabs, type Lab, type LabEngine, type LabHost, type RegistryConfig } from './registry.ts';
import type { LabRecord } from './store.ts';

const S = 1000;
const IDLE_S = 600;
const LIFETIME_S = 3600;
const START = Date.UTC(2025, 0, 1);

const MANIFEST: LabManifest = {
  translations: {},
  lessons: {
    bridge: { title: 'Bridge', lab: { hosts: ['host1'] }, exercises: [], blocks: [] },
    pair: { title: 'Pair', lab: { hosts: ['host1', 'host2'] }, exercises: [], blocks: [] },
  },
};

class FakeClock {
  t = START;
  now = () => this.t;
  advance(seconds: number): void {
    this.t += seconds * S;
  }
}

/** A store in memory that counts its writes. */
class MemoryStore implements KeptLabs {
  readonly records = new Map<string, LabRecord>();
  writes = 0;
  loadAll = () => [...this.records.values()].map((r) => structuredClone(r));
  save = (record: LabRecord) => {
    this.writes++;
    this.records.set(record.id, structuredClone(record));
  };
  remove = (id: string) => void this.records.delete(id);
}

/** The engine side as plain bookkeeping: labs are objects, removals are names in a list. */
class FakeEngine implements LabEngine {
  /** Labs handed out so far. */
  obtained = 0;
  /** While set, obtain() waits for it: a create in flight. */
  gate?: Promise<void>;
  readonly dismantled: string[] = [];
  hostListing?: HostListing;
  existing: EngineListing = { containers: [], networks: [] };
  readonly removed: EngineListing = { containers: [], networks: [] };
  readonly revived: LabHost[] = [];

  async obtain(shape: string, engine: EngineId): Promise<{ built: BuiltLab; pooled: boolean }> {
    await this.gate;
    const id = (this.obtained++).toString(16).padStart(12, 'a');
    const built: BuiltLab = {
      id, shape, engine,
      hosts: shape.split(',').map((name) => ({ name, containerName: `dnl-${id}-${name}` })),
      networkName: `dnl-${id}`, subnet: '10.213.0.0/26', env: [],
      shells: new Map(), allStarted: Promise.resolve(), allStartedAt: 0, cancelled: false,
    };
    return { built, pooled: false };
  }
  async dismantle(lab: BuiltLab): Promise<void> {
    this.dismantled.push(lab.id);
  }
  async listHosts(): Promise<HostListing | undefined> {
    return this.hostListing;
  }
  async listAll(): Promise<EngineListing> {
    return this.existing;
  }
  async removeListed(objects: EngineListing): Promise<void> {
    this.removed.containers.push(...objects.containers);
    this.removed.networks.push(...objects.networks);
  }
  async revive(hosts: LabHost[]): Promise<void> {
    this.revived.push(...hosts);
  }
}

function setup(config: Partial<RegistryConfig> = {}, store = new MemoryStore(), clock = new FakeClock()) {
  const engine = new FakeEngine();
  const logs: string[] = [];
  const removals: { id: string; reason: string }[] = [];
  const registry = new LabRegistry({
    config: { LAB_MAX_LABS: 30, LAB_MAX_LABS_PER_ADDRESS: 1000, LAB_ONE_PER_BROWSER: true, LAB_MAX_LIFETIME: LIFETIME_S, LAB_IDLE_TIMEOUT: IDLE_S, ...config },
    manifest: MANIFEST,
    engine,
    store,
    clock,
    log: (line) => logs.push(line),
  });
  registry.onRemoved((lab, reason) => removals.push({ id: lab.id, reason }));
  return { registry, engine, store, clock, logs, removals };
}

/** A promise to hold creates in flight with, and its release. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** What the engine holds for these labs: every network, every host running, unless left out. */
function listingOf(labs: Lab[], leave: { hostOf?: Lab; networkOf?: Lab } = {}): EngineListing {
  return {
    containers: labs.flatMap((lab) => lab.hosts.filter(() => lab !== leave.hostOf).map((h) => ({ id: `c-${h.containerName}`, names: [h.containerName], running: true, lab: lab.id }))),
    networks: labs.filter((lab) => lab !== leave.networkOf).map((lab) => ({ id: `n-${lab.networkName}`, name: lab.networkName, lab: lab.id })),
  };
}

/**
 * That `creating` fails with this LabError kind and sentence, as the API would answer it, and
 * at once: before the engine is asked for anything (a create let through would wait on a gate).
 */
async function refused(creating: Promise<unknown>, kind: LabError['kind'], message: string): Promise<void> {
  const notYet = new Promise((resolve) => setImmediate(() => resolve('still creating')));
  const err = await Promise.race([creating.then(() => 'created', (e: unknown) => e), notYet]);
  expect(err).toBeInstanceOf(LabError);
  expect(err).toMatchObject({ kind, message });
}

describe('lab lifetimes', () => {
  it('ends an idle lab LAB_IDLE_TIMEOUT after its last activity, and keeps a lab with an open terminal until LAB_MAX_LIFETIME', async () => {
    const { registry, clock } = setup();
    const { lab } = await registry.create('bridge');
    expect(registry.expiryOf(lab)).toBe(START + IDLE_S * S);
    clock.advance(100);
    registry.touch(lab);
    expect(registry.expiryOf(lab)).toBe(START + (100 + IDLE_S) * S);
    registry.terminalOpened(lab);
    expect(registry.expiryOf(lab)).toBe(START + LIFETIME_S * S);
    clock.advance(LIFETIME_S - 400);
    registry.terminalClosed(lab);
    // Closed near the end of its life: the idle timeout would run past the maximum lifetime.
    expect(registry.expiryOf(lab)).toBe(START + LIFETIME_S * S);
  });

  it('sweeps exactly the labs whose time is up, telling each why: idle, or at its maximum lifetime', async () => {
    const { registry, engine, clock, removals } = setup();
    const idle = (await registry.create('bridge')).lab;
    const busy = (await registry.create('bridge')).lab;
    const fresh = (await registry.create('bridge')).lab;
    registry.terminalOpened(busy);
    clock.advance(IDLE_S - 1);
    registry.touch(fresh);
    await registry.sweep();
    expect(removals).toEqual([]);
    clock.advance(1);
    expect(registry.dueAt(clock.now()).map((d) => d.lab.id)).toEqual([idle.id]);
    await registry.sweep();
    expect(removals).toEqual([{ id: idle.id, reason: 'This lab was idle too long and was removed.' }]);
    expect(engine.dismantled).toEqual([idle.id]);
    expect(registry.size).toBe(2);

    clock.advance(LIFETIME_S - IDLE_S);
    registry.touch(fresh);
    await registry.sweep();
    expect(removals.slice(1)).toEqual([
      { id: busy.id, reason: 'This lab reached its maximum lifetime and was removed.' },
      { id: fresh.id, reason: 'This lab reached its maximum lifetime and was removed.' },
    ]);
    expect(registry.size).toBe(0);
  });

  it('sweeps a lab whose host stopped, saying which and how, but not one still starting when the listing began', async () => {
    const { registry, engine, removals } = setup();
    const stopped = (await registry.create('pair')).lab;
    const gone = (await registry.create('bridge')).lab;
    const starting = await registry.create('bridge');
    starting.lab.allStartedAt = 20;
    engine.hostListing = {
      listedAt: 10,
      hosts: new Map([
        [`${stopped.id}/host1`, { running: true, status: 'Up 5 minutes' }],
        [`${stopped.id}/host2`, { running: false, status: 'Exited (137) 3 seconds ago' }],
      ]),
    };
    await registry.sweep();
    expect(removals).toEqual([
      { id: stopped.id, reason: 'Lab host host2 stopped (Exited (137) 3 seconds ago), so this lab was removed. Start a new lab.' },
      { id: gone.id, reason: 'Lab host host1 stopped (it no longer exists), so this lab was removed. Start a new lab.' },
    ]);
    expect(registry.size).toBe(1);
    expect(registry.authorize(starting.lab.id, starting.token)).toBe(starting.lab);
  });
});

describe('creating labs', () => {
  it('refuses a lab beyond LAB_MAX_LABS with 503 and the "workshop is full" sentence, counting labs being created', async () => {
    const { registry, engine } = setup({ LAB_MAX_LABS: 2 });
    await registry.create('bridge');
    const held = gate();
    engine.gate = held.promise;
    const inFlight = registry.create('bridge', { address: 'b' });
    const full = 'The workshop is full (2 of 2 labs in use); try again in a few minutes.';
    await refused(registry.create('bridge', { address: 'c' }), API_ERRORS.capacity, full);
    expect(API_ERRORS.capacity.status).toBe(503);
    held.open();
    await inFlight;
    await refused(registry.create('bridge', { address: 'c' }), API_ERRORS.capacity, full);
  });

  it('lets one address hold at most LAB_MAX_LABS_PER_ADDRESS labs, two creates in flight from it included, while another address still gets one', async () => {
    const { registry, engine } = setup({ LAB_MAX_LABS_PER_ADDRESS: 2 });
    const held = gate();
    engine.gate = held.promise;
    const mine = [registry.create('bridge', { address: '192.0.2.1' }), registry.create('bridge', { address: '192.0.2.1' })];
    const full = 'Your address already holds 2 labs, the most one address may have at once. Stop a lab you no longer use (or wait until one expires), then start this one again.';
    await refused(registry.create('bridge', { address: '192.0.2.1' }), API_ERRORS.addressFull, full);
    expect(API_ERRORS.addressFull.status).toBe(429);
    const neighbour = registry.create('bridge', { address: '192.0.2.2' });
    held.open();
    const [first] = await Promise.all([...mine, neighbour]);
    await refused(registry.create('bridge', { address: '192.0.2.1' }), API_ERRORS.addressFull, full);
    // Ending one of its labs gives the address room again.
    await registry.remove(first!.lab.id, 'This lab was stopped.');
    await expect(registry.create('bridge', { address: '192.0.2.1' })).resolves.toBeDefined();
  });

  it('says "1 lab" in the per-address sentence for a cap of one', async () => {
    const { registry } = setup({ LAB_MAX_LABS_PER_ADDRESS: 1 });
    await registry.create('bridge');
    await refused(
      registry.create('bridge'),
      API_ERRORS.addressFull,
      'Your address already holds 1 lab, the most one address may have at once. Stop a lab you no longer use (or wait until one expires), then start this one again.',
    );
  });

  it('refuses an unknown lesson with its sentence, and builds nothing', async () => {
    const { registry, engine } = setup();
    await refused(registry.create('nope'), API_ERRORS.unknownLesson, 'There is no lesson "nope" with a lab. Check the lesson name in the page address.');
    expect(registry.size).toBe(0);
    expect(engine.obtained).toBe(0);
  });

  it('removes the previous lab of the same browser with its sentence, and leaves other browsers\' labs', async () => {
    const { registry, engine, removals } = setup();
    const old = await registry.create('bridge', { client: 'browser-a' });
    const other = await registry.create('bridge', { client: 'browser-b' });
    const next = await registry.create('pair', { client: 'browser-a' });
    expect(removals).toEqual([{ id: old.lab.id, reason: 'You started a lab in another tab or lesson of this browser, so this one was stopped (one lab per browser).' }]);
    expect(engine.dismantled).toEqual([old.lab.id]);
    expect(registry.authorize(old.lab.id, old.token)).toBeUndefined();
    expect(registry.authorize(other.lab.id, other.token)).toBe(other.lab);
    expect(registry.authorize(next.lab.id, next.token)).toBe(next.lab);
  });

  it('keeps every lab of a browser when LAB_ONE_PER_BROWSER is off', async () => {
    const { registry, removals } = setup({ LAB_ONE_PER_BROWSER: false });
    await registry.create('bridge', { client: 'browser-a' });
    await registry.create('bridge', { client: 'browser-a' });
    expect(removals).toEqual([]);
    expect(registry.size).toBe(2);
  });
});

describe('tokens', () => {
  it('authorizes a lab only with its own token, and refuses a wrong token, another lab\'s token and a malformed id', async () => {
    const { registry } = setup();
    const a = await registry.create('bridge');
    const b = await registry.create('bridge');
    expect(registry.authorize(a.lab.id, a.token)).toBe(a.lab);
    expect(registry.authorize(a.lab.id, `${a.token.slice(0, -1)}${a.token.endsWith('A') ? 'B' : 'A'}`)).toBeUndefined();
    expect(registry.authorize(a.lab.id, b.token)).toBeUndefined();
    expect(registry.authorize(a.lab.id, '')).toBeUndefined();
    expect(registry.authorize(a.lab.id, null)).toBeUndefined();
    for (const id of [a.lab.id.toUpperCase(), `${a.lab.id}0`, a.lab.id.slice(1), '../etc/passwd', '']) {
      expect(registry.authorize(id, a.token)).toBeUndefined();
    }
    // The token itself is never kept: only its hash.
    expect(JSON.stringify(registry.authorize(b.lab.id, b.token))).not.toContain(b.token);
  });
});

describe('what is kept on disk', () => {
  it('writes a lab when it is created, checked, and when its first terminal opens and its last closes; keystrokes on the next sweep', async () => {
    const { registry, store, clock } = setup();
    const { lab } = await registry.create('bridge');
    expect(store.writes).toBe(1);
    registry.terminalOpened(lab);
    registry.terminalOpened(lab);
    expect(store.writes).toBe(2);
    expect(store.records.get(lab.id)!.inUse).toBe(true);
    clock.advance(30);
    registry.touch(lab);
    expect(store.writes).toBe(2);
    await registry.sweep();
    expect(store.writes).toBe(3);
    expect(store.records.get(lab.id)!.lastActive).toBe(START + 30 * S);
    registry.recordCheck(lab, 'ping-host2', CHECK_STATUS.passed, 'host2 answers.');
    expect(store.records.get(lab.id)!.checks).toEqual({ 'ping-host2': { status: CHECK_STATUS.passed, at: START + 30 * S } });
    registry.terminalClosed(lab);
    expect(store.writes).toBe(4);
    registry.terminalClosed(lab);
    expect(store.writes).toBe(5);
    expect(store.records.get(lab.id)!.inUse).toBe(false);
    await registry.remove(lab.id, 'This lab was stopped.');
    expect(store.records.has(lab.id)).toBe(false);
  });

  it('once suspended, keeps labs as they were before their terminals closed', async () => {
    const { registry, store, clock } = setup();
    const { lab } = await registry.create('bridge');
    registry.terminalOpened(lab);
    clock.advance(60);
    registry.touch(lab);
    registry.suspend();
    const kept = structuredClone(store.records.get(lab.id));
    expect(kept).toMatchObject({ inUse: true, lastActive: START + 60 * S });
    clock.advance(5);
    registry.terminalClosed(lab);
    registry.recordCheck(lab, 'ping-host2', CHECK_STATUS.failed, 'Not yet.');
    await registry.sweep();
    expect(store.records.get(lab.id)).toEqual(kept);
  });
});

describe("the learner's side and the instructor's actions", () => {
  it('keeps the name and help flag a learner sets, and tells listeners each time', async () => {
    const { registry, store, clock } = setup();
    const { lab } = await registry.create('bridge');
    const heard: string[] = [];
    registry.onChanged((l) => heard.push(l.id));
    registry.setLearner(lab, { name: 'Ada' });
    clock.advance(10);
    registry.setLearner(lab, { help: true });
    expect(lab).toMatchObject({ learnerName: 'Ada', helpSince: START + 10 * S });
    clock.advance(10);
    registry.setLearner(lab, { help: true });
    expect(lab.helpSince).toBe(START + 10 * S); // asking again does not restart the wait
    expect(store.records.get(lab.id)).toMatchObject({ learnerName: 'Ada', helpSince: START + 10 * S });
    registry.setLearner(lab, { help: false, name: '' });
    expect(lab).toMatchObject({ learnerName: null, helpSince: null });
    expect(heard).toEqual([lab.id, lab.id, lab.id, lab.id]);
  });

  it('remembers the last check with its sentence', async () => {
    const { registry, store } = setup();
    const { lab } = await registry.create('bridge');
    registry.recordCheck(lab, 'ping-host2', CHECK_STATUS.failed, 'host2 does not answer yet.');
    expect(lab.lastCheck).toEqual({ exercise: 'ping-host2', status: CHECK_STATUS.failed, message: 'host2 does not answer yet.', at: START });
    expect(store.records.get(lab.id)!.lastCheck).toEqual(lab.lastCheck);
  });

  it('extends a lab by the minutes asked, but never past its maximum lifetime from now, and restarts its idle clock', async () => {
    const { registry, clock } = setup();
    const { lab } = await registry.create('bridge');
    clock.advance(1800);
    const deadline = lab.expiresAt;
    expect(registry.extend(lab, 10)).toBe(deadline + 10 * 60 * S);
    expect(lab.lastActive).toBe(START + 1800 * S);
    registry.extend(lab, 100_000);
    expect(lab.expiresAt).toBe(START + 1800 * S + LIFETIME_S * S);
  });

  it("keeps a lab's learner state across a restart, and reads records kept before it existed", async () => {
    const first = setup();
    const { lab } = await first.registry.create('bridge');
    first.registry.setLearner(lab, { name: 'Grace', help: true });
    const second = setup({}, first.store, first.clock);
    second.engine.existing = listingOf([lab]);
    await second.registry.adopt();
    expect(second.registry.get(lab.id)).toMatchObject({ learnerName: 'Grace', helpSince: START, createdAt: START });
    const old = { ...first.store.records.get(lab.id)! };
    delete old.createdAt;
    delete old.learnerName;
    delete old.helpSince;
    first.store.records.set(lab.id, old);
    const third = setup({}, first.store, first.clock);
    third.engine.existing = listingOf([lab]);
    await third.registry.adopt();
    expect(third.registry.get(lab.id)).toMatchObject({ learnerName: null, helpSince: null, createdAt: old.lastActive });
  });

  it('builds a lab on the engine asked for, keeps it, and a later process adopts it with that engine (records from before the choice: the default)', async () => {
    const first = setup();
    const { lab } = await first.registry.create('bridge', { engine: '26' });
    const { lab: plain } = await first.registry.create('pair');
    expect([lab.engine, plain.engine]).toEqual(['26', DEFAULT_ENGINE.id]);
    expect(first.store.records.get(lab.id)!.engine).toBe('26');
    const old = { ...first.store.records.get(plain.id)! };
    delete old.engine;
    first.store.records.set(plain.id, old);
    const second = setup({}, first.store, first.clock);
    second.engine.existing = listingOf([lab, plain]);
    await second.registry.adopt();
    expect(second.registry.get(lab.id)!.engine).toBe('26');
    expect(second.registry.get(plain.id)!.engine).toBe(DEFAULT_ENGINE.id);
  });

  it('writes the exercises started in a lab at once, keeps them across a restart, and reads records kept before setups as none started', async () => {
    const first = setup();
    const { lab } = await first.registry.create('bridge');
    first.registry.recordStarted(lab, 'restore-masquerade');
    first.registry.recordStarted(lab, 'restore-masquerade');
    expect(first.store.records.get(lab.id)!.started).toEqual(['restore-masquerade']);
    const second = setup({}, first.store, first.clock);
    second.engine.existing = listingOf([lab]);
    await second.registry.adopt();
    expect(second.registry.get(lab.id)!.started).toEqual(['restore-masquerade']);
    const old = { ...first.store.records.get(lab.id)! };
    delete old.started;
    first.store.records.set(lab.id, old);
    const third = setup({}, first.store, first.clock);
    third.engine.existing = listingOf([lab]);
    await third.registry.adopt();
    expect(third.registry.get(lab.id)!.started).toEqual([]);
  });
});

describe('adopting the labs an earlier process left', () => {
  /**
   * An earlier process's labs, made at START and after, and a successor given the same store:
   * `old` reaches its maximum lifetime, `idle` its idle timeout, `busy` had a terminal open
   * whose last keystroke is as old as idle's, `keep`, `noHost` and `noNetwork` are recent.
   */
  async function earlierRun() {
    const first = setup();
    const made = async (lesson: string) => first.registry.create(lesson);
    const old = await made('bridge');
    first.clock.advance(1000);
    const idle = await made('bridge');
    const busy = await made('pair');
    first.registry.terminalOpened(busy.lab);
    first.clock.advance(2500);
    const keep = await made('pair');
    const noHost = await made('pair');
    const noNetwork = await made('bridge');
    first.clock.advance(200);
    const next = setup({}, first.store, first.clock);
    next.engine.existing = listingOf([old, idle, busy, keep, noHost, noNetwork].map((c) => c.lab), { hostOf: noHost.lab, networkOf: noNetwork.lab });
    return { next, old, idle, busy, keep, noHost, noNetwork };
  }

  it('keeps valid labs with their tokens, expires those past their deadline, and calls those missing a host or network broken', async () => {
    const { next, old, idle, busy, keep, noHost, noNetwork } = await earlierRun();
    expect(next.clock.now()).toBeGreaterThanOrEqual(old.lab.expiresAt);
    const found = await next.registry.adopt();
    expect(found).toMatchObject({ adopted: 2, expired: 2, broken: 2 });
    expect(next.registry.authorize(keep.lab.id, keep.token)?.lesson).toBe('pair');
    expect(next.registry.authorize(busy.lab.id, busy.token)).toBeDefined();
    for (const gone of [old, idle, noHost, noNetwork]) expect(next.registry.authorize(gone.lab.id, gone.token)).toBeUndefined();
    expect(next.logs).toEqual(expect.arrayContaining([
      `lab ${old.lab.id} ended while the runner was not running (maximum lifetime): removing it`,
      `lab ${idle.lab.id} ended while the runner was not running (idle timeout): removing it`,
      `lab ${noHost.lab.id} lost its network or a host while the runner was not running: removing it`,
      `lab ${noNetwork.lab.id} lost its network or a host while the runner was not running: removing it`,
    ]));
    expect([...next.store.records.keys()].sort()).toEqual([busy.lab.id, keep.lab.id].sort());
  });

  it('removes every container and network no adopted lab owns, and revives the adopted labs\' hosts', async () => {
    const { next, busy, keep } = await earlierRun();
    const pooled = { containers: [{ id: 'c-pooled', names: ['dnl-ffffffffffff-host1'], running: true, lab: 'ffffffffffff' }, { id: 'c-probe', names: ['dnl-probe'], running: false }], networks: [{ id: 'n-pooled', name: 'dnl-ffffffffffff', lab: 'ffffffffffff' }] };
    next.engine.existing.containers.push(...pooled.containers);
    next.engine.existing.networks.push(...pooled.networks);
    const found = await next.registry.adopt();
    const owned = new Set([busy.lab.id, keep.lab.id]);
    const stray = { containers: next.engine.existing.containers.filter((c) => !owned.has(c.lab ?? '')), networks: next.engine.existing.networks.filter((n) => !owned.has(n.lab ?? '')) };
    expect(next.engine.removed).toEqual(stray);
    expect(found.orphans).toEqual({ containers: stray.containers.length, networks: stray.networks.length });
    // old, idle and noNetwork's one host each, the pooled lab's and the probe; noHost's two are gone.
    // old's, idle's and noHost's networks, and the pooled lab's; noNetwork's is gone.
    expect(found.orphans).toEqual({ containers: 5, networks: 4 });
    expect(next.engine.revived.map((h) => h.containerName).sort()).toEqual([...busy.lab.hosts, ...keep.lab.hosts].map((h) => h.containerName).sort());
  });

  it('restarts the idle clock of a lab that had a terminal open, at adoption', async () => {
    const { next, busy } = await earlierRun();
    expect(next.store.records.get(busy.lab.id)!.lastActive).toBeLessThan(next.clock.now() - IDLE_S * S);
    await next.registry.adopt();
    const adopted = next.registry.authorize(busy.lab.id, busy.token)!;
    expect(adopted.lastActive).toBe(next.clock.now());
    expect(adopted.openTerminals).toBe(0);
    expect(next.registry.expiryOf(adopted)).toBe(next.clock.now() + IDLE_S * S);
  });
});
