/**
 * The lab host image's entrypoint where it must refuse rather than improvise: when its cgroup
 * hierarchies cannot be made writable in place, it does not mount them fresh (that shows the
 * machine's root cgroup, and inner containers would escape the lab host's limits): it says why
 * in /run/lab/failed and never starts its engine. And the capabilities form the runner uses
 * carries exactly the capabilities docker.ts names; the preloaded toolkit image works inside, and
 * restart-docker restarts the engine.
 * LAB_SUITE picks the lab host (forky, Engine 28.5.2, by default; trixie, 26.1.5).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bridgeIpv6Disabled, disableBridgeIpv6, labBridgeName } from '../src/bridges.ts';
import { LAB_HOST_CAPABILITIES, privilegeHostConfig } from '../src/docker.ts';
import { waitForEngine } from '../src/labhost.ts';
import { loadConfig } from '../src/config.ts';
import { IMAGES, LABELS, LAB_HOST_ENV, LAB_HOST_PATHS, dockerDataTmpfs } from '../src/names.ts';
import { docker, execIn, removeInstance, uniqueInstance } from './harness.ts';

/**
 * A seccomp profile that allows everything but mounting (mount(2) and the new mount API, which
 * util-linux uses for a bind remount): the in-place cgroup remount then fails.
 */
const NO_MOUNT_SECCOMP = JSON.stringify({
  defaultAction: 'SCMP_ACT_ALLOW',
  syscalls: [{ names: ['mount', 'mount_setattr', 'fsopen', 'fsconfig', 'fsmount', 'move_mount', 'open_tree'], action: 'SCMP_ACT_ERRNO' }],
});

/** Capability bits (linux/capability.h) of the names docker.ts adds. */
const CAP_BITS: Record<string, number> = { NET_RAW: 13, NET_ADMIN: 12, SYS_ADMIN: 21, SYS_PTRACE: 19, SYS_MODULE: 16, SYS_RAWIO: 17, SYS_TIME: 25, DAC_READ_SEARCH: 2, SYS_RESOURCE: 24 };

/** The suite under test: the default engine's; LAB_ENGINES=26 (or the deprecated LAB_SUITE=trixie) runs these against Engine 26.1.5's lab host. */
const SUITE = loadConfig().engines[0]!.suite;

