/**
 * The sandboxed mode (userns.ts) against a real second engine started with --userns-remap=default
 * (sandbox/tools/userns-engine.ts starts it if it is not running, and stops it after). One lab of
 * two hosts serves every assertion, in order: the course's networking works in it, its root is
 * an unprivileged user on the machine (each proof fails for today's form on the machine's
 * engine, where a lab host's root is the machine's), it survives its runner being killed, a memory
 * hog and a fork bomb stay inside it, and when it ends nothing on the machine is left owned by
 * its uid. LAB_REQUIRE_SANDBOX is proven against both engines.
 */
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LabCreated } from '../../contract/api.ts';
import { ISOLATION } from '../../contract/isolation.ts';
import { execCollect } from '../src/labhost.ts';
import { LABELS, labHostContainerName } from '../src/names.ts';
import { DELEGATION_ROLE } from '../src/userns.ts';
import { startUsernsEngine, USERNS_ENGINE, type UsernsEngine } from '../tools/userns-engine.ts';
import { RoomStream } from '../tools/room-clients.ts';
import { fixtureSite, signInInstructor, startRunner, type RunningRunner } from './harness.ts';

const LESSON = 'userns-two-hosts';
/** Lower than the defaults so the hog and the bomb meet them in seconds; the lab's swarm fits in it. */
const MEMORY = 512 * 2 ** 20;
const PIDS = 400;
/** The kernel charges memory a few pages at a time: a peak may pass the limit by that much (adversarial.test.ts). */
const MEMORY_CHARGE_SLACK = 64 * 1024;
const CGROUP_ROOT = '/sys/fs/cgroup';

const remapped = new Docker({ socketPath: USERNS_ENGINE.socket });
let engine: UsernsEngine;
let runner: RunningRunner;
let lab: LabCreated;
/** The lab hosts' root on the machine, from host1's /proc/PID/uid_map. */
let mappedUid: number;
/** What the engine itself left owned by that uid in the cgroup tree before any lab ran. */
let ownedBefore: string[];

const site = fixtureSite({ [LESSON]: { title: 'Two hosts, macvlan', lab: { hosts: ['host1', 'host2'], macvlan: true } } });
const INSTRUCTOR_CODE = 'userns-instructor';
const env = () => ({ ...site, LAB_INSTRUCTOR_CODE: INSTRUCTOR_CODE, DOCKER_HOST: engine.host, LAB_HOST_MEMORY: String(MEMORY), LAB_HOST_PIDS: String(PIDS) });

/** Run a shell script in a lab host of the lab (as root there); throws with its output unless it exits 0. */
async function sh(host: string, script: string, timeoutMs = 60_000): Promise<string> {
  const { code, output } = await execCollect(remapped, labHostContainerName(lab.id, host), ['sh', '-c', script], { timeoutMs });
  if (code !== 0) throw new Error(`${host}: exit ${code}:\n${output}`);
  return output;
}

/** Like sh, but the script is expected to fail: resolves with its output. */
async function shFails(host: string, script: string): Promise<string> {
  const { code, output } = await execCollect(remapped, labHostContainerName(lab.id, host), ['sh', '-c', script], { timeoutMs: 30_000 });
  if (code === 0) throw new Error(`${host}: "${script}" succeeded:\n${output}`);
  return output;
}

async function hostInfo(host: string): Promise<{ id: string; pid: number }> {
  const { Id, State } = await remapped.getContainer(labHostContainerName(lab.id, host)).inspect();
  return { id: Id, pid: State.Pid };
}

/** Every cgroup directory and file on the machine owned by `uid` (the whole tree: ~1 s). */
function ownedBy(uid: number): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // removed meanwhile
    }
    for (const name of names) {
      const p = path.join(dir, name);
      try {
        const st = lstatSync(p);
        if (st.uid === uid) found.push(p);
        if (st.isDirectory()) walk(p);
      } catch {
        // removed meanwhile
      }
    }
  };
  walk(CGROUP_ROOT);
  return found.sort();
}

/** The lab host's own directory in a cgroup v1 hierarchy, from its /proc/PID/cgroup. */
function cgroupDir(pid: number, controller: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1]?.split(',').includes(controller))!;
  return path.join(CGROUP_ROOT, controller, line.split(':')[2]!);
}

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

