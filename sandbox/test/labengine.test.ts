/**
 * LAB_OWN_ENGINE=1 for a runner on the machine (labengine.ts): it starts its own lab engine as a
 * container of the machine's engine, its socket in a folder of the machine bind-mounted into it,
 * and runs labs there in the sandboxed mode; a runner killed with SIGKILL is followed by one that
 * adopts the same lab engine and the lab in it; removing the instance leaves nothing of it.
 * One lab engine (one image copy, ~20 s) and one lab serve every assertion, in order.
 * The runner as a container (a volume or bind mount it inspects itself) is compose.test.ts's.
 */
import { existsSync } from 'node:fs';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabCreated } from '../../contract/api.ts';
import { ISOLATION } from '../../contract/isolation.ts';
import { loadConfig } from '../src/config.ts';
import { execCollect } from '../src/labhost.ts';
import { labEngineName, labEngineVolume } from '../src/labengine.ts';
import { LABELS, labHostContainerName } from '../src/names.ts';
import { docker, labFixtures, LESSONS, startRunner, type RunningRunner } from './harness.ts';

/** One engine's image to copy, the default one: a second would double the copy's time. */
const ENGINE = loadConfig().engines[0]!;

let runner: RunningRunner;
let lab: LabCreated;
let labEngine: Docker;
let socketDir: string;

/** Run a shell script in the lab's host (as root there) on the lab engine; throws unless it exits 0. */
async function sh(script: string): Promise<string> {
  const { code, output } = await execCollect(labEngine, labHostContainerName(lab.id, 'host1'), ['sh', '-c', script], { timeoutMs: 60_000 });
  if (code !== 0) throw new Error(`exit ${code}:\n${output}`);
  return output;
}

const engineId = async () => (await docker.getContainer(labEngineName(runner.env.LAB_INSTANCE!)).inspect()).Id;

beforeAll(async () => {
  runner = await startRunner({ ...labFixtures(), LAB_OWN_ENGINE: '1', LAB_ENGINES: ENGINE.id }, { startTimeoutMs: 180_000 });
  socketDir = loadConfig(runner.env).ownEngineDir;
  labEngine = new Docker({ socketPath: `${socketDir}/docker.sock` });
}, 200_000);

afterAll(async () => {
  await runner?.stop();
}, 120_000);

describe('a runner on the machine with LAB_OWN_ENGINE=1', () => {
  it('starts a lab engine of its instance on the machine, copies the lab host image in and says labs are sandboxed', async () => {
    const { Config, HostConfig, State } = await docker.getContainer(labEngineName(runner.env.LAB_INSTANCE!)).inspect();
    expect(State.Running).toBe(true);
    expect(Config.Labels[LABELS.instance]).toBe(runner.env.LAB_INSTANCE);
    expect(HostConfig.NetworkMode).toBe('none');
    expect(HostConfig.Privileged).toBe(false);
    expect(runner.output()).toMatch(new RegExp(`copied dnl/labhost:${ENGINE.suite} into the lab engine`));
    expect((await runner.client.health()).isolation).toEqual({ sandboxed: true, sentence: ISOLATION.sandboxed });
  });

  it("runs a lab there whose root is another user on the machine and whose engine runs containers", async () => {
    lab = await runner.client.create(LESSONS.oneHost);
    // Not on the machine's engine: the lab host is the lab engine's.
    await expect(docker.getContainer(labHostContainerName(lab.id, 'host1')).inspect()).rejects.toMatchObject({ statusCode: 404 });
    await expect.poll(() => sh('[ -e /run/lab/ready ] && echo ready').catch(() => ''), { timeout: 90_000, interval: 250 }).toContain('ready');
    // uid_map: root inside is this uid of the lab engine's user namespace, the machine's own.
    const [inside, outside] = (await sh('cat /proc/self/uid_map')).trim().split(/\s+/).map(Number);
    expect(inside).toBe(0);
    expect(outside).toBeGreaterThan(0);
    expect(await sh('docker run --rm busybox echo inner-engine-answers')).toContain('inner-engine-answers');
  }, 120_000);

  it('is followed, after a SIGKILL, by a runner that adopts the same lab engine and the lab in it', async () => {
    const before = await engineId();
    expect(await runner.signal('SIGKILL')).toBeNull();
    runner = await startRunner({ ...runner.env }, { startTimeoutMs: 60_000 });
    expect(runner.output()).toContain(`took over the lab engine ${labEngineName(runner.env.LAB_INSTANCE!)}`);
    expect(runner.output()).not.toMatch(/copied/);
    expect(runner.output()).toMatch(/took over 1 lab\(s\)/);
    expect(await engineId()).toBe(before);
    expect(await sh('docker run --rm busybox echo after-the-kill')).toContain('after-the-kill');
  }, 90_000);

  it('keeps the lab engine through a runner of the same instance started with LAB_OWN_ENGINE=0, which does not take it for a stray', async () => {
    const before = await engineId();
    await runner.signal('SIGTERM');
    // On the machine's engine this runner finds none of the lab's hosts: it forgets the lab (a
    // lab does not move between engines), but the lab engine is no stray of its to remove.
    const onMachine = await startRunner({ ...runner.env, LAB_OWN_ENGINE: '0' }, { startTimeoutMs: 60_000 });
    await onMachine.signal('SIGTERM');
    expect(await engineId()).toBe(before);
    runner = await startRunner({ ...runner.env }, { startTimeoutMs: 60_000 });
    expect(runner.output()).toContain(`took over the lab engine ${labEngineName(runner.env.LAB_INSTANCE!)}`);
    expect(await engineId()).toBe(before);
  }, 120_000);

  it('leaves no container, volume or socket of its instance once the instance is removed', async () => {
    const instance = runner.env.LAB_INSTANCE!;
    await runner.stop();
    const filters = JSON.stringify({ label: [`${LABELS.instance}=${instance}`] });
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
    await expect(docker.getVolume(labEngineVolume(instance)).inspect()).rejects.toMatchObject({ statusCode: 404 });
    expect(existsSync(socketDir)).toBe(false);
  }, 60_000);
});
