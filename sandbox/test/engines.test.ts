/**
 * Two engines side by side, against the real Docker Engine: each lab runs the Docker Engine its
 * learner chose (the lab host images dnl/labhost:forky and :trixie), the answer says which, a
 * successor runner adopts the lab with it, and an engine the runner does not offer is refused
 * with a sentence naming those it does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERRORS, type LabCreated } from '../../contract/api.ts';
import { ENGINES, type Engine } from '../../contract/labspec.ts';
import { proveEngine } from '../tools/verifier.ts';
import { api, instanceObjects, poolReady, startRunner, TerminalClient, type RunningRunner, LESSONS, labFixtures } from './harness.ts';

/** What the engine inside the lab's first host says it is, asked in a terminal as a learner would. */
async function serverVersion(runner: RunningRunner, lab: LabCreated): Promise<string> {
  const term = await TerminalClient.open(runner, lab, lab.hosts[0]!);
  try {
    await term.waitForPrompt();
    // Debian's package adds a suffix: "26.1.5+dfsg1".
    return /^(\d+\.\d+\.\d+)\+?\S*\s*$/m.exec(await term.run("docker version --format '{{.Server.Version}}'"))?.[1] ?? 'no version printed';
  } finally {
    term.close();
  }
}

const OFFERS_ALL = /This lab server offers 28 \(Docker Engine 28\.5\.2\) and 26 \(Docker Engine 26\.1\.5\): choose one of those\./;

describe('a runner offering both engines', () => {
  let runner: RunningRunner;
  beforeAll(async () => {
    runner = await startRunner(labFixtures());
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it('lists both engines with their versions in health, the default first', async () => {
    expect((await runner.client.health()).engines).toEqual(ENGINES.map((e) => ({ id: e.id, version: e.version, state: 'ready' })));
  });

  it('runs each lab on the engine asked for (the default when none is), says so in its answers, and docker version inside agrees', async () => {
    for (const [asked, version] of [['26', '26.1.5'], ['28', '28.5.2'], [undefined, '28.5.2']] as const) {
      const lab = await runner.client.create(LESSONS.oneHost, asked ? { engine: asked } : {});
      expect(lab.engine).toEqual({ id: asked ?? '28', version });
      expect((await runner.client.get(lab)).engine).toEqual(lab.engine);
      expect(await serverVersion(runner, lab)).toBe(version);
      await runner.client.delete(lab);
    }
  }, 120_000);

  it('refuses an engine it does not offer, of any type or size, with 400 and a sentence naming those it offers, and builds nothing', async () => {
    const instance = runner.env.LAB_INSTANCE!;
    const before = await instanceObjects(instance);
    for (const engine of ['27', '28.5.2', '', 26, null, { id: '26' }, ['26'], 'x'.repeat(10_000)]) {
      const answer = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost, engine } });
      expect(answer.status, JSON.stringify(engine).slice(0, 40)).toBe(400);
      expect(answer.json.error).toBe(API_ERRORS.badRequest.code);
      expect(answer.json.message).toMatch(/^There is no Docker Engine /);
      expect(answer.json.message).toMatch(OFFERS_ALL);
      // The sentence quotes at most a little of what was sent.
      expect(answer.json.message.length).toBeLessThan(200);
    }
    expect(await instanceObjects(instance)).toEqual(before);
    expect((await runner.client.health()).labs).toBe(0);
  });

  it('lets the verifier prove each engine in a lab host, and refuses one whose lab host runs another version', async () => {
    for (const engine of ENGINES) await proveEngine(runner.url, LESSONS.oneHost, engine);
    const claimed: Engine = { ...ENGINES[1], version: '25.0.0' } as unknown as Engine;
    await expect(proveEngine(runner.url, LESSONS.oneHost, claimed)).rejects.toThrow(/^A lab host created for Docker Engine 25\.0\.0 runs 26\.1\.5\+dfsg1: its image \(Debian trixie\) no longer ships that version\./);
    expect((await runner.client.health()).labs).toBe(0);
  }, 120_000);
});

describe('a runner with a warm pool and both engines', () => {
  it('keeps labs of the default engine only, and builds a lab of the other on request', async () => {
    const runner = await startRunner({ ...labFixtures(), LAB_POOL_SIZE: '1' });
    try {
      const pool = await poolReady(runner, 2);
      expect(pool.shapes.map((s) => [s.shape, s.engine, s.size, s.ready])).toEqual([
        ['host1', '28', 1, 1], ['host1', '26', 0, 0], ['host1,host2', '28', 1, 1], ['host1,host2', '26', 0, 0],
      ]);
      const other = await runner.client.create(LESSONS.oneHost, { engine: '26' });
      const pooled = await runner.client.create(LESSONS.oneHost, { engine: '28' });
      // The runner's log reaches this process through a pipe, which may lag behind the HTTP answers.
      await expect.poll(() => runner.output(), { timeout: 5_000 }).toContain(`lab ${other.id} created for ${LESSONS.oneHost}`);
      await expect.poll(() => runner.output(), { timeout: 5_000 }).toContain(`lab ${pooled.id} taken from the warm pool for ${LESSONS.oneHost}`);
      expect(await serverVersion(runner, other)).toBe('26.1.5');
    } finally {
      await runner.stop();
    }
  }, 120_000);
});

describe('a runner with LAB_ENGINES=26', () => {
  it('offers Engine 26.1.5 alone: its labs run it without asking, Engine 28 is refused, and a successor adopts the lab with its engine', async () => {
    const first = await startRunner({ ...labFixtures(), LAB_ENGINES: '26' });
    let second: RunningRunner | undefined;
    try {
      expect((await first.client.health()).engines).toEqual([{ id: '26', version: '26.1.5', state: 'ready' }]);
      const refused = await api(first, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost, engine: '28' } });
      expect(refused.status).toBe(400);
      expect(refused.json.message).toMatch(/This lab server offers 26 \(Docker Engine 26\.1\.5\): choose one of those\./);
      const lab = await first.client.create(LESSONS.oneHost);
      expect(lab.engine).toEqual({ id: '26', version: '26.1.5' });
      expect(await first.signal('SIGTERM')).toBe(0);

      // The successor offers both: the lab keeps the engine it was built with.
      const { LAB_ENGINES: _, ...env } = first.env;
      second = await startRunner(env);
      expect(second.output()).toMatch(/took over 1 lab\(s\)/);
      expect((await second.client.get(lab)).engine).toEqual({ id: '26', version: '26.1.5' });
      expect(await serverVersion(second, lab)).toBe('26.1.5');
    } finally {
      await first.stop();
      await second?.stop();
    }
  }, 120_000);
});