beforeAll(async () => {
  engine = await startUsernsEngine(['dnl/labhost:forky'], (line) => console.log(`[userns engine] ${line}`));
  const subuid = /^dockremap:(\d+):/m.exec(readFileSync('/etc/subuid', 'utf8'));
  ownedBefore = ownedBy(Number(subuid![1]));
}, 180_000);

afterAll(async () => {
  await runner?.stop();
  await engine?.stop();
}, 120_000);

describe('LAB_REQUIRE_SANDBOX=1', () => {
  it("refuses to start against the machine's engine, which does not remap user namespaces, with a sentence", async () => {
    const refused = await startRunner({ ...site, LAB_REQUIRE_SANDBOX: '1' }).then(() => 'started', (err: Error) => err.message);
    expect(refused).toMatch(/runner exited with 1/);
    expect(refused).toContain(`does not remap user namespaces, so ${ISOLATION.rootEquivalent}`);
  });

  it("starts against the remapped engine and says labs run as an unprivileged user, in its start-up lines, health and the instructor's room", async () => {
    runner = await startRunner({ ...env(), LAB_REQUIRE_SANDBOX: '1' });
    expect(runner.output()).toContain(ISOLATION.sandboxed);
    expect((await runner.client.health()).isolation).toEqual({ sandboxed: true, sentence: ISOLATION.sandboxed });
    const room = await RoomStream.open(runner, await signInInstructor(runner, INSTRUCTOR_CODE));
    try {
      expect((await room.waitFor(() => true)).room.capacity.isolation).toEqual({ sandboxed: true, sentence: ISOLATION.sandboxed });
    } finally {
      room.close();
    }
  });
});

