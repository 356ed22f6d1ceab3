/**
 * The runner against Docker Engine 28 as the engine it drives (whatever engine the machine runs).
 * Engine 28 refuses `CapDrop: ["SYS_RESOURCE"]` where that capability is not available, which
 * the old capabilities form sent; the form now names only what it adds. A "machine" container
 * from the lab host image (Engine 28.5.2 inside) plays the workshop machine: the runner, started
 * with DOCKER_HOST at its socket, probes it, picks the capabilities form, starts a lab whose
 * terminal runs an inner container, and switches IPv6 off on the lab's bridge through its helper
 * container (the runner is not in that machine's network namespace).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labBridgeName } from '../src/bridges.ts';
import { privilegeHostConfig } from '../src/docker.ts';
import { DEFAULT_SUITE, IMAGES, LABELS, LAB_HOST_PATHS, labHostContainerName } from '../src/names.ts';
import { api, createLab, docker, execIn, removeInstance, startRunner, TerminalClient, uniqueInstance, type RunningRunner, LESSONS, labFixtures } from './harness.ts';

const IMAGE = IMAGES.labHost(DEFAULT_SUITE);
/** The machine container's engine starting, and the lab host image loading into it (~10 s idle). */
const MACHINE_READY_MS = 120_000;

describe('the runner driving Docker Engine 28', () => {
  const instance = uniqueInstance('engine28');
  const volume = `dnl-${instance}-data`;
  // The machine container's /run, in a folder of ours: its engine's socket appears here.
  const runDir = mkdtempSync(path.join(tmpdir(), 'dnl-engine28-'));
  let machine: string;
  let inner: Docker;
  let runner: RunningRunner | undefined;

  beforeAll(async () => {
    await docker.createVolume({ Name: volume, Labels: { [LABELS.instance]: instance } });
    machine = `dnl-${instance}-machine`;
    const container = await docker.createContainer({
      name: machine,
      Image: IMAGE,
      Labels: { [LABELS.instance]: instance },
      HostConfig: {
        ...privilegeHostConfig('capabilities'),
        // No network: the lab networks live inside it, and nothing leaves it.
        NetworkMode: 'none',
        Binds: [`${runDir}:/run`, `${volume}:${LAB_HOST_PATHS.dockerData}`],
      },
    });
    await container.start();
    for (let waited = 0; (await execIn(machine, ['test', '-e', LAB_HOST_PATHS.ready])).code !== 0; waited += 250) {
      if (waited > 30_000) throw new Error(`the machine container's engine did not start: ${(await execIn(machine, ['cat', '/var/log/dockerd.log'])).output.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    inner = new Docker({ socketPath: path.join(runDir, 'docker.sock') });
    const saved = (await docker.getImage(IMAGE).get()) as unknown as NodeJS.ReadableStream;
    const loading = await inner.loadImage(saved);
    await new Promise<void>((resolve, reject) => inner.modem.followProgress(loading, (err) => (err ? reject(err) : resolve())));
  }, MACHINE_READY_MS);

  afterAll(async () => {
    await runner?.signal('SIGTERM');
    await removeInstance(instance);
    await docker.getVolume(volume).remove().catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
  });

  it('picks the capabilities form there, and a lab on it runs an inner container and has IPv6 off on its bridge', async () => {
    expect((await inner.version()).Version).toMatch(/^28\./);
    runner = await startRunner({ ...labFixtures(), DOCKER_HOST: `unix://${path.join(runDir, 'docker.sock')}`, LAB_INSTANCE: instance });
    expect((await api(runner, 'GET', '/api/health')).json.engine.version).toMatch(/^28\./);
    const lab = await createLab(runner, LESSONS.oneHost);
    expect(runner.output()).toMatch(/lab hosts run with the capabilities form/);
    const host = (await inner.getContainer(labHostContainerName(lab.id, 'host1')).inspect()).HostConfig;
    expect(host.Privileged).toBe(false);
    expect(host.CapAdd).toEqual(privilegeHostConfig('capabilities')!.CapAdd);
    expect(host.CapDrop ?? []).toEqual([]);
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt(60_000);
    expect(await term.run('docker run --rm busybox echo nested-in-28', 60_000)).toContain('nested-in-28');
    term.close();
    // The helper container switched IPv6 off on the lab's bridge, in the machine's namespace.
    const bridge = labBridgeName(lab.id);
    expect((await execIn(machine, ['cat', `/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`])).output.trim()).toBe('1');
  }, 180_000);
});
