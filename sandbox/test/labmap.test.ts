/**
 * The lab map socket against a real two-host macvlan lab: the map it pushes follows what a
 * learner does in the lab (a bridge network and its container, a namespace and veth pair made by
 * hand, a macvlan container, a swarm overlay spanning both hosts, 50 containers in a loop)
 * within the times; an idle lab with the map open costs next to no CPU; a client frame,
 * a bad token or Origin gets nothing; closing the map leaves no exec behind; the lab's end closes
 * the socket. It prints the figures: event to push (median, p95), collection time per host, the
 * settle time after 50 containers, and idle CPU of the runner and the lab hosts.
 * Parsing hostile collections is sandbox/src/labmap.test.ts (unit).
 */
import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabCreated } from '../../contract/api.ts';
import { CLOSE_CODES, type LabMap, type MapHost } from '../../contract/protocol.ts';
import { COLLECT_SCRIPT, COLLECT_TIMEOUT_MS, MAX_OUTPUT_BYTES } from '../src/labmap.ts';
import { execCollect } from '../src/labhost.ts';
import { labHostContainerName } from '../src/names.ts';
import { LabMapClient } from '../tools/room-clients.ts';
import { containerCpuMs, processCpuMs } from '../tools/measure.ts';
import { api, createLab, docker, execIn, fixtureSite, percentile, startRunner, type RunningRunner } from './harness.ts';

/** The bounds: a change shows within 2 s; 50 containers settle within 3 s of the last; idle under 1% of a CPU. */
const CHANGE_SHOWN_MS = 2_000;
const SETTLED_MS = 3_000;
const IDLE_CPU_PERCENT = 1;
/** Changes timed for the event-to-push figures. */
const TIMED_CHANGES = 20;
const IDLE_WINDOW_MS = 60_000;
/** The map closed, for comparison: half as long is enough for a rate. */
const BASELINE_WINDOW_MS = 30_000;

/** How long after a container starts its host still announces its links (ms): measured ~15 s, once. */
const LATE_LINK_EVENTS_MS = 20_000;

const MACVLAN_LAB = { 'map-lab': { title: 'Map', lab: { hosts: ['host1', 'host2'], macvlan: true } } };

const hostOf = (map: LabMap, name: string): MapHost => map.hosts.find((h) => h.name === name)!;
const containerOf = (map: LabMap, host: string, name: string) => hostOf(map, host)?.containers.find((c) => c.name === name);

