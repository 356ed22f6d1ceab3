/**
 * Warming for a room against a real runner and real labs: the instructor warms the pool for 30
 * learners on one chapter, the 30 press Start lab in the same second from 30 addresses and each
 * has a prompt within 2 s; the room uses the warming up and the pool shrinks back when it ends;
 * a warming that would not fit, or that is malformed, is refused with a sentence and builds nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { INSTRUCTOR_ROUTES, MAX_WARM_MINUTES, type WarmRequest } from '../../contract/api.ts';
import { api, apiFrom, instanceObjects, labFixtures, LESSONS, percentile, poolReady, signInInstructor, startRunner, TerminalClient, type RunningRunner } from './harness.ts';

const CODE = 'lighthouse-keeper-7';
const ROOM = 30;
/** The promise: every learner of a warmed room types within 2 s of pressing Start lab. */
const PROMPT_WITHIN_MS = 2_000;

/** Warm for a room; `cookie` is the instructor's session (signInInstructor), or '' for none. */
function warm(runner: RunningRunner, cookie: string, body: Partial<Record<keyof WarmRequest, unknown>> | string) {
  return api(runner, 'POST', INSTRUCTOR_ROUTES.warm.path(), { body, headers: cookie ? { cookie } : {} });
}

describe('a room warmed by the instructor', () => {
  let runner: RunningRunner | undefined;
  afterEach(async () => {
    await runner?.stop();
    runner = undefined;
  });

  it(`gives ${ROOM} learners pressing Start lab in the same second, from ${ROOM} addresses, each a prompt within 2 s; the room uses the warming up`, async () => {
    runner = await startRunner({ ...labFixtures(), LAB_INSTRUCTOR_CODE: CODE, LAB_MAX_LABS: String(ROOM) });
    const instructor = await signInInstructor(runner, CODE);
    const began = performance.now();
    const warmed = await warm(runner, instructor, { lesson: LESSONS.oneHost, count: ROOM, minutes: 30 });
    expect(warmed.status).toBe(200);
    expect(warmed.json).toMatchObject({ shape: 'host1', lessons: [LESSONS.oneHost], size: 0, room: { lesson: LESSONS.oneHost, count: ROOM, taken: 0 } });
    await poolReady(runner, ROOM, 180_000);
    console.log(`room of ${ROOM}: pool filled in ${((performance.now() - began) / 1000).toFixed(1)} s`);

    const waits = await Promise.all(Array.from({ length: ROOM }, async (_, i) => {
      const pressed = performance.now();
      const created = await apiFrom(`127.0.0.${i + 2}`, runner!, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } });
      expect(created.status).toBe(201);
      const term = await TerminalClient.open(runner!, created.json, 'host1');
      await term.waitForPrompt(10_000);
      const ms = performance.now() - pressed;
      term.close();
      return ms;
    }));
    console.log(`room of ${ROOM}: press to prompt median ${percentile(waits, 50).toFixed(0)} ms, max ${Math.max(...waits).toFixed(0)} ms`);
    expect(Math.max(...waits)).toBeLessThan(PROMPT_WITHIN_MS);

    // Thirty taken from a warming for thirty: nothing more is built (the pool's size is 0 here).
    const { pool } = await runner.client.health();
    expect(pool.shapes.find((s) => s.shape === 'host1')).toMatchObject({ ready: 0, starting: 0, room: { count: ROOM, taken: ROOM } });
    expect(await instanceObjects(runner.env.LAB_INSTANCE!)).toEqual({ containers: ROOM, networks: ROOM });
  }, 300_000);

  it('shrinks back to its size when the instructor ends the warming, keeping the labs learners hold', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_INSTRUCTOR_CODE: CODE, LAB_POOL_SIZE: '1' });
    const instructor = await signInInstructor(runner, CODE);
    expect((await warm(runner, instructor, { lesson: LESSONS.twoHosts, count: 4, minutes: 30 })).status).toBe(200);
    let pool = await poolReady(runner, 1 + 4);
    expect(pool.shapes.find((s) => s.shape === 'host1,host2')).toMatchObject({ size: 1, ready: 4, room: { count: 4, taken: 0 } });
    const lab = (await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.twoHosts } })).json;

    const ended = await api(runner, 'DELETE', INSTRUCTOR_ROUTES.warmLesson.path(LESSONS.twoHosts), { headers: { cookie: instructor } });
    expect(ended.status).toBe(204);
    pool = (await runner.client.health()).pool;
    expect(pool.shapes.find((s) => s.shape === 'host1,host2')).toMatchObject({ size: 1, ready: 1, room: null });
    // One pooled lab of each shape and the learner's lab: 1 + 2 + 2 hosts, three networks.
    await expect.poll(() => instanceObjects(runner!.env.LAB_INSTANCE!), { timeout: 10_000 }).toEqual({ containers: 5, networks: 3 });
    expect((await api(runner, 'GET', `/api/labs/${lab.id}`, { token: lab.token })).status).toBe(200);
    // Ending it again is no error: there is no warming left to end.
    expect((await api(runner, 'DELETE', INSTRUCTOR_ROUTES.warmLesson.path(LESSONS.twoHosts), { headers: { cookie: instructor } })).status).toBe(204);
  }, 120_000);

  it('refuses a warming the machine would not hold, or past LAB_MAX_LABS, saying how many fit, and one that is malformed; builds nothing', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_INSTRUCTOR_CODE: CODE, LAB_MAX_LABS: '10000' });
    const instructor = await signInInstructor(runner, CODE);
    // ~70 MiB a lab in use: 5000 need ~340 GiB, more than any machine this runs on has.
    const tooMany = await warm(runner, instructor, { lesson: LESSONS.oneHost, count: 5000, minutes: 30 });
    expect(tooMany.status).toBe(409);
    expect(tooMany.json).toEqual({
      error: 'room_too_large',
      message: expect.stringMatching(/^Keeping 5000 labs ready for one-host would need about [\d.]+ GiB more memory, and this machine can spare [\d.]+ GiB \([\d.]+ GiB available, 1\.0 GiB kept free for the runner and labs in use\)\. About (\d+) fit: warm for \1 learners or fewer, or end labs nobody uses first\.$/),
    });
    await runner.stop();

    runner = await startRunner({ ...labFixtures(), LAB_INSTRUCTOR_CODE: CODE, LAB_MAX_LABS: '20' });
    const again = await signInInstructor(runner, CODE);
    const pastMax = await warm(runner, again, { lesson: LESSONS.oneHost, count: 21, minutes: 30 });
    expect(pastMax.status).toBe(409);
    expect(pastMax.json.message).toBe('The runner holds at most 20 labs at once (LAB_MAX_LABS), so it cannot keep 21 ready for one-host. Warm for 20 learners or fewer, or restart the runner with a higher LAB_MAX_LABS if the machine holds them.');

    expect((await warm(runner, again, { lesson: 'no-such-lesson', count: 3, minutes: 30 })).json.error).toBe('unknown_lesson');
    expect((await api(runner, 'DELETE', INSTRUCTOR_ROUTES.warmLesson.path('no-such-lesson'), { headers: { cookie: again } })).json.error).toBe('unknown_lesson');
    expect((await warm(runner, again, '{"lesson":')).json.error).toBe('bad_json');
    const malformed: Array<Partial<Record<keyof WarmRequest, unknown>> | string> = [
      'null', '[]', '"one-host"',
      { count: 3, minutes: 30 },
      { lesson: '', count: 3, minutes: 30 },
      { lesson: { toString: 'x' }, count: 3, minutes: 30 },
      { lesson: LESSONS.oneHost, count: '3', minutes: 30 },
      { lesson: LESSONS.oneHost, count: 0, minutes: 30 },
      { lesson: LESSONS.oneHost, count: 2.5, minutes: 30 },
      { lesson: LESSONS.oneHost, count: 1e300, minutes: 30 },
      { lesson: LESSONS.oneHost, count: 3 },
      { lesson: LESSONS.oneHost, count: 3, minutes: 0 },
      { lesson: LESSONS.oneHost, count: 3, minutes: MAX_WARM_MINUTES + 1 },
    ];
    for (const body of malformed) {
      expect((await warm(runner, again, body)).json, JSON.stringify(body)).toEqual({
        error: 'bad_request',
        message: `Send {"lesson": "<lesson>", "count": <learners>, "minutes": <how long>}: count a whole number from 1, minutes a whole number from 1 to ${MAX_WARM_MINUTES}.`,
      });
    }
    // Without the session cookie, nothing is warmed.
    expect((await warm(runner, '', { lesson: LESSONS.oneHost, count: 3, minutes: 30 })).json.error).toBe('sign_in_required');
    expect((await runner.client.health()).pool.shapes.every((s) => s.room === null && s.ready + s.starting === 0)).toBe(true);
    expect(await instanceObjects(runner.env.LAB_INSTANCE!)).toEqual({ containers: 0, networks: 0 });
  }, 120_000);
});
