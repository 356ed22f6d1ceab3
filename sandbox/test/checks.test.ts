/**
 * The check endpoint against real labs: a check runs the manifest's script by exercise id,
 * reports passed / failed / timed out with its output, and a check that hangs leaves the lab
 * usable and nothing of itself behind. A page in another language gets that translation's check,
 * whose sentences are in its language; a language the course does not have is refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECK_LANG_PARAM, CHECK_STATUS, ROUTES, type CheckResult, type LabCreated } from '../../contract/api.ts';
import { labHostContainerName } from '../src/names.ts';
import type { Exercise } from '../../contract/labspec.ts';
import { api, assertStillServes, createLab, execIn, fixtureSite, startRunner, TerminalClient, type RunningRunner } from './harness.ts';

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
      ...fixtureSite(
        { [LESSON]: { title: 'Checks', lab: { hosts: ['host1'] }, exercises: EXERCISES } },
        // The Chinese chapter: the same exercises, its checks' sentences in Chinese.
        { zh: { [LESSON]: { title: '检查', lab: { hosts: ['host1'] }, exercises: EXERCISES.map((e) => ({ ...e, check: e.check.replace('/root/done does not exist yet', '/root/done 还不存在') })) } } },
      ),
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

  it("runs the check in the page's language: the translation's sentences with ?lang=zh, English without or with lang=en", async () => {
    const inChinese = await api(runner, 'POST', ROUTES.check.path(lab.id, 'file-exists', 'zh'), { token: other.token });
    expect(inChinese.status).toBe(404); // another lab's token, as for English
    const zhAnswer = await api(runner, 'POST', ROUTES.check.path(other.id, 'file-exists', 'zh'), { token: other.token });
    expect(zhAnswer.json).toMatchObject({ status: CHECK_STATUS.failed, output: '/root/done 还不存在' });
    for (const lang of [undefined, 'en']) {
      const answer = await api(runner, 'POST', ROUTES.check.path(other.id, 'file-exists', lang), { token: other.token });
      expect(answer.json, String(lang)).toMatchObject({ status: CHECK_STATUS.failed, output: '/root/done does not exist yet' });
    }
  });

  it('refuses a language the course does not have with 400 and a sentence, runs nothing, and keeps serving', async () => {
    for (const lang of ['fr', '', '__proto__', 'constructor', 'hasOwnProperty', 'zh\u0000', 'x'.repeat(10_000)]) {
      // Spelled out: the path builder leaves an empty lang out.
      const res = await api(runner, 'POST', `${ROUTES.check.path(other.id, 'file-exists')}?${CHECK_LANG_PARAM}=${encodeURIComponent(lang)}`, { token: other.token });
      expect(res.status, JSON.stringify(lang.slice(0, 20))).toBe(400);
      expect(res.json.error).toBe('bad_request');
      expect(res.json.message).toMatch(/^This course has no checks in the language ".{0,16}"; it has en, zh\. Reload the page\.$/s);
    }
    // ?lang= given twice: the first counts, as URLSearchParams reads it.
    const twice = await api(runner, 'POST', `${ROUTES.check.path(other.id, 'file-exists', 'zh')}&lang=fr`, { token: other.token });
    expect(twice.json).toMatchObject({ output: '/root/done 还不存在' });
    await assertStillServes(runner, other);
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
