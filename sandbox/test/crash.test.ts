/**
 * Inputs that each once took the whole runner down when sent a single time, sent to a running
 * runner: afterwards it still answers, and a lab made before them still echoes in its terminal.
 * Each input is answered with an error or closes that one socket, and logs one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../contract/protocol.ts';
import { type LabCreated } from '../../contract/api.ts';
import { assertStillServes, createLab, rawExchange, startRunner, TerminalClient, type RunningRunner, LESSONS, labFixtures } from './harness.ts';

const UPGRADE_HEADERS = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

const statusOf = (answer: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? NaN);

describe('inputs that used to stop the runner', () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  beforeAll(async () => {
    runner = await startRunner(labFixtures());
    lab = await createLab(runner, LESSONS.oneHost);
  });
  afterAll(async () => {
    await runner?.stop();
  });

  const stillServes = () => assertStillServes(runner, lab);

  it('answers a request line whose URL cannot be parsed (GET //%) with 400 JSON', async () => {
    const answer = await rawExchange(runner.port, 'GET //% HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(statusOf(answer), answer).toBe(400);
    expect(answer).toMatch(/application\/json/);
    expect(answer).toMatch(/"error":"bad_url"/);
    await stillServes();
  });

  it('refuses a socket upgrade whose URL cannot be parsed (GET //%) with 400', async () => {
    const answer = await rawExchange(runner.port, `GET //% HTTP/1.1\r\nHost: x\r\n${UPGRADE_HEADERS}\r\n`);
    expect(statusOf(answer), answer).toBe(400);
    await stillServes();
  });

  it('answers an unsatisfiable Range (bytes=5-2) with 416 and a huge one with the file', async () => {
    const backwards = await fetch(`${runner.url}/`, { headers: { range: 'bytes=5-2' } });
    expect(backwards.status).toBe(416);
    await backwards.arrayBuffer();
    // Past the end is clamped to the end: the whole page, as a 206 from byte 0.
    const huge = await fetch(`${runner.url}/`, { headers: { range: 'bytes=0-99999999999999999999' } });
    expect([200, 206]).toContain(huge.status);
    expect(await huge.text()).toMatch(/<html/i);
    const past = await fetch(`${runner.url}/`, { headers: { range: 'bytes=99999999999999999999-' } });
    expect(past.status).toBe(416);
    await past.arrayBuffer();
    const ranged = await fetch(`${runner.url}/`, { headers: { range: 'bytes=0-4' } });
    expect(ranged.status).toBe(206);
    expect((await ranged.text()).length).toBe(5);
    await stillServes();
  });

  it('closes a terminal whose unknown message type is 120 multibyte characters with the policy code', async () => {
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    term.ws.send(JSON.stringify({ type: '熊'.repeat(120) }));
    expect(await term.waitClosed()).toBe(CLOSE_CODES.policy);
    await stillServes();
  });
});