describe('a lab host', () => {
  const instance = uniqueInstance('labhost');
  afterEach(async () => {
    await removeInstance(instance);
  });

  async function start(hostConfig: object, env: string[] = []): Promise<string> {
    const name = `dnl-${instance}-${Math.random().toString(36).slice(2, 8)}`;
    const container = await docker.createContainer({
      name,
      Image: IMAGES.labHost(SUITE),
      Env: env,
      Labels: { [LABELS.instance]: instance },
      HostConfig: {
        ...privilegeHostConfig('capabilities'),
        ...hostConfig,
        NetworkMode: 'none',
        Tmpfs: { [LAB_HOST_PATHS.dockerData]: dockerDataTmpfs('256m') },
      },
    });
    await container.start();
    return name;
  }

  it('whose cgroups stay read-only says so and starts no engine, instead of mounting them fresh', async () => {
    const base = privilegeHostConfig('capabilities')!;
    const name = await start({ SecurityOpt: [...(base.SecurityOpt ?? []).filter((o: string) => !o.startsWith('seccomp=')), `seccomp=${NO_MOUNT_SECCOMP}`] });
    await expect.poll(async () => (await execIn(name, ['cat', LAB_HOST_PATHS.failed])).output, { timeout: 30_000 }).toMatch(
      /cgroup hierarchies .* stay read-only in this lab host, and mounting them fresh would let containers escape its limits, so its Docker engine was not started\./,
    );
    expect((await execIn(name, ['pgrep', '-x', 'dockerd'])).code).toBe(1);
    expect((await execIn(name, ['test', '-e', LAB_HOST_PATHS.ready])).code).toBe(1);
    // Nothing was mounted fresh: the hierarchies are still the container's own read-only binds.
    const mounts = (await execIn(name, ['cat', '/proc/self/mounts'])).output;
    const cgroupMounts = mounts.split('\n').filter((l) => / cgroup /.test(l));
    expect(cgroupMounts.length).toBeGreaterThan(0);
    for (const line of cgroupMounts) expect(line).toMatch(/\bro\b/);
  });

  it('whose engine does not answer within the start timeout it is given says so after that long, and a shell opened meanwhile waits as long', async () => {
    // A dockerd that never answers (bound over the real one): the entrypoint's wait is all that is left to see.
    const dir = mkdtempSync(path.join(tmpdir(), 'dnl-slow-dockerd-'));
    const fake = path.join(dir, 'dockerd');
    writeFileSync(fake, '#!/bin/sh\nexec sleep 3600\n');
    chmodSync(fake, 0o755);
    try {
      const name = await start({ Binds: [`${fake}:/usr/sbin/dockerd:ro`] }, [`${LAB_HOST_ENV.engineStartTimeout}=3`]);
      const t = performance.now();
      // As a terminal would open it, before the engine is up; bash ends at once on an empty stdin.
      const shell = await execIn(name, ['sh', '-c', `${LAB_HOST_PATHS.shell} slow-start </dev/null`], 40_000);
      const waitedS = (performance.now() - t) / 1000;
      expect(shell.output).toContain('Waiting for this host\'s Docker engine to start');
      expect(shell.output).toMatch(/did not start within 3 s|has not started after 3 s/);
      // The default limit (30 s) would have held the shell ten times as long.
      expect(waitedS).toBeLessThan(15);
      expect((await execIn(name, ['cat', LAB_HOST_PATHS.failed])).output).toContain('did not start within 3 s');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('in the capabilities form has the capabilities docker.ts names and none of the dangerous ones', async () => {
    const name = await start({});
    const status = (await execIn(name, ['grep', 'CapEff', '/proc/1/status'])).output;
    const effective = BigInt(`0x${/CapEff:\s+([0-9a-f]+)/.exec(status)![1]}`);
    const has = (cap: string) => (effective >> BigInt(CAP_BITS[cap]!)) & 1n;
    for (const cap of LAB_HOST_CAPABILITIES) expect(has(cap), cap).toBe(1n);
    for (const cap of ['SYS_MODULE', 'SYS_RAWIO', 'SYS_TIME', 'DAC_READ_SEARCH', 'SYS_RESOURCE']) expect(has(cap), cap).toBe(0n);
    // Docker's default masked paths stay masked.
    expect((await execIn(name, ['sh', '-c', 'test -s /proc/kcore || echo masked'])).output).toContain('masked');
  });

  it('runs the preloaded toolkit, whose layers stay in the image, in another container\'s namespaces: dig against its embedded DNS, ss, tcpdump, and nsenter', async () => {
    const name = await start({});
    await waitForEngine(docker, name);
    const sh = async (script: string) => {
      const { code, output } = await execIn(name, ['sh', '-c', script], 60_000);
      expect(code, output).toBe(0);
      return output;
    };
    // The preloaded layers stay in the image (symlinks), not copied into the memory tmpfs.
    expect(await sh('find /var/lib/docker/overlay2 -mindepth 2 -maxdepth 2 -name diff ! -type l')).toBe('');
    expect(Number(await sh('find /var/lib/docker/overlay2 -mindepth 2 -maxdepth 2 -name diff -type l | wc -l'))).toBeGreaterThanOrEqual(3);
    await sh('docker network create tk >/dev/null && docker run -d --name web1 --network tk web >/dev/null');
    const address = (await sh("docker inspect -f '{{.NetworkSettings.Networks.tk.IPAddress}}' web1")).trim();
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    // web1's own resolver, answering for the network's names: only visible from inside its namespace.
    expect((await sh('docker run --rm --network container:web1 toolkit dig +short web1 @127.0.0.11')).trim()).toBe(address);
    expect(await sh('docker run --rm --network container:web1 toolkit ss -lnt')).toMatch(/:80\b/);
    // tcpdump (Debian's, dropping root to its own user) sees the ping it waits for; pings repeat until it has one.
    expect(await sh(
      'docker run --rm --network container:web1 toolkit sh -c \'tcpdump -c1 -ni eth0 icmp & t=$!; ' +
        'set -- $(ip route show default); for i in $(seq 50); do kill -0 $t 2>/dev/null || break; ping -c1 -W1 "$3" >/dev/null; done; wait $t\'',
    )).toMatch(/1 packet captured/);
    // nsenter from a container sharing the lab host's PIDs into web1's network namespace (--privileged is
    // not available inside every lab host: the two capabilities are what nsenter needs).
    expect(await sh(
      'docker run --rm --pid host --cap-add SYS_ADMIN --cap-add SYS_PTRACE toolkit nsenter -t "$(docker inspect -f {{.State.Pid}} web1)" -n ss -lnt',
    )).toMatch(/:80\b/);
  });

  it('restart-docker starts a new engine that reads daemon.json, and says why when it cannot start', async () => {
    const name = await start({});
    await waitForEngine(docker, name);
    // "ip": the default address of published ports, read only when dockerd starts.
    const restarted = await execIn(name, ['sh', '-c', `echo '{"ip": "127.0.0.1"}' > /etc/docker/daemon.json && restart-docker`], 60_000);
    expect(restarted.output).toContain('The Docker engine is running again.');
    expect(restarted.code).toBe(0);
    expect((await execIn(name, ['sh', '-c', 'docker run -d --name pub -p 8080:80 web >/dev/null && docker port pub'])).output).toContain('127.0.0.1:8080');
    const broken = await execIn(name, ['sh', '-c', 'echo "{ broken" > /etc/docker/daemon.json && restart-docker'], 60_000);
    expect(broken.code).toBe(1);
    expect(broken.output).toMatch(/did not start again.*daemon\.json/s);
    const fixed = await execIn(name, ['sh', '-c', 'echo "{}" > /etc/docker/daemon.json && restart-docker && docker info -f ok'], 60_000);
    expect(fixed.code, fixed.output).toBe(0);
    expect((await execIn(name, ['test', '-e', LAB_HOST_PATHS.ready])).code).toBe(0);
  });

  it("network's bridge has IPv6 switched off through a helper container when the runner cannot write the sysctl itself", async () => {
    const bridge = labBridgeName(randomBytes(6).toString('hex'));
    const network = await docker.createNetwork({
      Name: `dnl-${instance}-bridge`, Driver: 'bridge', Internal: true,
      Options: { 'com.docker.network.bridge.name': bridge }, Labels: { [LABELS.instance]: instance },
    });
    try {
      expect(bridgeIpv6Disabled(bridge), 'Docker leaves IPv6 on a new bridge').toBe(false);
      await disableBridgeIpv6(docker, bridge, { image: IMAGES.labHost(SUITE), instance, direct: false });
      expect(bridgeIpv6Disabled(bridge)).toBe(true);
    } finally {
      await network.remove().catch(() => {});
    }
  });
});
