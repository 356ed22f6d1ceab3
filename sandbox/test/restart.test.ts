/**
 * Labs outlive the runner process. A runner killed (SIGKILL, a crash) or stopped (SIGTERM, an
 * upgrade) leaves its labs running and their state on disk; the next runner of the same
 * instance adopts the ones still valid (same token, files and command history intact), removes
 * the ones whose deadline passed meanwhile and whatever no lab owns, and `npm run
 * labs:remove-all` ends them all.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { labHostContainerName } from '../src/names.ts';
import { CLOSE_CODES } from '../../contract/protocol.ts';
import { api, createLab, execIn, instanceObjects, labObjects, ROOT, startRunner, TerminalClient, type RunningRunner, LESSONS, labFixtures } from './harness.ts';

/** A lifetime short enough to pass while the runner is down, long enough to build a pool first (s). */
const LIFETIME_S = 20;

/** Start `runner`'s successor (same instance, state folder and port), stopping it on failure. */
async function successor(runner: RunningRunner, env: Record<string, string> = {}): Promise<RunningRunner> {
  return startRunner({ ...runner.env, ...env });
}

describe('a runner that is killed', () => {
  it('leaves its labs running, and the next runner adopts them: same token, the file written before, the history, no orphaned shell', async () => {
    const first = await startRunner(labFixtures());
    let second: RunningRunner | undefined;
    try {
      const lab = await createLab(first, LESSONS.oneHost);
      const term = await TerminalClient.open(first, lab, 'host1');
      await term.waitForPrompt();
      await term.run('echo written-before-the-crash > /root/notes.txt');
      // A second terminal busy with a foreground job, as a learner's tcpdump would be.
      const busy = await TerminalClient.open(first, lab, 'host1');
      await busy.waitForPrompt();
      busy.type('sleep 4242\r');
      const container = labHostContainerName(lab.id, 'host1');
      await expect.poll(async () => (await execIn(container, ['pgrep', '-f', 'sleep 4242'])).code).toBe(0);

      expect(await first.signal('SIGKILL')).toBeNull();
      expect(await labObjects(lab.id)).toEqual({ containers: 1, networks: 1, volumes: 0 });

      second = await successor(first);
      expect(second.output()).toMatch(/took over 1 lab\(s\)/);
      expect((await api(second, 'GET', `/api/labs/${lab.id}`, { token: lab.token })).status).toBe(200);
      const again = await TerminalClient.open(second, lab, 'host1');
      await again.waitForPrompt();
      expect(await again.run('cat /root/notes.txt')).toContain('written-before-the-crash');
      // Commands reach the history file as they run, so a new shell has them on the up arrow.
      // ([w]: the pattern must not match the grep command's own line, which is in the history too.)
      expect(await again.run("history | grep -c '[w]ritten-before-the-crash >'")).toMatch(/^[1-9]\d*\s*$/m);
      // The shells the killed runner had open are ended by the new one: nobody holds their sockets.
      expect((await execIn(container, ['pgrep', '-f', 'sleep 4242'])).code).toBe(1);
      again.close();
    } finally {
      await first.stop();
      await second?.stop();
    }
  });

  it('has the next runner remove a lab whose lifetime ended while none ran, and the pooled labs nobody holds', async () => {
    // No sweep in the first runner's life: the lab must end while no runner runs.
    const first = await startRunner({ ...labFixtures(), LAB_MAX_LIFETIME: String(LIFETIME_S), LAB_POOL_SIZE: '1', LAB_SWEEP_INTERVAL: '3600' });
    let second: RunningRunner | undefined;
    try {
      const created = Date.now();
      const ending = await createLab(first, LESSONS.oneHost);
      const instance = first.env.LAB_INSTANCE!;
      // The pool builds one lab per lesson shape next to the learner's lab.
      await expect.poll(async () => (await instanceObjects(instance)).networks, { timeout: 60_000 }).toBeGreaterThan(1);
      await first.signal('SIGKILL');
      await new Promise((r) => setTimeout(r, Math.max(0, created + (LIFETIME_S + 1) * 1000 - Date.now())));

      second = await successor(first, { LAB_POOL_SIZE: '0' });
      expect(second.output()).toMatch(/lab [0-9a-f]{12} ended while the runner was not running \(maximum lifetime\)/);
      // The pooled lab may have been killed between its network and its container.
      expect(second.output()).toMatch(/removed \d+ container\(s\) and [1-9]\d* network\(s\) no lab owns/);
      expect(await instanceObjects(instance)).toEqual({ containers: 0, networks: 0 });
      expect((await api(second, 'GET', `/api/labs/${ending.id}`, { token: ending.token })).status).toBe(404);
      expect(readdirSync(path.join(first.env.LAB_STATE_DIR!, instance))).toEqual([]);
    } finally {
      await first.stop();
      await second?.stop();
    }
  }, 180_000);
});

describe('a runner that is stopped with SIGTERM', () => {
  it('closes terminals with "going away", keeps its labs for the next start, and labs:remove-all removes them all', async () => {
    const first = await startRunner(labFixtures());
    let second: RunningRunner | undefined;
    try {
      const lab = await createLab(first, LESSONS.oneHost);
      const term = await TerminalClient.open(first, lab, 'host1');
      await term.waitForPrompt();
      expect(await first.signal('SIGTERM')).toBe(0);
      expect(term.closeCode).toBe(CLOSE_CODES.goingAway);
      expect(await labObjects(lab.id)).toEqual({ containers: 1, networks: 1, volumes: 0 });

      second = await successor(first);
      const again = await TerminalClient.open(second, lab, 'host1');
      await again.waitForPrompt();
      expect(await again.run('echo after-the-upgrade')).toContain('after-the-upgrade');
      again.close();
      await second.signal('SIGTERM');

      const removal = spawnSync(process.execPath, ['scripts/lab.ts', 'remove-all'], { cwd: ROOT, env: { ...process.env, ...first.env }, encoding: 'utf8' });
      expect(removal.status, removal.stderr).toBe(0);
      expect(removal.stdout).toMatch(/Removed 1 container\(s\) and 1 network\(s\)/);
      expect(await labObjects(lab.id)).toEqual({ containers: 0, networks: 0, volumes: 0 });
      expect(existsSync(path.join(first.env.LAB_STATE_DIR!, first.env.LAB_INSTANCE!))).toBe(false);
    } finally {
      await first.stop();
      await second?.stop();
    }
  });
});
