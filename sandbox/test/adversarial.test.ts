/**
 * A learner who misbehaves, against real labs: a fork bomb, a memory hog and a disk filler in
 * lab A must stay inside lab A while lab B keeps answering; and hundreds of labs created and
 * removed must leave nothing behind. The figures are printed for the record.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabCreated } from '../src/protocol.ts';
import { labHostContainerName } from '../src/names.ts';
import { api, createLab, docker, echoRoundTrips, instanceObjects, percentile, startRunner, TerminalClient, uniqueInstance, type RunningRunner } from './harness.ts';

const BRIDGE_LESSON = '05-user-defined-bridges';
/** Echo round trips measured in lab B while lab A misbehaves. */
const ECHO_SAMPLES = 150;
/** Issue 5's bar for lab B's echo during a fork bomb in lab A. */
const ECHO_P99_LIMIT_MS = 200;
const CYCLES = 500;
/** Labs created and removed at once during the cycles (a busy workshop's morning). */
const CYCLE_PARALLEL = 8;

const volumeCount = async () => (await docker.listVolumes()).Volumes?.length ?? 0;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
describe('a misbehaving lab', () => {
  let runner: RunningRunner;
  let a: LabCreated;
  let b: LabCreated;
  let termA: TerminalClient;
  let termB: TerminalClient;
  beforeAll(async () => {
    runner = await startRunner();
    [a, b] = await Promise.all([createLab(runner, BRIDGE_LESSON), createLab(runner, BRIDGE_LESSON)]);
    [termA, termB] = await Promise.all([TerminalClient.open(runner, a, 'host1'), TerminalClient.open(runner, b, 'host1')]);
    await Promise.all([termA.waitForPrompt(), termB.waitForPrompt()]);
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it(`keeps lab B's echo under ${ECHO_P99_LIMIT_MS} ms at p99 during a fork bomb in lab A, which hits its process limit`, async () => {
    const quiet = await echoRoundTrips(termB, 30);
    termA.type(':(){ :|:& };:\r');
    await termA.waitFor(/fork: (retry: )?Resource temporarily unavailable|Cannot fork/i, 30_000);
    const during = await echoRoundTrips(termB, ECHO_SAMPLES);
    // Read from the engine, outside lab A: an exec into a lab whose process table is full cannot start.
    const stats = (await docker.getContainer(labHostContainerName(a.id, 'host1')).stats({ stream: false })) as { pids_stats?: { current?: number; limit?: number } };
    const pids = stats.pids_stats ?? {};
    console.log(
      `fork bomb in lab A: lab B echo p50 ${percentile(during, 50).toFixed(1)} ms, p99 ${percentile(during, 99).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms ` +
        `(quiet: p50 ${percentile(quiet, 50).toFixed(1)} ms); lab A pids ${pids.current}/${pids.limit}`,
    );
    expect(percentile(during, 99)).toBeLessThan(ECHO_P99_LIMIT_MS);
    expect(pids.current).toBeGreaterThan(0.9 * (pids.limit ?? Infinity));
    expect((await api(runner, 'GET', '/api/health')).status).toBe(200);
    // Lab A is contained, not lost: removing it ends the bomb and everything else in it.
    expect((await api(runner, 'DELETE', `/api/labs/${a.id}`, { token: a.token })).status).toBe(204);
    a = await createLab(runner, BRIDGE_LESSON);
    termA = await TerminalClient.open(runner, a, 'host1');
    await termA.waitForPrompt();
  }, 120_000);

  it('ends a memory hog in lab A with the OOM killer inside lab A, which stays usable, while lab B answers', async () => {
    // tail keeps the whole "line" of zeros in memory: it grows until lab A's memory limit.
    const out = await termA.run('head -c 4G /dev/zero | tail > /dev/null; echo "status=$?"', 90_000);
    expect(out).toMatch(/Killed/);
    expect(out).toMatch(/status=137/);
    expect(await termA.run('echo lab-a-alive')).toContain('lab-a-alive');
    expect(await termB.run('echo lab-b-alive')).toContain('lab-b-alive');
  }, 120_000);

  it("stops a dd that fills lab A's /var/lib/docker with \"No space left on device\", inside lab A's own storage", async () => {
    const out = await termA.run('dd if=/dev/zero of=/var/lib/docker/fill bs=1M count=2000; df -h /var/lib/docker | tail -1; rm -f /var/lib/docker/fill', 90_000);
    expect(out).toMatch(/No space left on device/);
    // The filesystem that filled is lab A's own size-limited tmpfs, not the machine's disk.
    expect(out).toMatch(/tmpfs\s+512M/);
    expect(await termA.run('docker run --rm busybox echo inner-still-works', 30_000)).toContain('inner-still-works');
    expect(await termB.run('echo lab-b-alive')).toContain('lab-b-alive');
  }, 120_000);
});

describe(`${CYCLES} labs created and removed`, () => {
  it('leak nothing: no containers, networks, volumes or open files left, and the runner memory stays flat', async () => {
    const instance = uniqueInstance('cycles');
    const runner = await startRunner({ LAB_INSTANCE: instance, LAB_CREATE_RATE: '100000', LAB_MAX_LABS: '50' });
    const fds = () => readdirSync(`/proc/${runner.proc.pid}/fd`).length;
    try {
      const cycle = async (i: number) => {
        const lab = await createLab(runner, BRIDGE_LESSON);
        // Every tenth lab also opens and closes a terminal: its exec must not outlive it.
        if (i % 10 === 0) {
          const term = await TerminalClient.open(runner, lab, 'host1');
          // Any output means the shell's exec runs (the prompt itself may wait for dockerd).
          await term.waitFor(/\S/, 60_000);
          term.close();
        }
        const res = await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
        if (res.status !== 204) throw new Error(`DELETE gave ${res.status}`);
      };
      // Warm up first, as many at once as below, so the baseline includes what the runner
      // allocates once: module code, and its pool of keep-alive connections to the engine.
      await Promise.all(Array.from({ length: CYCLE_PARALLEL }, (_, i) => cycle(i + 1)));
      const before = { rss: runner.rss(), fds: fds() };
      const volumesBefore = await volumeCount();
      const started = performance.now();
      let next = 0;
      await Promise.all(
        Array.from({ length: CYCLE_PARALLEL }, async () => {
          for (let i = next++; i < CYCLES; i = next++) await cycle(i);
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      await sleep(1000);
      const after = { rss: runner.rss(), fds: fds() };
      const left = await instanceObjects(instance);
      // Lab hosts keep /var/lib/docker on tmpfs and their image declares no VOLUME: any new
      // volume on the engine (anonymous ones carry no label) would be a leak.
      const volumesAfter = await volumeCount();
      const health = (await api(runner, 'GET', '/api/health')).json;
      console.log(
        `${CYCLES} create/delete cycles (${CYCLE_PARALLEL} at once, every 10th with a terminal) in ${seconds.toFixed(0)} s: ` +
          `runner RSS ${(before.rss / 2 ** 20).toFixed(1)} -> ${(after.rss / 2 ** 20).toFixed(1)} MiB, open files ${before.fds} -> ${after.fds}, ` +
          `left behind: ${left.containers} containers, ${left.networks} networks, ${volumesAfter - volumesBefore} volumes; labs in the runner: ${health.labs}`,
      );
      expect(left).toEqual({ containers: 0, networks: 0 });
      expect(volumesAfter).toBe(volumesBefore);
      expect(health.labs).toBe(0);
      // A few more keep-alive connections may be open at the end than after the warm-up; a leak
      // would be one or more per lab: hundreds.
      expect(after.fds).toBeLessThanOrEqual(before.fds + CYCLE_PARALLEL);
      expect(after.rss - before.rss).toBeLessThan(40 * 2 ** 20);
    } finally {
      await runner.stop();
    }
  }, 900_000);
});
