/**
 * What a learner writes stays in their lab: the lab host's root is read-only, and every place a
 * learner can write is a sized tmpfs counted against the lab's own memory. Writing 2 GiB under
 * /root fails inside the lab at LAB_HOST_FILES_SIZE, the machine's disk does not notice, and
 * the lab stays usable.
 */
import { statfsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabCreated } from '../../contract/api.ts';
import { labHostContainerName } from '../src/names.ts';
import { createLab, docker, execIn, startRunner, TerminalClient, type RunningRunner, LESSONS, labFixtures } from './harness.ts';

/** The quota this test configures for a lab host's files (and what the machine may lose at most). */
const FILES_QUOTA = 128 * 2 ** 20;
/** The engine's data folder: where a lab host's writable layer would live on the machine. */
const ENGINE_ROOT = '/var/lib/docker';

const freeBytes = () => {
  const s = statfsSync(ENGINE_ROOT);
  return Number(s.bavail) * Number(s.bsize);
};

describe('the files of a lab host', () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  let term: TerminalClient;
  beforeAll(async () => {
    runner = await startRunner({ ...labFixtures(), LAB_HOST_FILES_SIZE: `${FILES_QUOTA / 2 ** 20}m` });
    lab = await createLab(runner, LESSONS.oneHost);
    term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
  });
  afterAll(async () => {
    term?.close();
    await runner?.stop();
  });

  it('refuses 2 GiB under /root inside the lab at the quota, the machine does not lose disk, and the lab stays usable', async () => {
    const before = freeBytes();
    const out = await term.run('dd if=/dev/zero of=/root/big bs=1M count=2048; echo "dd-exit=$?"; du -sm /root/big', 120_000);
    const after = freeBytes();
    console.log(`2 GiB under /root: ${/No space left on device/.test(out) ? 'No space left on device' : 'no error'}, ${/(\d+)\s+\/root\/big/.exec(out)?.[1]} MiB written; machine free disk ${((before - after) / 2 ** 20).toFixed(1)} MiB less`);
    expect(out).toMatch(/No space left on device/);
    expect(out).toMatch(/dd-exit=1/);
    expect(Number(/(\d+)\s+\/root\/big/.exec(out)?.[1])).toBeLessThanOrEqual(FILES_QUOTA / 2 ** 20);
    expect(before - after).toBeLessThan(FILES_QUOTA);
    // Usable while full: the shell answers, and inner containers (their storage is separate) run.
    expect(await term.run('echo still-usable')).toContain('still-usable');
    expect(await term.run('docker run --rm busybox echo inner-still-runs', 60_000)).toContain('inner-still-runs');
    await term.run('rm -f /root/big');
  }, 180_000);

  it('shares one quota across /root, /tmp, /var/tmp, /home, /var/log, /etc/docker, /etc/ufw and /etc/default, and nothing else is writable', async () => {
    const container = labHostContainerName(lab.id, 'host1');
    const out = await term.run(
      'for d in /root /tmp /var/tmp /home /var/log /etc/docker /etc/ufw /etc/default; do echo x > $d/probe && echo "$d writable"; rm -f $d/probe; done; ' +
        'for f in /big /usr/big /opt/big /etc/big /var/lib/big; do echo x > $f 2>/dev/null || echo "$f read-only"; done',
    );
    for (const d of ['/root', '/tmp', '/var/tmp', '/home', '/var/log', '/etc/docker', '/etc/ufw', '/etc/default']) expect(out).toContain(`${d} writable`);
    for (const f of ['/big', '/usr/big', '/opt/big', '/etc/big', '/var/lib/big']) expect(out).toContain(`${f} read-only`);
    // One quota: what /tmp holds is not left for /root.
    const mb = FILES_QUOTA / 2 ** 20;
    const shared = await term.run(`dd if=/dev/zero of=/tmp/a bs=1M count=${mb - 28} 2>/dev/null; dd if=/dev/zero of=/root/b bs=1M count=64; rm -f /tmp/a /root/b`, 60_000);
    expect(shared).toMatch(/No space left on device/);
    const info = await docker.getContainer(container).inspect();
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    // The image's own files under the overlays are still there.
    expect((await execIn(container, ['test', '-s', '/root/.bashrc'])).code).toBe(0);
    expect((await execIn(container, ['test', '-s', '/etc/docker/daemon.json'])).code).toBe(0);
    expect((await execIn(container, ['test', '-s', '/etc/ufw/after.rules'])).code).toBe(0);
  });
});
