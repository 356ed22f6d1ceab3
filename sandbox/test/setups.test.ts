/**
 * Starting an exercise against real labs: the setup route runs the manifest's hidden setup once
 * per lab and remembers it (GET on the lab lists it), refuses what is not an exercise with a
 * setup, says what to do when a setup fails without showing its output, and shares the lab's
 * one-script-at-a-time lock with checks. Hostile requests get their error and nothing else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERRORS, ROUTES, type LabCreated, type SetupResult } from '../../contract/api.ts';
import type { Exercise } from '../../contract/labspec.ts';
import { labHostContainerName } from '../src/names.ts';
import { api, assertStillServes, createLab, execIn, fixtureSite, startRunner, type RunningRunner } from './harness.ts';

const LESSON = 'setups-fixture';
const exercise = (id: string, setup?: string): Exercise => ({
  id, title: `Fixture ${id}`, host: 'host1', check: 'test -f /root/done', timeoutSeconds: 10, line: 1, wrong: [],
  ...(setup ? { setup: { host: 'host1', code: setup, line: 2 } } : {}),
});
const EXERCISES = [
  // Each run adds a line, so the test sees how often it ran.
  exercise('counted', 'echo ran >> /root/counted-runs'),
  exercise('no-setup'),
  exercise('fails', 'echo "the hidden fault is iptables" >&2; exit 3'),
  exercise('slow', 'sleep 2; echo ran >> /root/slow-runs'),
  { ...exercise('slow-check'), check: 'sleep 2; false' },
];

describe('starting exercises', () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  let other: LabCreated;
  const start = (id: string, token = lab.token, labId = lab.id) => api(runner, 'POST', ROUTES.setup.path(labId, id), token ? { token } : {});
  const check = (id: string) => api(runner, 'POST', ROUTES.check.path(lab.id, id), { token: lab.token });
  const runs = async (file: string) => (await execIn(labHostContainerName(lab.id, 'host1'), ['sh', '-c', `cat /root/${file} 2>/dev/null | wc -l`])).output.trim();
  const started = async () => (await runner.client.get(lab)).started;

  beforeAll(async () => {
    runner = await startRunner({ ...fixtureSite({ [LESSON]: { title: 'Setups', lab: { hosts: ['host1'] }, exercises: EXERCISES } }) });
    [lab, other] = await Promise.all([createLab(runner, LESSON), createLab(runner, LESSON)]);
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it('runs the setup once per lab: a second start answers 200 without running it, and the lab lists the exercise as started', async () => {
    expect(await started()).toEqual([]);
    const first = await start('counted');
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ exercise: 'counted', ran: true } satisfies Partial<SetupResult>);
    expect(first.json.message).toMatch(/ready/);
    const second = await start('counted');
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ exercise: 'counted', ran: false });
    expect(await runs('counted-runs')).toBe('1');
    expect(await started()).toEqual(['counted']);
    // Another lab of the same lesson has started nothing.
    expect((await runner.client.get(other)).started).toEqual([]);
  });

  it('answers a failed setup with a sentence that says what to do, without its output, and lets it be started again', async () => {
    const res = await start('fails');
    expect(res.status).toBe(409);
    expect(res.json.error).toBe(API_ERRORS.setupFailed.code);
    expect(res.json.message).toMatch(/could not be started: its setup on host1 stopped with status 3\. .*press Start exercise again/);
    expect(res.text).not.toContain('iptables');
    expect(await started()).not.toContain('fails');
    expect((await start('fails')).status).toBe(409);
  });

  it('refuses an exercise without a setup, an unknown one, and any request without this lab\'s token, each with 404 and a sentence', async () => {
    const none = await start('no-setup');
    expect(none.status).toBe(404);
    expect(none.json).toMatchObject({ error: API_ERRORS.noSetup.code });
    expect(none.json.message).toMatch(/has nothing to start/);
    const unknown = await start('no-such-exercise');
    expect(unknown.json).toMatchObject({ error: API_ERRORS.exerciseNotFound.code });
    for (const [what, res] of [
      ['no token', await start('counted', '')],
      ['a wrong token', await start('counted', 'not-the-token')],
      ["another lab's token", await start('counted', other.token)],
      ['a malformed lab id', await start('counted', lab.token, '../../etc')],
      ['an overlong lab id', await start('counted', lab.token, 'a'.repeat(5000))],
    ] as const) {
      expect({ what, status: res.status, error: res.json?.error }).toEqual({ what, status: 404, error: API_ERRORS.labNotFound.code });
    }
    for (const id of ['..', '%00', 'counted/../slow', 'x'.repeat(10_000)]) {
      const res = await api(runner, 'POST', `/api/labs/${lab.id}/setups/${encodeURIComponent(id)}`, { token: lab.token });
      expect({ id: id.slice(0, 20), status: res.status }).toEqual({ id: id.slice(0, 20), status: 404 });
      expect(res.text.length).toBeLessThan(500);
    }
    expect((await api(runner, 'GET', ROUTES.setup.path(lab.id, 'counted'), { token: lab.token })).json.error).toBe(API_ERRORS.notFound.code);
    const foreign = await api(runner, 'POST', ROUTES.setup.path(lab.id, 'slow'), { token: lab.token, headers: { origin: 'http://evil.example' } });
    expect(foreign.json.error).toBe(API_ERRORS.forbiddenOrigin.code);
    expect(await runs('slow-runs')).toBe('0');
  });

  it('runs one script at a time per lab: a start or a check during a setup gets 409 setup_running, and the setup still runs once', async () => {
    const slow = start('slow');
    await new Promise((r) => setTimeout(r, 500));
    const again = await start('slow');
    const checked = await check('counted');
    expect([again.status, again.json.error]).toEqual([409, API_ERRORS.setupRunning.code]);
    expect([checked.status, checked.json.error]).toEqual([409, API_ERRORS.setupRunning.code]);
    expect(checked.json.message).toMatch(/being started/);
    expect((await slow).json).toMatchObject({ ran: true });
    expect(await runs('slow-runs')).toBe('1');
    expect(await started()).toEqual(['counted', 'slow']);
    // A burst of starts of a started exercise runs nothing more.
    const burst = await Promise.all(Array.from({ length: 10 }, () => start('slow')));
    expect(burst.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect(await runs('slow-runs')).toBe('1');
  });

  it('refuses a start while a check runs in the lab, with 409 check_running, and runs nothing', async () => {
    const checking = api(runner, 'POST', ROUTES.check.path(other.id, 'slow-check'), { token: other.token });
    await new Promise((r) => setTimeout(r, 500));
    const during = await start('counted', other.token, other.id);
    expect([during.status, during.json.error]).toEqual([409, API_ERRORS.checkRunning.code]);
    expect((await checking).status).toBe(200);
    expect((await runner.client.get(other)).started).toEqual([]);
  });

  it('keeps serving after all of it', async () => {
    await assertStillServes(runner, lab);
  });
});
