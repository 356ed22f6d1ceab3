/**
 * Bad input at the runner's doors: unknown lessons, bad tokens, foreign origins, malformed and
 * oversized frames. Each is refused, and the runner keeps serving.
 */
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES, MAX_FRAME_BYTES } from '../../contract/protocol.ts';
import { type LabCreated } from '../../contract/api.ts';
import { api, assertStillServes, createLab, startRunner, TerminalClient, type RunningRunner, LESSONS, labFixtures } from './harness.ts';


describe('the runner under bad input', () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  let other: LabCreated;
  beforeAll(async () => {
    runner = await startRunner(labFixtures());
    [lab, other] = await Promise.all([createLab(runner, LESSONS.oneHost), createLab(runner, LESSONS.oneHost)]);
  });
  afterAll(async () => {
    await runner?.stop();
  });

  const stillServes = () => assertStillServes(runner, lab);

  it('answers an unknown lesson with 404 JSON that says what is wrong', async () => {
    const res = await api(runner, 'POST', '/api/labs', { body: { lesson: 'no-such-lesson' } });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: 'unknown_lesson' });
    expect(res.json.message).toMatch(/no lesson "no-such-lesson"/);
  });

  it('answers a body that is not JSON with 400 and one without a lesson with 400', async () => {
    expect((await api(runner, 'POST', '/api/labs', { body: '{not json' })).status).toBe(400);
    expect((await api(runner, 'POST', '/api/labs', { body: { lessons: 'x' } })).status).toBe(400);
  });

  it('refuses lab routes with a wrong token, or another lab\'s token, with 404', async () => {
    expect((await api(runner, 'GET', `/api/labs/${lab.id}`, { token: 'wrong' })).status).toBe(404);
    expect((await api(runner, 'GET', `/api/labs/${lab.id}`, { token: other.token })).status).toBe(404);
    expect((await api(runner, 'DELETE', `/api/labs/${lab.id}`)).status).toBe(404);
    expect((await api(runner, 'GET', `/api/labs/${lab.id}`, { token: lab.token })).status).toBe(200);
  });

  it('refuses a terminal socket with no token, a wrong token, another lab\'s token, or an unknown host', async () => {
    const url = runner.url.replace(/^http/, 'ws');
    const noToken = new WebSocket(`${url}/api/labs/${lab.id}/hosts/host1/terminal`);
    await expect(new Promise((_, reject) => { noToken.on('unexpected-response', (_r, res) => reject(res.statusCode)); noToken.on('open', () => reject('opened')); })).rejects.toBe(401);
    await expect(TerminalClient.open(runner, lab, 'host1', { token: 'wrong' })).rejects.toThrow(/404/);
    await expect(TerminalClient.open(runner, lab, 'host1', { token: other.token })).rejects.toThrow(/404/);
    await expect(TerminalClient.open(runner, lab, 'host9')).rejects.toThrow(/404/);
    await stillServes();
  });

  it('refuses a terminal socket and a lab request from a foreign Origin', async () => {
    await expect(TerminalClient.open(runner, lab, 'host1', { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const res = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost }, headers: { origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
  });

  it('closes a socket that sends a non-JSON text frame with the policy code, and keeps serving', async () => {
    const term = await TerminalClient.open(runner, lab, 'host1');
    term.ws.send('this is not json');
    expect(await term.waitClosed()).toBe(CLOSE_CODES.policy);
    const unknown = await TerminalClient.open(runner, lab, 'host1');
    unknown.ws.send(JSON.stringify({ type: 'launch-missiles' }));
    expect(await unknown.waitClosed()).toBe(CLOSE_CODES.policy);
    await stillServes();
  });

  it('closes a socket that sends an 8 MiB frame with the too-big code, and keeps serving', async () => {
    const term = await TerminalClient.open(runner, lab, 'host1');
    term.ws.send(Buffer.alloc(8 * 1024 * 1024, 0x61), { binary: true });
    expect(await term.waitClosed()).toBe(CLOSE_CODES.tooBig);
    expect(8 * 1024 * 1024).toBeGreaterThan(MAX_FRAME_BYTES);
    await stillServes();
  });

  it('clamps an absurd resize instead of failing', async () => {
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    term.ws.send(JSON.stringify({ type: 'resize', cols: 65535, rows: 65535 }));
    const out = await term.run('stty size');
    expect(out).toMatch(/200 500/);
    term.close();
  });

  it('refuses the token of a lab that has ended, on HTTP and on the terminal socket', async () => {
    const ended = await createLab(runner, LESSONS.oneHost);
    expect((await api(runner, 'DELETE', `/api/labs/${ended.id}`, { token: ended.token })).status).toBe(204);
    expect((await api(runner, 'GET', `/api/labs/${ended.id}`, { token: ended.token })).status).toBe(404);
    await expect(TerminalClient.open(runner, ended, 'host1')).rejects.toThrow(/404/);
    await stillServes();
  });
});
