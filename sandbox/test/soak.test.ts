/**
 * A hostile minute: 200 sockets that connect and send nothing (reopened whenever the runner
 * drops them) and 20 requests a second of garbage, for 60 s, against a runner with a lab in
 * use. The learner's terminal keeps echoing, health keeps answering, the runner's memory and
 * event loop stay in bounds, and no garbage earns a 5xx. The figures are printed for the record.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HealthStatus, LabCreated } from '../../contract/api.ts';
import { api, createLab, echoRoundTrips, percentile, startRunner, TerminalClient, type RunningRunner, LESSONS, labFixtures } from './harness.ts';

const SOAK_MS = 60_000;
const IDLE_SOCKETS = 200;
/**
 * The idle sockets come from this many loopback addresses (127.0.0.10, .11, ...), as a few
 * machines of a room would: from one address the per-address connection cap (64) refuses most.
 */
const IDLE_ADDRESSES = 4;
const GARBAGE_PER_SECOND = 20;
/** Bounds for the runner during the soak: generous for a loaded 2-CPU machine, far below trouble. */
const RSS_GROWTH_LIMIT = 64 * 2 ** 20;
const EVENT_LOOP_P99_LIMIT_MS = 100;
const ECHO_P99_LIMIT_MS = 250;

const GARBAGE = [
  'GET //% HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=5-2\r\n\r\n',
  'POST /api/labs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n{"les',
  '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', // a TLS hello to a plain HTTP port
  `GET /api/labs/${'f'.repeat(12)}/hosts/host1/terminal?token=x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
  `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
  'GET /api/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nzz\r\n',
  'DELETE /api/labs/%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \u718a\r\n\r\n',
];

describe(`the runner under ${IDLE_SOCKETS} idle sockets and ${GARBAGE_PER_SECOND} garbage requests a second for ${SOAK_MS / 1000} s`, () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  beforeAll(async () => {
    runner = await startRunner(labFixtures());
    lab = await createLab(runner, LESSONS.oneHost);
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it('keeps a learner echoing, answers health, and stays within its memory and event-loop bounds', async () => {
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    const rssBefore = runner.rss();
    let rssPeak = rssBefore;
    let stopping = false;
    const counts = { idleOpened: 0, idleDropped: 0, garbage: 0, garbage5xx: 0, garbageAnswered: 0, healthFailed: 0 };

    // Idle sockets: connect, say nothing; when the runner drops one (its header timeout), open another.
    const idle = new Set<Socket>();
    const openIdle = (i: number) => {
      if (stopping) return;
      const s = connect({ port: runner.port, host: '127.0.0.1', localAddress: `127.0.0.${10 + (i % IDLE_ADDRESSES)}` });
      counts.idleOpened++;
      idle.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        idle.delete(s);
        if (stopping) return;
        counts.idleDropped++;
        setTimeout(() => openIdle(i), 100);
      });
    };
    for (let i = 0; i < IDLE_SOCKETS; i++) openIdle(i);

    // Garbage: one request every 50 ms on its own connection.
    const garbage = setInterval(() => {
      const bytes = GARBAGE[counts.garbage++ % GARBAGE.length]!;
      const s = connect(runner.port, '127.0.0.1', () => s.write(Buffer.from(bytes, 'latin1')));
      let answer = '';
      s.setTimeout(5_000, () => s.destroy());
      s.on('data', (d) => {
        answer += d.toString('latin1');
        if (answer.startsWith('HTTP/')) {
          counts.garbageAnswered++;
          if (/^HTTP\/1\.[01] 5\d\d/.test(answer)) counts.garbage5xx++;
          s.destroy();
        }
      });
      s.on('error', () => {});
    }, 1000 / GARBAGE_PER_SECOND);

    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, runner.rss())), 250);
    const health = setInterval(() => {
      api(runner, 'GET', '/api/health').then((r) => r.status === 200 || counts.healthFailed++, () => counts.healthFailed++);
    }, 2_000);
    const echoes: number[] = [];
    const started = Date.now();
    try {
      while (Date.now() - started < SOAK_MS) echoes.push(...(await echoRoundTrips(term, 20)));
    } finally {
      stopping = true;
      clearInterval(garbage);
      clearInterval(sampler);
      clearInterval(health);
      for (const s of idle) s.destroy();
    }
    const status = (await api(runner, 'GET', '/api/health')).json as HealthStatus;
    const growth = rssPeak - rssBefore;
    console.log(
      `${SOAK_MS / 1000} s soak: runner RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> peak ${(rssPeak / 2 ** 20).toFixed(0)} MiB; ` +
        `event-loop delay p50 ${status.runner.eventLoopDelayMs.p50.toFixed(1)} ms, p99 ${status.runner.eventLoopDelayMs.p99.toFixed(1)} ms, max ${status.runner.eventLoopDelayMs.max.toFixed(1)} ms; ` +
        `learner echo p50 ${percentile(echoes, 50).toFixed(1)} ms, p99 ${percentile(echoes, 99).toFixed(1)} ms (${echoes.length} samples); ` +
        `idle sockets opened ${counts.idleOpened}, dropped by the runner ${counts.idleDropped}; garbage sent ${counts.garbage}, answered ${counts.garbageAnswered}, 5xx ${counts.garbage5xx}; health failures ${counts.healthFailed}`,
    );
    expect(runner.proc.exitCode).toBeNull();
    expect(counts.garbage5xx).toBe(0);
    expect(counts.healthFailed).toBe(0);
    expect(growth).toBeLessThan(RSS_GROWTH_LIMIT);
    expect(status.runner.eventLoopDelayMs.p99).toBeLessThan(EVENT_LOOP_P99_LIMIT_MS);
    expect(percentile(echoes, 99)).toBeLessThan(ECHO_P99_LIMIT_MS);
    // The slowloris sockets were dropped by the header timeout, not held forever.
    expect(counts.idleDropped).toBeGreaterThanOrEqual(IDLE_SOCKETS);
    expect(await term.run('echo after-the-soak')).toContain('after-the-soak');
    term.close();
  }, SOAK_MS + 60_000);
});
