/**
 * Clients that break flow control on purpose cannot grow the runner's memory: one that
 * acknowledges every byte and reads none while `yes` floods its terminal, and one that sends
 * keystrokes as fast as it can into a shell that reads none. Afterwards the lab still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { CLIENT_MESSAGES, encodeMessage } from '../../contract/protocol.ts';
import { type LabCreated } from '../../contract/api.ts';
import { createLab, startRunner, TerminalClient, type RunningRunner, LESSONS, labFixtures } from './harness.ts';

/** How long each client misbehaves: long enough for `yes` to push hundreds of MB. */
const MISBEHAVE_MS = 10_000;
/** The most the runner may grow meanwhile: a bound any runner process must keep, whatever its heap does. */
const RSS_LIMIT = 64 * 2 ** 20;
/**
 * What flow control holds a non-reading client to: terminal.ts stops reading the shell once
 * 256 KiB wait in the socket's queue, so the runner's growth stays in the noise of its own heap.
 * Without that (acks trusted), 10 s of `yes` grew it by ~39 MiB here: under RSS_LIMIT, not under this.
 */
const QUEUED_LIMIT = 16 * 2 ** 20;
/** What the hostile client keeps queued on its own side at most, so the test itself stays small. */
const CLIENT_QUEUE_BYTES = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** The raw socket under a ws client: pausing it stops the client reading, as a stuck browser would. */
const rawSocket = (ws: WebSocket) => (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;

describe('a client that breaks flow control', () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  beforeAll(async () => {
    runner = await startRunner(labFixtures());
    lab = await createLab(runner, LESSONS.oneHost);
  });
  afterAll(async () => {
    await runner?.stop();
  });

  /** Sample the runner's RSS every 100 ms while `during` runs; resolves with the growth over the start. */
  async function rssGrowth(during: () => Promise<void>): Promise<number> {
    const before = runner.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, runner.rss())), 100);
    try {
      await during();
    } finally {
      clearInterval(sampler);
    }
    return peak - before;
  }

  it(`that acknowledges everything and reads nothing while yes runs for ${MISBEHAVE_MS / 1000} s cannot grow the runner by ${RSS_LIMIT / 2 ** 20} MB`, async () => {
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    const growth = await rssGrowth(async () => {
      term.type('yes\r');
      await sleep(200);
      rawSocket(term.ws).pause();
      const deadline = Date.now() + MISBEHAVE_MS;
      while (Date.now() < deadline) {
        term.ws.send(encodeMessage({ type: CLIENT_MESSAGES.ack, bytes: 1e15 }));
        await sleep(50);
      }
    });
    console.log(`acks everything, reads nothing, yes for ${MISBEHAVE_MS / 1000} s: runner RSS grew ${mib(growth)} MiB at most`);
    expect(growth).toBeLessThan(RSS_LIMIT);
    expect(growth).toBeLessThan(QUEUED_LIMIT);
    // Reading again, Ctrl-C ends the flood and the same terminal answers.
    rawSocket(term.ws).resume();
    term.type('\x03');
    expect(await term.run('echo after-the-flood', 60_000)).toContain('after-the-flood');
    term.close();
  }, 120_000);

  it(`that types as fast as it can into a shell that reads nothing for ${MISBEHAVE_MS / 1000} s cannot grow the runner by ${RSS_LIMIT / 2 ** 20} MB`, async () => {
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    // Raw mode, no echo: the terminal keeps what it is sent instead of beeping and dropping
    // keystrokes past a full line, so nothing drains the input but the shell, which reads none.
    term.type('stty raw -echo; sleep 600\r');
    await term.waitFor(/sleep 600\r?\n/);
    const chunk = Buffer.alloc(60 * 1024, 'a'.charCodeAt(0));
    let sent = 0;
    const growth = await rssGrowth(async () => {
      const deadline = Date.now() + MISBEHAVE_MS;
      while (Date.now() < deadline) {
        if (term.ws.bufferedAmount < CLIENT_QUEUE_BYTES) {
          term.ws.send(chunk, { binary: true });
          sent += chunk.length;
        } else {
          await sleep(5);
        }
        if (sent % (16 * chunk.length) === 0) await sleep(0);
      }
    });
    const taken = sent - term.ws.bufferedAmount;
    console.log(`typed into a shell that reads nothing for ${MISBEHAVE_MS / 1000} s: ${mib(taken)} MiB left the client; runner RSS grew ${mib(growth)} MiB at most`);
    expect(growth).toBeLessThan(RSS_LIMIT);
    term.close();
    // The lab is unharmed: a new terminal on the same host answers.
    const again = await TerminalClient.open(runner, lab, 'host1');
    await again.waitForPrompt();
    expect(await again.run('echo still-typing')).toContain('still-typing');
    again.close();
  }, 120_000);
});
