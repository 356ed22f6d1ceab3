/**
 * The warm pool against the real engine: labs built ahead of time are handed out once each,
 * carry nothing of anyone else, are replaced when taken or when their host dies, and go with
 * the runner; with the pool at 0 labs are built on request as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labHostContainerName, labNetworkName } from '../src/names.ts';
import type { LabCreated } from '../../contract/api.ts';
import { api, createLab, docker, execIn, fixtureSite, instanceObjects, poolReady, startRunner, uniqueInstance, TerminalClient, type RunningRunner } from './harness.ts';

const ONE_HOST = { 'one-host': { title: 'One host', lab: { hosts: ['host1'] } } };
const POOL_SIZE = 2;
/** Labs asked for at once: more than the pool holds, so some are built on the spot. */
const BURST = 5;

/** Far below a cold lab (~1.5 s): proves the lab was warm without timing a busy CI machine tightly. */
const WARM_PROMPT_LIMIT_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The engine's view of a lab host: container id, creation time, and the networks it is on. */
async function hostInfo(lab: LabCreated, host = 'host1') {
  const info = await docker.getContainer(labHostContainerName(lab.id, host)).inspect();
  return { id: info.Id, created: Date.parse(info.Created), networks: Object.keys(info.NetworkSettings.Networks) };
}

