/**
 * The runner end to end against the real Docker Engine: labs over HTTP, shells over WebSockets,
 * isolation between labs, flow control under a flood, and lifetimes (restarts: restart.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAB_HOST_ENV, labHostContainerName } from '../src/names.ts';
import { LabEventsClient } from '../tools/room-clients.ts';
import { CLOSE_CODES } from '../../contract/protocol.ts';
import {
  api, createLab, docker, execIn, fixtureSite, labObjects, openAll, startRunner,
  TerminalClient, type RunningRunner, LESSONS, labFixtures,
} from './harness.ts';

const TWO_HOSTS = {
  'two-hosts': { title: 'Two hosts', lab: { hosts: ['host1', 'host2'] } },
  'macvlan-hosts': { title: 'Macvlan', lab: { hosts: ['host1', 'host2'], macvlan: true } },
};

describe('a lab for the bridge lesson', () => {
  let runner: RunningRunner;
  beforeAll(async () => {
    // A start timeout other than the image's own 30 s, to see it reach the lab hosts.
    runner = await startRunner({ ...labFixtures(), LAB_ENGINE_START_TIMEOUT: '45', LAB_READY_TIMEOUT: '90' });
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it('answers docker network ls with bridge, host and none, completes docker words on Tab, and DELETE leaves nothing labelled', async () => {
    const lab = await createLab(runner, LESSONS.oneHost);
    expect(lab.hosts).toEqual(['host1']);
    expect(lab.token.length).toBeGreaterThanOrEqual(40);
    expect(Date.parse(lab.expiresAt)).toBeGreaterThan(Date.now());
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    const out = await term.run('docker network ls');
    // NAME, DRIVER, SCOPE: the none network's driver is called "null".
    for (const [name, driver] of [['bridge', 'bridge'], ['host', 'host'], ['none', 'null']]) {
      expect(out).toMatch(new RegExp(`\\s${name}\\s+${driver}\\s+local`));
    }
    expect((await labObjects(lab.id)).containers).toBe(1);
    // Completion loads on the first Tab (not at shell start), and then completes docker's own words.
    const from = term.position;
    term.type('docker netw\t');
    await term.waitFor(/docker network /, 10_000, from);
    term.type('\x15');

    const del = await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
    expect(del.status).toBe(204);
    expect(await term.waitClosed()).toBe(CLOSE_CODES.labGone);
    expect(await labObjects(lab.id)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    expect((await api(runner, 'GET', `/api/labs/${lab.id}`, { token: lab.token })).status).toBe(404);
  });

  it('tells a lab page which hosts are still starting their Docker engine, none once each answers, and gives each host its start timeout', async () => {
    const lab = await createLab(runner, LESSONS.twoHosts);
    // Opened as a page opens it, right after Start lab: the hosts' engines take a second or more (platform notes: ~3 s).
    const events = await LabEventsClient.open(runner, lab);
    try {
      await events.waitForState(() => true);
      expect(events.states[0]!.starting).toContain('host1');
      await events.waitForState((s) => s.starting?.length === 0, 60_000, 'no host starting any more');
      // Every host answers by then (the runner waited for each).
      for (const host of lab.hosts) expect((await execIn(labHostContainerName(lab.id, host), ['docker', 'info', '-f', 'ok'])).output).toContain('ok');
      const env = (await docker.getContainer(labHostContainerName(lab.id, 'host2')).inspect()).Config.Env;
      expect(env).toContain(`${LAB_HOST_ENV.engineStartTimeout}=45`);
      // A page asks as long as the runner waits, and more (readyTimeout in src/client/terminal/api.ts).
      expect(lab.readyTimeoutSeconds).toBe(90);
    } finally {
      events.ws.close();
      await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
    }
  });

  it('keeps the runner small while `yes` floods the terminal, and Ctrl-C returns a prompt within 2 s', async () => {
    const lab = await createLab(runner, LESSONS.oneHost);
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    const rssBefore = runner.rss();
    let rssPeak = rssBefore;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, runner.rss())), 100);
    const bytesBefore = term.bytes;
    let flooded: number;
    let promptAfterMs: number;
    try {
      term.type('yes\r');
      await new Promise((r) => setTimeout(r, 5000));
      flooded = term.bytes - bytesBefore;
      const from = term.position;
      const ctrlCAt = performance.now();
      term.type('\x03');
      await term.waitForPrompt(2000, from);
      promptAfterMs = performance.now() - ctrlCAt;
    } finally {
      clearInterval(sampler);
    }
    console.log(`flood: ${(flooded / 1e6).toFixed(1)} MB in 5 s; prompt ${promptAfterMs.toFixed(0)} ms after Ctrl-C; runner RSS ${(rssBefore / 2 ** 20).toFixed(0)} -> peak ${(rssPeak / 2 ** 20).toFixed(0)} MiB`);
    expect(flooded).toBeGreaterThan(1e6); // it really flooded
    expect(promptAfterMs).toBeLessThan(2000);
    expect(rssPeak - rssBefore).toBeLessThan(64 * 2 ** 20);
    // The shell still works after the flood.
    expect(await term.run('echo after-$((6*7))')).toContain('after-42');
    term.close();
    await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
  });

  it('ends the shell and its foreground job when the terminal socket closes', async () => {
    const lab = await createLab(runner, LESSONS.oneHost);
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    term.type('sleep 1234\r');
    const container = labHostContainerName(lab.id, 'host1');
    await expect.poll(async () => (await execIn(container, ['pgrep', '-f', 'sleep 1234'])).code).toBe(0);
    term.close();
    await expect.poll(async () => (await execIn(container, ['pgrep', '-f', 'sleep 1234'])).code, { timeout: 5000 }).toBe(1);
    await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
  });
});

describe('a two-host lab', () => {
  let runner: RunningRunner;
  beforeAll(async () => {
    runner = await startRunner({ ...fixtureSite(TWO_HOSTS) });
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it('lets host1 ping host2 by name, while a second lab cannot reach the first lab at all', async () => {
    const [a, b] = await Promise.all([createLab(runner, 'two-hosts'), createLab(runner, 'two-hosts')]);
    expect(a.hosts).toEqual(['host1', 'host2']);
    const termsA = await openAll(runner, a);
    const termA = termsA.host1!;
    const ping = await termA.run('ping -c1 -W2 host2; echo "exit=$?"');
    expect(ping).toContain('1 received');
    expect(ping).toContain('exit=0');

    const aHost2 = await docker.getContainer(labHostContainerName(a.id, 'host2')).inspect();
    const aHost2Ip = Object.values(aHost2.NetworkSettings.Networks)[0].IPAddress;
    expect(aHost2Ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const termsB = await openAll(runner, b);
    const termB = termsB.host1!;
    const cross = await termB.run(`ping -c1 -W2 ${aHost2Ip}; echo "exit=$?"`);
    // 1: no answer; 2: no route at all (lab hosts route everything outside their lab nowhere).
    expect(cross).toMatch(/exit=[12]/);
    const byName = await termB.run(`ping -c1 -W2 ${labHostContainerName(a.id, 'host2')}; echo "exit=$?"`);
    expect(byName).toMatch(/exit=[12]/);

    for (const term of [...Object.values(termsA), ...Object.values(termsB)]) term.close();
    for (const lab of [a, b]) await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
  });

  it('keeps the upper half of a macvlan lab\'s subnet free, tells the hosts, and a macvlan container there reaches host2', async () => {
    const lab = await createLab(runner, 'macvlan-hosts');
    const terms = await openAll(runner, lab);
    const term = terms.host1!;
    const env = await term.run('echo "net=$LAB_SUBNET gw=$LAB_GATEWAY free=$LAB_MACVLAN_RANGE"');
    const m = /net=(\d+\.\d+\.\d+)\.(\d+)\/26 gw=\1\.(\d+) free=\1\.(\d+)\/27/.exec(env);
    expect(m, env).not.toBeNull();
    const [base, gw, free] = [Number(m![2]), Number(m![3]), Number(m![4])];
    expect(gw).toBe(base + 1);
    expect(free).toBe(base + 32);
    const host2 = await docker.getContainer(labHostContainerName(lab.id, 'host2')).inspect();
    const host2Last = Number(Object.values(host2.NetworkSettings.Networks)[0].IPAddress.split('.')[3]);
    expect(host2Last).toBeLessThan(base + 32);

    await term.run('docker network create -d macvlan --subnet "$LAB_SUBNET" --gateway "$LAB_GATEWAY" --ip-range "$LAB_MACVLAN_RANGE" -o parent=eth0 mv');
    const ping = await term.run(`docker run --rm --network mv busybox sh -c "ip -4 -o addr show eth0; ping -c1 -W2 ${host2.NetworkSettings.Networks[Object.keys(host2.NetworkSettings.Networks)[0]].IPAddress}"; echo "exit=$?"`, 60_000);
    // The container's address is in the free upper half: free .. free + 31.
    const inet = new RegExp(`inet ${m![1].replace(/\./g, '\\.')}\\.(\\d+)/26`).exec(ping);
    expect(inet, ping).not.toBeNull();
    expect(Number(inet![1])).toBeGreaterThanOrEqual(free);
    expect(Number(inet![1])).toBeLessThan(free + 32);
    expect(ping).toContain('exit=0');
    for (const t of Object.values(terms)) t.close();
    await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
  });
});

describe('lab lifetimes', () => {
  it('removes a lab with no open terminal after the idle timeout, and one in use at its maximum lifetime', async () => {
    const runner = await startRunner({ ...labFixtures(), LAB_IDLE_TIMEOUT: '10', LAB_MAX_LIFETIME: '15', LAB_SWEEP_INTERVAL: '1' });
    try {
      const [idle, busy] = await Promise.all([createLab(runner, LESSONS.oneHost), createLab(runner, LESSONS.oneHost)]);
      const term = await TerminalClient.open(runner, busy, 'host1');
      await term.waitForPrompt();
      await expect.poll(async () => (await labObjects(idle.id)).containers, { timeout: 20_000, interval: 500 }).toBe(0);
      // The lab with an open terminal outlived the idle timeout...
      expect((await labObjects(busy.id)).containers).toBe(1);
      // ...until its maximum lifetime, when its terminal is told why it closes.
      expect(await term.waitClosed(20_000)).toBe(CLOSE_CODES.labGone);
      expect(term.messages.at(-1)).toMatchObject({ type: 'error', message: expect.stringMatching(/maximum lifetime/) });
      await expect.poll(() => labObjects(busy.id), { timeout: 10_000 }).toEqual({ containers: 0, networks: 0, volumes: 0 });
    } finally {
      await runner.stop();
    }
  });
});

describe('a runner without a Docker Engine', () => {
  it('still serves the lessons and explains in the API why labs are unavailable', async () => {
    const runner = await startRunner({ ...labFixtures(), DOCKER_HOST: 'unix:///run/no-docker-here.sock' });
    try {
      // The course's own overview, whatever its lessons say: it links to them.
      const page = await fetch(`${runner.url}/`);
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/<a [^>]*href="\/lessons\/[^"]+"/);
      const res = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } });
      expect(res.status).toBe(503);
      expect(res.json.message).toMatch(/Docker Engine is not reachable at \/run\/no-docker-here\.sock/);
    } finally {
      await runner.stop();
    }
  });
});
