/**
 * The lab host image's entrypoint where it must refuse rather than improvise: when its cgroup
 * hierarchies cannot be made writable in place, it does not mount them fresh (that shows the
 * machine's root cgroup, and inner containers would escape the lab host's limits): it says why
 * in /run/lab/failed and never starts its engine. And the capabilities form the runner uses
 * carries exactly the capabilities docker.ts names.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { bridgeIpv6Disabled, disableBridgeIpv6, labBridgeName } from '../src/bridges.ts';
import { LAB_HOST_CAPABILITIES, privilegeHostConfig } from '../src/docker.ts';
import { loadConfig } from '../src/config.ts';
import { IMAGES, LABELS, LAB_HOST_PATHS, dockerDataTmpfs } from '../src/names.ts';
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

/** The suite under test: LAB_SUITE=trixie runs these against Engine 26.1.5's lab host. */
const SUITE = loadConfig().LAB_SUITE;

describe('a lab host', () => {
  const instance = uniqueInstance('labhost');
  afterEach(async () => {
    await removeInstance(instance);
  });

  async function start(hostConfig: object): Promise<string> {
    const name = `dnl-${instance}-${Math.random().toString(36).slice(2, 8)}`;
    const container = await docker.createContainer({
      name,
      Image: IMAGES.labHost(SUITE),
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
