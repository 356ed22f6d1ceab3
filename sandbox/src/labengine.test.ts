import { describe, expect, it } from 'vitest';
import type { ContainerInspectInfo } from 'dockerode';
import { backingOf, daemonConfig, labEngineName, labEngineSpec, labEngineVolume, ownContainerId } from './labengine.ts';
import { LAB_HOST_ENV, LABELS } from './names.ts';

const ID = '20c365b9eb4f45e130165bfa0c9b0e70942b3f10842b68200331fae391ee9120';

describe('ownContainerId', () => {
  it("reads the container's id from the engine's bind mounts of /etc/hostname and friends (as a host-network container shows them)", () => {
    const mountinfo = [
      '1619 1618 0:52 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X',
      `1636 1619 254:0 /var/lib/docker/containers/${ID}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/vda rw`,
      `1637 1619 254:0 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda rw`,
    ].join('\n');
    expect(ownContainerId(mountinfo)).toBe(ID);
  });

  it('finds none on the machine itself', () => {
    expect(ownContainerId('22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw\n25 22 0:5 / /dev rw - devtmpfs udev rw')).toBeUndefined();
  });
});

const mount = (m: Partial<ContainerInspectInfo['Mounts'][number]>) => ({ Source: '', Mode: '', RW: true, Propagation: '', ...m }) as ContainerInspectInfo['Mounts'][number];

describe('backingOf', () => {
  const mounts = [
    mount({ Type: 'bind', Source: '/var/run/docker.sock', Destination: '/var/run/docker.sock' }),
    mount({ Type: 'bind', Source: '/run/dnl-lab-engine', Destination: '/run/dnl-lab-engine' }),
    mount({ Type: 'volume', Name: 'proj_state', Source: '/var/lib/docker/volumes/proj_state/_data', Destination: '/var/lib/dnl' }),
  ];

  it("names a bind mount's folder on the machine, below the mount point as well", () => {
    expect(backingOf('/run/dnl-lab-engine/ws', mounts)).toEqual({ type: 'bind', source: '/run/dnl-lab-engine/ws', subpath: '' });
    expect(backingOf('/run/dnl-lab-engine', mounts)).toEqual({ type: 'bind', source: '/run/dnl-lab-engine', subpath: '' });
  });

  it('names a volume by name, with the path below its mount point', () => {
    expect(backingOf('/var/lib/dnl/engine/ws', mounts)).toEqual({ type: 'volume', source: 'proj_state', subpath: 'engine/ws' });
  });

  it('finds nothing for a folder on no mount, or one whose name only starts like a mount point', () => {
    expect(backingOf('/tmp/engine', mounts)).toBeUndefined();
    expect(backingOf('/run/dnl-lab-engine-other', mounts)).toBeUndefined();
  });

  it('takes the deepest mount holding the folder', () => {
    const nested = [...mounts, mount({ Type: 'volume', Name: 'inner', Destination: '/run/dnl-lab-engine/ws' })];
    expect(backingOf('/run/dnl-lab-engine/ws/x', nested)).toEqual({ type: 'volume', source: 'inner', subpath: 'x' });
  });
});

describe('the lab engine container', () => {
  const backing = { type: 'volume', source: 'sock', subpath: 'a/b' } as const;
  const spec = labEngineSpec('ws', 'dnl/labhost:forky', backing, 240);

  it('remaps users, has no default bridge and makes its socket in the shared folder', () => {
    expect(daemonConfig(backing)).toMatchObject({
      'userns-remap': 'default',
      bridge: 'none',
      hosts: ['unix:///var/run/docker.sock', 'unix:///run/dnl-lab-engine/a/b/docker.sock'],
    });
    const env = spec.Env!.find((e) => e.startsWith('LAB_ENGINE_DAEMON_JSON='))!;
    expect(JSON.parse(env.slice(env.indexOf('=') + 1))).toEqual(daemonConfig(backing));
  });

  it('waits for its dockerd as long as LAB_ENGINE_START_TIMEOUT says, as a lab host does', () => {
    expect(spec.Env).toContain(`${LAB_HOST_ENV.engineStartTimeout}=240`);
  });

  it("is the instance's, in a network namespace of its own, with the lab host capabilities form and no --privileged", () => {
    expect(spec.name).toBe(labEngineName('ws'));
    expect(spec.Labels).toEqual({ [LABELS.instance]: 'ws', [LABELS.role]: 'lab-engine' });
    expect(spec.HostConfig).toMatchObject({
      NetworkMode: 'none',
      CapAdd: ['SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'NET_RAW'],
      SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
      MaskedPaths: [],
      ReadonlyPaths: [],
      RestartPolicy: { Name: 'unless-stopped' },
      Mounts: [
        { Type: 'volume', Source: labEngineVolume('ws'), Target: '/var/lib/docker' },
        { Type: 'volume', Source: 'sock', Target: '/run/dnl-lab-engine' },
      ],
    });
    expect(spec.HostConfig!.Privileged).toBeUndefined();
  });
});