describe('a lab under the remapped engine', () => {
  beforeAll(async () => {
    lab = await runner.client.create(LESSON);
    // Both hosts' engines answer (a lab's second host starts after the first).
    for (const host of ['host1', 'host2']) {
      await vi.waitFor(() => sh(host, '[ -e /run/lab/ready ]'), { timeout: 90_000, interval: 200 });
    }
    mappedUid = Number(readFileSync(`/proc/${(await hostInfo('host1')).pid}/uid_map`, 'utf8').trim().split(/\s+/)[1]);
  }, 180_000);

  it('runs a user-defined bridge with names, the host network and macvlan on eth0', async () => {
    expect(await sh('host1', 'docker network create br >/dev/null && docker run -d --name web --network br busybox sleep 600 >/dev/null && docker run --rm --network br busybox ping -c1 -W3 web')).toMatch(/1 packets received/);
    expect(await sh('host1', 'docker run --rm --network host busybox ip -o link show eth0')).toMatch(/eth0/);
    const ip = (await sh('host1', 'docker network create -d macvlan --subnet "$LAB_SUBNET" --gateway "$LAB_GATEWAY" --ip-range "$LAB_MACVLAN_RANGE" -o parent=eth0 mv >/dev/null && docker run -d --name mv1 --network mv busybox sleep 600 >/dev/null && docker inspect -f "{{.NetworkSettings.Networks.mv.IPAddress}}" mv1')).trim();
    // The other lab host reaches the macvlan container on the lab's link.
    expect(await sh('host2', `ping -c1 -W3 ${ip}`)).toMatch(/1 received/);
  });

  it('runs swarm init and join, and an attachable overlay across both hosts', async () => {
    const addr = (await sh('host1', "ip -4 -o addr show eth0 | awk '{print $4}' | cut -d/ -f1")).trim();
    const token = (await sh('host1', `docker swarm init --advertise-addr ${addr} >/dev/null && docker swarm join-token -q worker`)).trim();
    await sh('host2', `docker swarm join --token ${token} ${addr}:2377`);
    await sh('host1', 'docker network create -d overlay --attachable ov >/dev/null && docker run -d --name o1 --network ov busybox sleep 600 >/dev/null');
    expect(await sh('host2', 'docker run --rm --network ov busybox ping -c1 -W5 o1', 90_000)).toMatch(/1 packets received/);
  }, 120_000);

  it("has a non-zero uid on the machine as its root, and all its processes are that uid's range", async () => {
    const { pid } = await hostInfo('host1');
    const ids = await Promise.all(['host1', 'host2'].map(async (h) => (await hostInfo(h)).id));
    expect(mappedUid).toBeGreaterThan(0);
    expect(uidOf(pid)).toBe(mappedUid);
    // Every process of the lab host and of the containers inside it (the whole pids subtree).
    const procs = ownedPids(cgroupDir(pid, 'pids'));
    expect(procs.length).toBeGreaterThan(5);
    for (const p of procs) expect(uidOf(p) - mappedUid).toSatisfy((d: number) => d >= 0 && d < 65536);
    // And the cgroups handed over are the lab hosts' own only: none outside their directories.
    expect(ownedBy(mappedUid).filter((f) => !ids.some((id) => f.includes(`/docker/${id}`)) && !ownedBefore.includes(f))).toEqual([]);
  });

  it("nests its containers' cgroups under its own, and cannot write its own limits or make a block device", async () => {
    const { pid } = await hostInfo('host1');
    const inner = (await sh('host1', 'docker inspect -f "{{.Id}}" web')).trim();
    for (const controller of ['memory', 'pids']) {
      expect(readFileSync(path.join(cgroupDir(pid, controller), 'docker', inner, 'cgroup.procs'), 'utf8').trim()).not.toBe('');
    }
    expect(await shFails('host1', `echo ${4 * MEMORY} > /sys/fs/cgroup/memory/memory.limit_in_bytes`)).toMatch(/Permission denied/);
    expect(await shFails('host1', 'echo max > /sys/fs/cgroup/pids/pids.max')).toMatch(/Permission denied/);
    expect(await shFails('host1', 'mknod /tmp/disk b 8 0')).toMatch(/Operation not permitted/);
    expect(readFileSync(path.join(cgroupDir(pid, 'memory'), 'memory.limit_in_bytes'), 'utf8').trim()).toBe(String(MEMORY));
  });

  it('keeps working after its runner is killed and another adopts it; no helper container is left', async () => {
    expect(await runner.signal('SIGKILL')).toBeNull();
    runner = await startRunner({ ...runner.env });
    expect(runner.output()).toMatch(/took over 1 lab\(s\)/);
    expect(await sh('host2', 'docker run --rm busybox echo inner-after-restart')).toContain('inner-after-restart');
    const helpers = await remapped.listContainers({ all: true, filters: JSON.stringify({ label: [`${LABELS.role}=${DELEGATION_ROLE}`] }) });
    expect(helpers).toEqual([]);
  }, 60_000);

  it("ends a memory hog inside with the OOM killer at the lab host's limit", async () => {
    const { pid } = await hostInfo('host1');
    const out = await sh('host1', `docker run --name hog busybox sh -c 'cat /dev/zero | tail'; echo "status=$?"`, 90_000);
    expect(out).toMatch(/status=137/);
    const dir = cgroupDir(pid, 'memory');
    expect(Number(readFileSync(path.join(dir, 'memory.max_usage_in_bytes'), 'utf8'))).toBeLessThanOrEqual(MEMORY + MEMORY_CHARGE_SLACK);
    expect(await sh('host1', 'docker rm hog >/dev/null; docker run --rm busybox echo still-works')).toContain('still-works');
  }, 120_000);

  it("holds a fork bomb inside to the lab host's process limit", async () => {
    const { pid } = await hostInfo('host1');
    const dir = cgroupDir(pid, 'pids');
    await sh('host1', `docker run -d --name bomb busybox sh -c 'f(){ f|f& }; f; exec sleep 100000'`);
    const current = () => Number(readFileSync(path.join(dir, 'pids.current'), 'utf8'));
    await expect.poll(current, { timeout: 60_000, interval: 500 }).toBeGreaterThan(0.9 * PIDS);
    expect(current()).toBeLessThanOrEqual(PIDS);
    expect(readFileSync(path.join(dir, 'pids.max'), 'utf8').trim()).toBe(String(PIDS));
  }, 90_000);

  it('leaves nothing on the machine owned by its uid once it ends', async () => {
    const { id } = await hostInfo('host1');
    await runner.client.delete(lab);
    await expect.poll(() => ownedBy(mappedUid).filter((f) => !ownedBefore.includes(f)), { timeout: 60_000, interval: 1_000 }).toEqual([]);
    expect(ownedBy(mappedUid).some((f) => f.includes(id))).toBe(false);
  }, 90_000);
});

/** Pids in a cgroup v1 directory and every one below it. */
function ownedPids(dir: string): number[] {
  const here = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
  const below = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).flatMap((d) => ownedPids(path.join(dir, d.name)));
  return [...here, ...below];
}