describe('a runner with a warm pool', () => {
  let runner: RunningRunner;
  let instance: string;
  beforeAll(async () => {
    instance = uniqueInstance('pool');
    runner = await startRunner({ LAB_INSTANCE: instance, ...fixtureSite(ONE_HOST), LAB_POOL_SIZE: String(POOL_SIZE), LAB_SWEEP_INTERVAL: '1' });
    await poolReady(runner, POOL_SIZE);
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it('hands a claimed lab that carries no containers, networks, shells or history of anyone else, and types at once', async () => {
    const started = performance.now();
    const lab = await createLab(runner, 'one-host');
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    const firstPromptMs = performance.now() - started;
    console.log(`warm lab: first prompt ${firstPromptMs.toFixed(0)} ms after the POST`);

    const host = await hostInfo(lab);
    // Built before the request: it came from the pool.
    expect(host.created).toBeLessThan(Date.now() - firstPromptMs);
    // Outside: on its own lab's network only, and that network holds only this lab's host.
    expect(host.networks).toEqual([labNetworkName(lab.id)]);
    const network = await docker.getNetwork(labNetworkName(lab.id)).inspect();
    expect(Object.values(network.Containers ?? {}).map((c: { Name: string }) => c.Name)).toEqual([labHostContainerName(lab.id, 'host1')]);
    // Inside: an engine with no containers and only its default networks; no earlier shells.
    const inside = await term.run(
      // One line per fact, so that each can be matched on its own.
      'echo "containers=$(docker ps -aq | wc -l)"; echo "networks=$(docker network ls --format "{{.Name}}" | sort | tr "\\n" " ")"; ' +
        'echo "terminals=$(ls /run/lab/terms | wc -l)"; ls -a /root',
    );
    expect(inside).toMatch(/^containers=0\s*$/m);
    expect(inside).toMatch(/^networks=bridge host none \s*$/m);
    // Exactly one terminal (this one) has ever opened in it, and nobody left shell history.
    expect(inside).toMatch(/^terminals=1\s*$/m);
    expect(inside).not.toContain('.bash_history');
    // Its shell was started before the request (a prepared shell): no engine boot, no exec wait.
    expect(firstPromptMs).toBeLessThan(WARM_PROMPT_LIMIT_MS);
    // The adopted shell ends with its terminal, like any other.
    term.close();
    const deadline = Date.now() + 5_000;
    while ((await execIn(labHostContainerName(lab.id, 'host1'), ['pgrep', '-c', 'bash'])).output.trim() !== '0') {
      if (Date.now() > deadline) throw new Error('the shell outlived its terminal');
      await sleep(100);
    }
    expect((await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token })).status).toBe(204);
  });

  it(`never hands one pooled lab to two labs, with ${BURST} labs asked for at once, and fills up again`, async () => {
    await poolReady(runner, POOL_SIZE);
    const sent = Date.now();
    const labs = await Promise.all(Array.from({ length: BURST }, () => createLab(runner, 'one-host')));
    const hosts = await Promise.all(labs.map((lab) => hostInfo(lab)));
    expect(new Set(labs.map((l) => l.id)).size).toBe(BURST);
    expect(new Set(hosts.map((h) => h.id)).size).toBe(BURST);
    for (const [i, h] of hosts.entries()) expect(h.networks).toEqual([labNetworkName(labs[i]!.id)]);
    // The pool's labs went to exactly POOL_SIZE of the requests; the rest were built for them.
    expect(hosts.filter((h) => h.created < sent).length).toBe(POOL_SIZE);
    // Every lab's token opens its own lab, and only its own.
    for (const [i, lab] of labs.entries()) {
      expect((await api(runner, 'GET', `/api/labs/${lab.id}`, { token: lab.token })).status).toBe(200);
      expect((await api(runner, 'GET', `/api/labs/${lab.id}`, { token: labs[(i + 1) % BURST]!.token })).status).toBe(404);
    }
    await poolReady(runner, POOL_SIZE);
    const all = await instanceObjects(instance);
    expect(all.containers).toBe(BURST + POOL_SIZE);
    await Promise.all(labs.map((lab) => api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token })));
    expect(await instanceObjects(instance)).toEqual({ containers: POOL_SIZE, networks: POOL_SIZE });
  }, 180_000);

  it('replaces a pooled lab whose host stopped, and never hands it out', async () => {
    await poolReady(runner, POOL_SIZE);
    const filters = JSON.stringify({ label: [`io.dnl.instance=${instance}`] });
    const pooled = await docker.listContainers({ filters });
    const victim = pooled[0]!;
    await docker.getContainer(victim.Id).kill();
    const deadline = Date.now() + 30_000;
    while ((await docker.listContainers({ all: true, filters })).some((c) => c.Id === victim.Id)) {
      if (Date.now() > deadline) throw new Error('the dead pooled lab was not removed');
      await sleep(200);
    }
    expect(runner.output()).toMatch(/warm pool: 1 lab\(s\) whose host stopped were removed/);
    await poolReady(runner, POOL_SIZE);
    const lab = await createLab(runner, 'one-host');
    expect((await hostInfo(lab)).id).not.toBe(victim.Id);
    const ready = await execIn(labHostContainerName(lab.id, 'host1'), ['docker', 'info', '--format', '{{.ServerVersion}}']);
    expect(ready.code).toBe(0);
    await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
  }, 120_000);

  it('removes its pooled labs when it stops', async () => {
    await poolReady(runner, POOL_SIZE);
    expect(await runner.stop()).toBe(0);
    expect(await instanceObjects(instance)).toEqual({ containers: 0, networks: 0 });
  });
});

describe('a runner with the pool at 0', () => {
  it('keeps nothing in the background and builds each lab on request', async () => {
    const instance = uniqueInstance('nopool');
    const runner = await startRunner({ LAB_INSTANCE: instance, ...fixtureSite(ONE_HOST), LAB_POOL_SIZE: '0' });
    try {
      await sleep(1000);
      expect((await runner.client.health()).pool).toMatchObject({ size: 0, ready: 0, starting: 0 });
      expect(await instanceObjects(instance)).toEqual({ containers: 0, networks: 0 });
      const sent = Date.now();
      const lab = await createLab(runner, 'one-host');
      expect((await hostInfo(lab)).created).toBeGreaterThanOrEqual(sent - 1000);
      const term = await TerminalClient.open(runner, lab, 'host1');
      await term.waitForPrompt();
      expect(await term.run('docker run --rm busybox echo inner-works', 30_000)).toContain('inner-works');
      expect(await instanceObjects(instance)).toEqual({ containers: 1, networks: 1 });
    } finally {
      await runner.stop();
    }
    expect(await instanceObjects(instance)).toEqual({ containers: 0, networks: 0 });
  }, 120_000);
});
