/**
 * The check endpoint against real labs: a check runs the manifest's script by exercise id,
 * reports passed / failed / timed out with its output, and a check that hangs leaves the lab
 * usable and nothing of itself behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_STATUS, ROUTES, type CheckResult, type LabCreated } from '../../contract/api.ts';
import { labHostContainerName } from '../src/names.ts';
import type { Exercise } from '../../contract/labspec.ts';
import { api, createLab, execIn, fixtureSite, startRunner, TerminalClient, type RunningRunner } from './harness.ts';

const LESSON = 'checks-fixture';
const exercise = (id: string, check: string, timeoutSeconds = 10): Exercise => ({ id, title: `Fixture ${id}`, host: 'host1', check, timeoutSeconds, line: 1, wrong: [] });
const EXERCISES = [
  exercise('file-exists', 'test -f /root/done || { echo "/root/done does not exist yet" >&2; exit 1; }'),
  // A check that hangs, with a background job of its own: both must be gone after the timeout.
  exercise('hangs', 'sleep 1001 & sleep 1002', 2),
  exercise('slow', 'sleep 3'),
];

describe('exercise checks', () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  let other: LabCreated;
  const check = (id: string, token = lab.token, labId = lab.id) => api(runner, 'POST', ROUTES.check.path(labId, id), { token });

  beforeAll(async () => {
    runner = await startRunner({
      ...fixtureSite({ [LESSON]: { title: 'Checks', lab: { hosts: ['host1'] }, exercises: EXERCISES } }),
    });
    [lab, other] = await Promise.all([createLab(runner, LESSON), createLab(runner, LESSON)]);
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it('reports "not yet" with the check output before the task is done, and passed after', async () => {
    const before = await check('file-exists');
    expect(before.status).toBe(200);
    expect(before.json).toMatchObject({ exercise: 'file-exists', status: CHECK_STATUS.failed, passed: false, output: '/root/done does not exist yet' } satisfies Partial<CheckResult>);
    expect(before.json.message).toMatch(/^Not yet/);

    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    await term.run('touch /root/done');
    term.close();

    const after = await check('file-exists');
    expect(after.json).toMatchObject({ status: CHECK_STATUS.passed, passed: true, message: 'Passed: Fixture file-exists.' });
  });

  it('answers an exercise id the lesson does not have with 404, and another lab\'s token with 404', async () => {
    const unknown = await check('no-such-exercise');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: 'exercise_not_found' });
    expect(unknown.json.message).toMatch(/no exercise "no-such-exercise"/);
    expect((await check('file-exists', other.token)).status).toBe(404);
    expect((await check('file-exists', 'wrong')).status).toBe(404);
  });

  it('stops a check that runs past its timeout, reports it as timed out, and leaves the lab usable', async () => {
    const started = Date.now();
    const res = await check('hangs');
    expect(res.json).toMatchObject({ status: CHECK_STATUS.timedOut, passed: false });
    expect(res.json.message).toMatch(/did not finish within 2 seconds/);
    expect(Date.now() - started).toBeLessThan(6_000);

    // Nothing of the check is left running in the lab host.
    const left = await execIn(labHostContainerName(lab.id, 'host1'), ['sh', '-c', 'pgrep -f "sleep 100[12]" || echo none']);
    expect(left.output.trim()).toBe('none');
    // The learner's shell and further checks still work.
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    expect(await term.run('echo still-here')).toContain('still-here');
    term.close();
    expect((await check('file-exists')).json.status).toBe(CHECK_STATUS.passed);
  });

  it('runs one check at a time per lab: a second one meanwhile gets 409 with a sentence', async () => {
    const slow = check('slow');
    await new Promise((r) => setTimeout(r, 300));
    const second = await check('file-exists');
    expect(second.status).toBe(409);
    expect(second.json.message).toMatch(/already running/);
    expect((await slow).json.status).toBe(CHECK_STATUS.passed);
    // Another lab is not held up by this one.
    expect((await check('file-exists', other.token, other.id)).json.status).toBe(CHECK_STATUS.failed);
  });

  it('does not serve the manifest, which holds the checks, to browsers', async () => {
    // The fixture's manifest sits beside its site, at ../.lab/ (sandbox/test/site.test.ts tries every spelling on a real build).
    for (const spelling of ['/lab-manifest.json', '/.lab/lab-manifest.json', '/../.lab/lab-manifest.json', '/%2e%2e/.lab/lab-manifest.json']) {
      const res = await api(runner, 'GET', spelling);
      expect({ spelling, status: res.status }).toEqual({ spelling, status: 404 });
      expect(res.text).not.toContain('/root/done');
    }
  });
});
