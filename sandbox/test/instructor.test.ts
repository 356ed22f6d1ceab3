/**
 * The instructor dashboard's runner side against real labs: signing in (and being refused),
 * the room pushed as it changes, the learner's name and help flag, watching a terminal
 * read-only, the message to every learner, extending and ending a lab, and the CSV export.
 * The pages themselves are in e2e/instructor.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API_ERRORS, INSTRUCTOR_COOKIE, INSTRUCTOR_ROUTES, ROUTES } from '../../contract/api.ts';
import { ISOLATION } from '../../contract/isolation.ts';
import { CLOSE_CODES } from '../../contract/protocol.ts';
import { LabEventsClient, RoomStream, WatchClient } from '../tools/room-clients.ts';
import { api, apiFrom, CLEAR_LINE, createLab, LESSONS, labFixtures, percentile, signInInstructor, startRunner, TerminalClient, type RunningRunner } from './harness.ts';

const CODE = 'teach-the-room-42';

const signIn = (runner: RunningRunner) => signInInstructor(runner, CODE);

describe('the instructor dashboard (runner side)', () => {
  let runner: RunningRunner | undefined;
  afterEach(async () => {
    await runner?.stop();
    runner = undefined;
  });

  it('answers every instructor route with instructor_off when LAB_INSTRUCTOR_CODE is not set', async () => {
    runner = await startRunner(labFixtures());
    for (const path of [INSTRUCTOR_ROUTES.session.path(), INSTRUCTOR_ROUTES.events.path(), INSTRUCTOR_ROUTES.progress.path()]) {
      const answer = await api(runner, 'GET', path);
      expect(answer.status, path).toBe(404);
      expect(answer.json.error).toBe(API_ERRORS.instructorOff.code);
    }
    expect((await api(runner, 'GET', ROUTES.health.path())).json.instructorDashboard).toBe(false);
  });

  it('refuses every instructor route without the session cookie, throttles wrong codes, and sets an HttpOnly SameSite=Strict cookie scoped to /instructor', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_INSTRUCTOR_CODE: CODE });
    const lab = await createLab(runner, LESSONS.oneHost);
    const routes: [string, string][] = [
      ['GET', INSTRUCTOR_ROUTES.session.path()],
      ['GET', INSTRUCTOR_ROUTES.events.path()],
      ['DELETE', INSTRUCTOR_ROUTES.lab.path(lab.id)],
      ['POST', INSTRUCTOR_ROUTES.extend.path(lab.id)],
      ['DELETE', INSTRUCTOR_ROUTES.help.path(lab.id)],
      ['POST', INSTRUCTOR_ROUTES.broadcast.path()],
      ['GET', INSTRUCTOR_ROUTES.progress.path()],
      ['POST', INSTRUCTOR_ROUTES.warm.path()],
      ['DELETE', INSTRUCTOR_ROUTES.warmLesson.path(LESSONS.oneHost)],
    ];
    const forged = `${INSTRUCTOR_COOKIE}=${'A'.repeat(43)}`;
    for (const [method, path] of routes) {
      for (const headers of [{}, { cookie: forged }, { cookie: `${INSTRUCTOR_COOKIE}=../../etc` }] as Record<string, string>[]) {
        const answer = await api(runner, method, path, { headers, ...(method === 'POST' ? { body: { minutes: 5, text: 'hi' } } : {}) });
        expect(answer.status, `${method} ${path}`).toBe(401);
        expect(answer.json.error).toBe(API_ERRORS.signInRequired.code);
      }
    }
    await expect(WatchClient.open(runner, lab.id, 'host1', forged)).rejects.toThrow('upgrade refused with 401');
    // The lab is untouched by all that.
    expect((await api(runner, 'GET', ROUTES.lab.path(lab.id), { token: lab.token })).status).toBe(200);

    // Wrong codes: refused, then throttled per address (another address may still try).
    const tries = [];
    for (let i = 0; i < 6; i++) tries.push(await apiFrom('127.0.0.7', runner, 'POST', INSTRUCTOR_ROUTES.session.path(), { body: { code: `wrong-${i}-code` } }));
    expect(tries.slice(0, 5).map((t) => t.status)).toEqual([403, 403, 403, 403, 403]);
    expect(tries[0]!.json.error).toBe(API_ERRORS.instructorCodeWrong.code);
    expect(tries[5]!.status).toBe(429);
    expect(tries[5]!.headers['retry-after']).toMatch(/^\d+$/);
    const right = await apiFrom('127.0.0.7', runner, 'POST', INSTRUCTOR_ROUTES.session.path(), { body: { code: CODE } });
    expect(right.status).toBe(429);
    for (const body of ['{', '"code"', { code: 42 }, { code: 'x'.repeat(10_000) }]) {
      expect([400, 403]).toContain((await apiFrom('127.0.0.8', runner, 'POST', INSTRUCTOR_ROUTES.session.path(), { body })).status);
    }

    const signedIn = await api(runner, 'POST', INSTRUCTOR_ROUTES.session.path(), { body: { code: CODE } });
    expect(signedIn.status).toBe(204);
    const cookie = String(signedIn.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`^${INSTRUCTOR_COOKIE}=[A-Za-z0-9_-]{43}; `));
    expect(cookie).toContain('; Path=/instructor;');
    expect(cookie).toContain('; HttpOnly;');
    expect(cookie).toContain('; SameSite=Strict;');
    const session = cookie.split(';')[0]!;
    expect((await api(runner, 'GET', INSTRUCTOR_ROUTES.session.path(), { headers: { cookie: session } })).status).toBe(204);
    // A cookie of the same name that a preview page set for the parent domain does not sign the instructor out.
    expect((await api(runner, 'GET', INSTRUCTOR_ROUTES.session.path(), { headers: { cookie: `${forged}; ${session}` } })).status).toBe(204);
    // Another site's page cannot act with it, even if a browser sent it.
    const foreign = await api(runner, 'DELETE', INSTRUCTOR_ROUTES.lab.path(lab.id), { headers: { cookie: session, origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);
    // Signing out ends the session.
    expect((await api(runner, 'DELETE', INSTRUCTOR_ROUTES.session.path(), { headers: { cookie: session } })).status).toBe(204);
    expect((await api(runner, 'GET', INSTRUCTOR_ROUTES.session.path(), { headers: { cookie: session } })).status).toBe(401);
  });

  it('pushes the room within 2 s of each change: a new lab, a name, a help request, a watcher; and the learner sees messages, watchers and why the lab ended', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_INSTRUCTOR_CODE: CODE });
    expect((await api(runner, 'GET', ROUTES.health.path())).json.instructorDashboard).toBe(true);
    const cookie = await signIn(runner);
    const room = await RoomStream.open(runner, cookie);
    try {
      const first = await room.waitFor((r) => r.labs.length === 0 && r.capacity.maxLabs > 0);
      // The machine's engine does not remap user namespaces (userns.test.ts has one that does).
      expect(first.room.capacity.isolation).toEqual({ sandboxed: false, sentence: ISOLATION.rootEquivalent });

      let since = performance.now();
      const lab = await createLab(runner, LESSONS.twoHosts);
      let seen = await room.waitFor((r) => r.labs.some((l) => l.id === lab.id), 2_000, 'the new lab in the roster');
      expect(seen.at - since).toBeLessThan(2_000);
      expect(seen.room.labs[0]).toMatchObject({ id: lab.id, name: null, lesson: LESSONS.twoHosts, hosts: ['host1', 'host2'], help: null, passed: [], lastCheck: null, cell: null });
      // One machine: no Machines panel.
      expect(seen.room.cells).toBeNull();

      const events = await LabEventsClient.open(runner, lab);
      await events.waitForState((s) => s.learner.name === null && s.watchers === 0 && s.notice === null);

      // The learner's name and help flag, from the learner's side; hostile input cleaned or refused.
      since = performance.now();
      const named = await api(runner, 'PUT', ROUTES.learner.path(lab.id), { token: lab.token, body: { name: '  Ada\u0000\n Lovelace\u202e  ', help: true } });
      expect(named.json).toEqual({ name: 'Ada Lovelace', help: true });
      seen = await room.waitFor((r) => r.labs[0]?.name === 'Ada Lovelace' && r.labs[0]?.help !== null, 2_000, 'the name and help flag');
      expect(seen.at - since).toBeLessThan(2_000);
      await events.waitForState((s) => s.learner.name === 'Ada Lovelace' && s.learner.help);
      for (const body of ['{', { name: 42 }, { help: 'yes' }, [1]]) {
        expect((await api(runner, 'PUT', ROUTES.learner.path(lab.id), { token: lab.token, body })).status).toBe(400);
      }
      expect((await api(runner, 'PUT', ROUTES.learner.path(lab.id), { token: 'wrong', body: { help: false } })).status).toBe(404);
      expect((await api(runner, 'PUT', ROUTES.learner.path(lab.id), { token: lab.token, body: { name: 'x'.repeat(500) } })).json.name).toHaveLength(40);
      await api(runner, 'PUT', ROUTES.learner.path(lab.id), { token: lab.token, body: { name: '=HYPERLINK("http://x")' } });

      // The instructor clears the help flag.
      expect((await api(runner, 'DELETE', INSTRUCTOR_ROUTES.help.path(lab.id), { headers: { cookie } })).status).toBe(204);
      await room.waitFor((r) => r.labs[0]?.help === null, 2_000, 'the help flag cleared');
      await events.waitForState((s) => !s.learner.help);

      // Watching: the learner's typing appears; the watcher's frames never reach the shell.
      const term = await TerminalClient.open(runner, lab, 'host1');
      await term.waitForPrompt();
      const watch = await WatchClient.open(runner, lab.id, 'host1', cookie);
      await watch.waitForText(/root@host1/); // the recent past: the prompt
      await events.waitForState((s) => s.watchers === 1, 2_000, 'the learner told someone watches');
      await room.waitFor((r) => r.labs[0]?.watchers === 1, 2_000, 'the roster counting the watcher');
      since = performance.now();
      term.type('echo watched-$((6*7))\r');
      await watch.waitForText(/watched-42/, 2_000);
      const watchLagMs = performance.now() - since;
      watch.ws.send(Buffer.from('echo from-the-watcher\r'), { binary: true });
      expect(await watch.waitClosed()).toBe(CLOSE_CODES.policy);
      await events.waitForState((s) => s.watchers === 0, 2_000, 'the watcher gone');
      await term.run('echo still-mine');
      expect(term.since()).not.toContain('from-the-watcher');
      console.log(`watch: the learner's output reached the watcher ${watchLagMs.toFixed(0)} ms after the keystrokes were sent`);

      // A message to every learner, and taking it down.
      const posted = await api(runner, 'POST', INSTRUCTOR_ROUTES.broadcast.path(), { headers: { cookie, origin: runner.url }, body: { text: 'Break until 11:00\u0007' } });
      expect(posted.status).toBe(200);
      await events.waitForState((s) => s.notice?.text === 'Break until 11:00', 2_000, 'the message on the learner side');
      expect((await api(runner, 'POST', INSTRUCTOR_ROUTES.broadcast.path(), { headers: { cookie }, body: { text: ' ' } })).status).toBe(400);
      expect((await api(runner, 'DELETE', INSTRUCTOR_ROUTES.broadcast.path(), { headers: { cookie } })).status).toBe(204);
      await events.waitForState((s) => s.notice === null, 2_000, 'the message taken down');

      // Extending: the deadline moves on.
      const before = Date.parse(seen.room.labs[0]!.expiresAt);
      const extended = await api(runner, 'POST', INSTRUCTOR_ROUTES.extend.path(lab.id), { headers: { cookie }, body: { minutes: 30 } });
      expect(extended.status).toBe(200);
      expect(Date.parse(extended.json.expiresAt)).toBeGreaterThan(before);
      for (const body of [{ minutes: 0 }, { minutes: 1e9 }, { minutes: 1.5 }, { minutes: '5' }]) {
        expect((await api(runner, 'POST', INSTRUCTOR_ROUTES.extend.path(lab.id), { headers: { cookie }, body })).status).toBe(400);
      }

      // The CSV: one row for the lab, the learner's formula defused.
      const csv = await api(runner, 'GET', INSTRUCTOR_ROUTES.progress.path(), { headers: { cookie } });
      expect(csv.status).toBe(200);
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      const lines = csv.text.trim().split('\r\n');
      expect(lines[0]).toMatch(/^lab,name,lesson,/);
      expect(lines).toHaveLength(2);
      expect(lines[1]).toContain(`${lab.id},"'=HYPERLINK(""http://x"")",${LESSONS.twoHosts},host1 host2,`);

      // Ending: the learner's page and terminal are told why.
      expect((await api(runner, 'DELETE', INSTRUCTOR_ROUTES.lab.path('000000000000'), { headers: { cookie } })).status).toBe(404);
      expect((await api(runner, 'DELETE', INSTRUCTOR_ROUTES.lab.path(lab.id), { headers: { cookie } })).status).toBe(204);
      expect(await events.waitEnded()).toBe('The instructor ended this lab.');
      expect(await term.waitClosed()).toBe(CLOSE_CODES.labGone);
      expect(term.messages.at(-1)).toMatchObject({ message: 'The instructor ended this lab.' });
      await room.waitFor((r) => r.labs.length === 0, 2_000, 'the lab gone from the roster');
    } finally {
      room.close();
    }
  });

  it("delivers the learner's output to a watcher within a few ms of the learner's own terminal (median of 50 keystrokes)", async () => {
    runner = await startRunner({ ...labFixtures(), LAB_INSTRUCTOR_CODE: CODE });
    const lab = await createLab(runner, LESSONS.oneHost);
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    const watch = await WatchClient.open(runner, lab.id, 'host1', await signIn(runner));
    await watch.waitForText(/root@host1/);
    const learnerMs: number[] = [];
    const watchMs: number[] = [];
    for (let i = 0; i < 50; i++) {
      const [from, watchFrom, started] = [term.position, watch.text.length, performance.now()];
      term.type('x');
      await Promise.all([
        term.waitFor(/x/, 5_000, from).then(() => learnerMs.push(performance.now() - started)),
        watch.waitForText(/x/, 5_000, watchFrom).then(() => watchMs.push(performance.now() - started)),
      ]);
      if (i % 40 === 39) term.type(CLEAR_LINE);
    }
    const [learner, watcher] = [percentile(learnerMs, 50), percentile(watchMs, 50)];
    console.log(`keystroke to echo, median of 50: learner ${learner.toFixed(2)} ms, watcher ${watcher.toFixed(2)} ms (+${(watcher - learner).toFixed(2)} ms)`);
    // The watcher gets each chunk in the same turn of the event loop as the learner.
    expect(watcher - learner).toBeLessThan(20);
  });

  it('closes a lab event socket that sends anything, and refuses event sockets without the lab\'s token or past 8 per lab', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_INSTRUCTOR_CODE: CODE });
    const lab = await createLab(runner, LESSONS.oneHost);
    await expect(LabEventsClient.open(runner, { id: lab.id, token: 'not-the-token' })).rejects.toThrow('upgrade refused with 404');
    await expect(LabEventsClient.open(runner, { id: '../../x', token: lab.token })).rejects.toThrow('upgrade refused with 404');
    await expect(LabEventsClient.open(runner, lab, { origin: 'http://evil.example' })).rejects.toThrow('upgrade refused with 403');
    for (const frame of ['{"type":"state"}', Buffer.alloc(10), 'x'.repeat(5000)]) {
      const events = await LabEventsClient.open(runner, lab);
      await events.waitForState(() => true);
      events.ws.send(frame);
      await expect.poll(() => events.closeCode).toBeOneOf([CLOSE_CODES.policy, CLOSE_CODES.tooBig]);
    }
    const open = await Promise.all(Array.from({ length: 8 }, () => LabEventsClient.open(runner!, lab)));
    await expect(LabEventsClient.open(runner, lab)).rejects.toThrow('upgrade refused with 429');
    for (const e of open) e.close();
    // And the runner still serves the lab.
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
  });
});