describe('the lab map socket', () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  let map: LabMapClient;
  let host1: string;
  let host2: string;
  const sh = (container: string, script: string, timeoutMs = 30_000) => execIn(container, ['sh', '-c', script], timeoutMs);

  /** Run `script` on a host; resolves when the first map matching `shows` arrives after it started, with the time from its return to that push (0 if the push came first). */
  async function change(container: string, script: string, shows: (m: LabMap) => boolean, what: string): Promise<number> {
    const started = performance.now();
    const { code, output } = await sh(container, script);
    const returned = performance.now();
    expect(code, output).toBe(0);
    const pushed = await map.waitForMap(shows, CHANGE_SHOWN_MS + (returned - started), what, started);
    return Math.max(0, pushed.at - returned);
  }

  beforeAll(async () => {
    runner = await startRunner({ ...fixtureSite(MACVLAN_LAB) });
    lab = await createLab(runner, 'map-lab');
    host1 = labHostContainerName(lab.id, 'host1');
    host2 = labHostContainerName(lab.id, 'host2');
    // A lab answers once its first host runs; the others follow.
    for (const host of [host1, host2]) {
      for (const until = Date.now() + 60_000; !(await docker.getContainer(host).inspect().then((c) => c.State.Running, () => false)); ) {
        if (Date.now() > until) throw new Error(`${host} did not start`);
        await new Promise((r) => setTimeout(r, 200));
      }
      await sh(host, 'until docker info >/dev/null 2>&1; do sleep 0.2; done', 60_000);
    }
    map = await LabMapClient.open(runner, lab);
  });
  afterAll(async () => {
    map?.close();
    await runner?.stop();
  });

  it('pushes the whole map when it opens: both hosts on the lab link with their engines, interfaces and default networks', async () => {
    const { map: first } = await map.waitForMap(() => true, 20_000, 'the first map');
    expect(first.hosts.map((h) => h.name)).toEqual(['host1', 'host2']);
    for (const host of first.hosts) {
      expect(host.engineUp).toBe(true);
      expect(host.labAddress).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
      // Routes read as `ip route` prints them.
      expect(host.routes).toContain('172.17.0.0/16 dev docker0 proto kernel scope link src 172.17.0.1 linkdown');
      expect(host.interfaces.find((i) => i.name === 'docker0')).toMatchObject({ kind: 'bridge', addresses: ['172.17.0.1/16'] });
      expect(first.networks.find((n) => n.key === `${host.name}/bridge`)).toMatchObject({ driver: 'bridge', bridge: 'docker0', hosts: [host.name] });
    }
    expect(map.invalid).toEqual([]);
  });

  it('shows a network and its container within 2 s of docker run, and drops the container within 2 s of docker rm', async () => {
    // `--name a` as in the issue is refused by the engine (names need two characters): a1.
    const shown = await change(host1, 'docker network create app >/dev/null && docker run -d --name a1 --network app busybox sleep 1d', (m) => containerOf(m, 'host1', 'a1')?.running === true, 'a1 on app');
    const latest = map.latest()!;
    const a1 = containerOf(latest, 'host1', 'a1')!;
    const app = latest.networks.find((n) => n.key === 'host1/app')!;
    expect(app).toMatchObject({ name: 'app', driver: 'bridge', scope: 'local', hosts: ['host1'] });
    expect(a1.endpoints).toEqual([expect.objectContaining({ network: 'host1/app', ipv4: expect.stringMatching(/^\d+\.\d+\.\d+\.\d+$/), dnsNames: expect.arrayContaining(['a1']) })]);
    // Its eth0 is one end of a veth whose other end is on app's bridge in the host.
    expect(a1.routes).toContain(`default via ${app.subnets[0]!.gateway} dev eth0`);
    const eth0 = a1.interfaces.find((i) => i.name === 'eth0')!;
    expect(eth0.addresses[0]).toBe(`${a1.endpoints[0]!.ipv4}/${app.subnets[0]!.subnet.split('/')[1]}`);
    const hostEnd = hostOf(latest, 'host1').interfaces.find((i) => i.name === eth0.peer?.interface)!;
    expect(hostEnd).toMatchObject({ kind: 'veth', master: app.bridge, peer: { container: 'a1', interface: 'eth0' } });
    const removed = await change(host1, 'docker rm -f a1 >/dev/null', (m) => containerOf(m, 'host1', 'a1') === undefined, 'a1 gone');
    console.log(`map: a1 shown ${shown.toFixed(0)} ms, removed ${removed.toFixed(0)} ms after the command returned`);
  });

  it(`pushes a change within 2 s (median and p95 of ${TIMED_CHANGES} runs and removals)`, async () => {
    const times: number[] = [];
    for (let i = 0; i < TIMED_CHANGES / 2; i++) {
      times.push(await change(host1, `docker run -d --name t${i} --network app busybox sleep 1d >/dev/null`, (m) => containerOf(m, 'host1', `t${i}`)?.running === true, `t${i}`));
      times.push(await change(host1, `docker rm -f t${i} >/dev/null`, (m) => containerOf(m, 'host1', `t${i}`) === undefined, `t${i} gone`));
    }
    console.log(`map: event (the command returned) to push: median ${percentile(times, 50).toFixed(0)} ms, p95 ${percentile(times, 95).toFixed(0)} ms, max ${Math.max(...times).toFixed(0)} ms over ${times.length} changes`);
    expect(percentile(times, 95)).toBeLessThan(CHANGE_SHOWN_MS);
  });

  it('shows a namespace made by hand with its interface, and the host\'s veth with its peer matched to the namespace', async () => {
    await change(host1, 'ip netns add ns1 && ip link add veth0 type veth peer name veth1 && ip link set veth1 netns ns1',
      (m) => hostOf(m, 'host1').namespaces.some((n) => n.name === 'ns1' && n.interfaces.some((i) => i.name === 'veth1')), 'ns1 with veth1');
    const host = hostOf(map.latest()!, 'host1');
    expect(host.interfaces.find((i) => i.name === 'veth0')).toMatchObject({ kind: 'veth', peer: { namespace: 'ns1', interface: 'veth1' } });
    expect(host.namespaces.find((n) => n.name === 'ns1')!.interfaces.find((i) => i.name === 'veth1')).toMatchObject({ kind: 'veth', peer: { interface: 'veth0' } });
  });

  it('shows a macvlan container with its own MAC, and the macvlan network\'s parent and mode', async () => {
    await change(host1,
      'docker network create -d macvlan --subnet "$LAB_SUBNET" --gateway "$LAB_GATEWAY" --ip-range "$LAB_MACVLAN_RANGE" -o parent=eth0 lan >/dev/null && docker run -d --name mv1 --network lan busybox sleep 1d >/dev/null',
      (m) => containerOf(m, 'host1', 'mv1')?.running === true, 'mv1 on lan');
    const latest = map.latest()!;
    expect(latest.networks.find((n) => n.key === 'host1/lan')).toMatchObject({ driver: 'macvlan', parent: 'eth0', mode: 'bridge' });
    const mv1 = containerOf(latest, 'host1', 'mv1')!;
    const eth0 = mv1.interfaces.find((i) => i.name === 'eth0')!;
    expect(eth0).toMatchObject({ kind: 'macvlan', macvlan: { mode: 'bridge', parent: 'eth0' } });
    expect(eth0.mac).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    expect(mv1.endpoints[0]).toMatchObject({ network: 'host1/lan', mac: eth0.mac });
    expect(eth0.mac).not.toBe(hostOf(latest, 'host1').interfaces.find((i) => i.name === 'eth0')!.mac);
  });

  it('shows an attachable overlay with a container on each host as one network spanning both, with its VNI', async () => {
    const address = hostOf(map.latest()!, 'host1').labAddress!.split('/')[0];
    const init = await sh(host1, `docker swarm init --advertise-addr ${address} >/dev/null && docker swarm join-token -q worker`);
    const token = init.output.trim().split(/\s+/).at(-1)!;
    expect(init.code, init.output).toBe(0);
    expect((await sh(host2, `docker swarm join --token ${token} ${address}:2377`)).code).toBe(0);
    await change(host1, 'docker network create -d overlay --attachable ov >/dev/null && docker run -d --name o1 --network ov busybox sleep 1d >/dev/null', (m) => containerOf(m, 'host1', 'o1')?.running === true, 'o1 on ov');
    await change(host2, 'docker run -d --name o2 --network ov busybox sleep 1d >/dev/null',
      (m) => containerOf(m, 'host2', 'o2')?.running === true && (m.networks.find((n) => n.key === 'swarm/ov')?.hosts.length ?? 0) === 2, 'o2 on ov, on both hosts');
    const latest = map.latest()!;
    const overlays = latest.networks.filter((n) => n.name === 'ov');
    expect(overlays).toHaveLength(1);
    expect(overlays[0]).toMatchObject({ key: 'swarm/ov', driver: 'overlay', scope: 'swarm', hosts: ['host1', 'host2'] });
    expect(overlays[0]!.vni.length).toBeGreaterThan(0);
    expect(containerOf(latest, 'host1', 'o1')!.endpoints.map((e) => e.network)).toContain('swarm/ov');
    expect(containerOf(latest, 'host2', 'o2')!.endpoints.map((e) => e.network)).toContain('swarm/ov');
    expect(hostOf(latest, 'host1').swarm).toMatchObject({ role: 'manager', state: 'active' });
    expect(hostOf(latest, 'host2').swarm).toMatchObject({ role: 'worker', state: 'active' });
  });

  it('costs under 1% of a CPU in the runner and in each lab host while the map is open on an idle lab, and sends nothing', async () => {
    // Let the last changes settle: a bridge port's link is announced once more about 15 s after
    // its container starts (seen on docker_gwbridge), which is a change to look at, not idling.
    await new Promise((r) => setTimeout(r, LATE_LINK_EVENTS_MS));
    const pid = runner.proc.pid!;
    const ids = await Promise.all([host1, host2].map(async (h) => (await docker.getContainer(h).inspect()).Id));
    const sample = () => ({ at: performance.now(), runner: processCpuMs(pid), hosts: ids.map(containerCpuMs) });
    const percent = (from: ReturnType<typeof sample>, to: ReturnType<typeof sample>) => ({
      runner: (100 * (to.runner - from.runner)) / (to.at - from.at),
      hosts: to.hosts.map((ms, i) => (100 * (ms - from.hosts[i]!)) / (to.at - from.at)),
    });
    const pushes = map.maps.length;
    const openFrom = sample();
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    const open = percent(openFrom, sample());
    expect(map.maps.length, 'maps pushed while nothing changed').toBe(pushes);
    map.close();
    await map.waitClosed();
    await new Promise((r) => setTimeout(r, 2_000));
    const closedFrom = sample();
    await new Promise((r) => setTimeout(r, BASELINE_WINDOW_MS));
    const closed = percent(closedFrom, sample());
    const attributable = open.hosts.map((p, i) => p - closed.hosts[i]!);
    const f = (n: number) => `${n.toFixed(2)}%`;
    console.log(`map idle ${IDLE_WINDOW_MS / 1000} s: runner ${f(open.runner)} open vs ${f(closed.runner)} closed; lab hosts ${open.hosts.map(f).join(', ')} open vs ${closed.hosts.map(f).join(', ')} closed (attributable ${attributable.map(f).join(', ')})`);
    expect(open.runner).toBeLessThan(IDLE_CPU_PERCENT);
    for (const p of attributable) expect(p).toBeLessThan(IDLE_CPU_PERCENT);
    map = await LabMapClient.open(runner, lab);
    await map.waitForMap(() => true, 20_000, 'the map again');
  }, LATE_LINK_EVENTS_MS + IDLE_WINDOW_MS + BASELINE_WINDOW_MS + 60_000);

  it('settles within 3 s of the last of 50 containers created in a loop, listing them all', async () => {
    const names = Array.from({ length: 50 }, (_, i) => `c${i + 1}`);
    const started = performance.now();
    const { code, output } = await sh(host1, 'for i in $(seq 1 50); do docker run -d --name c$i --network app busybox sleep 1d >/dev/null || exit 1; done', 240_000);
    const returned = performance.now();
    expect(code, output).toBe(0);
    const all = await map.waitForMap((m) => names.every((n) => containerOf(m, 'host1', n)?.running), SETTLED_MS + 5_000, 'all 50 containers', started);
    const settled = Math.max(0, all.at - returned);
    console.log(`map: 50 containers made in ${((returned - started) / 1000).toFixed(1)} s; the map listing all 50 came ${settled.toFixed(0)} ms after the last; ${map.maps.length} maps pushed so far`);
    expect(settled).toBeLessThan(SETTLED_MS);
    // One collection, as the runner makes it: host1 with 52 containers, host2 with one.
    for (const host of [host1, host2]) {
      const times: number[] = [];
      let bytes = 0;
      for (let i = 0; i < 5; i++) {
        const from = performance.now();
        const result = await execCollect(docker, host, ['sh', '-c', COLLECT_SCRIPT], { keepBytes: MAX_OUTPUT_BYTES, timeoutMs: COLLECT_TIMEOUT_MS });
        times.push(performance.now() - from);
        bytes = result.output.length;
      }
      console.log(`map: collecting ${host.slice(-5)} takes ${percentile(times, 50).toFixed(0)} ms (median of 5; ${(bytes / 1024).toFixed(0)} KiB)`);
    }
  }, 300_000);

  it('refuses a wrong token, a foreign Origin or a ninth socket, and closes the socket with policy on any client frame', async () => {
    await expect(LabMapClient.open(runner, { id: lab.id, token: randomUUID() })).rejects.toThrow(/404/);
    await expect(LabMapClient.open(runner, lab, { origin: 'https://evil.example' })).rejects.toThrow(/403/);
    const other = await LabMapClient.open(runner, lab);
    other.ws.send('{"type":"map"}');
    expect(await other.waitClosed()).toBe(CLOSE_CODES.policy);
    // A lab takes 8 map sockets (this test's own is one); the ninth is refused.
    const more = await Promise.all(Array.from({ length: 7 }, () => LabMapClient.open(runner, lab)));
    await expect(LabMapClient.open(runner, lab)).rejects.toThrow(/429/);
    for (const m of more) m.close();
    await Promise.all(more.map((m) => m.waitClosed()));
    const raw = new WebSocket(runner.url.replace(/^http/, 'ws') + '/api/labs/%ff/map?token=x');
    await new Promise<void>((resolve) => raw.once('unexpected-response', (_req, res) => (expect(res.statusCode).toBe(404), resolve())));
    expect(map.closeCode).toBeUndefined();
  });

  it('leaves no exec in the lab hosts once the last map socket closes, and closes with labGone when the lab ends', async () => {
    const processes = async (h: string) => (await execIn(h, ['ps', '-eo', 'args'])).output;
    expect(await processes(host2)).toMatch(/ip monitor/);
    map.close();
    await map.waitClosed();
    for (const h of [host1, host2]) await expect.poll(() => processes(h), { timeout: 10_000 }).not.toMatch(/ip monitor|docker events|nsenter/);
    map = await LabMapClient.open(runner, lab);
    await map.waitForMap(() => true, 20_000, 'the map again');
    await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
    expect(await map.waitClosed()).toBe(CLOSE_CODES.labGone);
  });
});
