/**
 * The Engine API client, and what the runner learns about the engine it talks to: whether it
 * answers, and which privileges a lab host can be given there. It does not create labs.
 */
import Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { LABELS } from './names.ts';
import { remapsUsers } from './userns.ts';

export function createDockerClient(): Docker {
  // docker-modem reads DOCKER_HOST / DOCKER_CERT_PATH itself; the default is the local socket.
  return new Docker();
}

/** Where the engine is expected, in words a person can act on. */
export function engineAddress(docker: Docker): string {
  const modem = docker.modem as { socketPath?: string | (() => unknown); socketPathCache?: string; host?: string; port?: number };
  // docker-modem 5 leaves socketPath a function when DOCKER_HOST is unset (it looks for a
  // rootless socket first); the path it found is cached once it has connected.
  if (typeof modem.socketPath === 'function') return modem.socketPathCache ?? '/var/run/docker.sock';
  if (modem.socketPath) return modem.socketPath;
  return `${modem.host ?? 'localhost'}:${modem.port ?? ''}`;
}

/** Turn an Engine API or connection error into a sentence for the lab panel. */
export function describeDockerError(err: unknown, docker: Docker): string {
  const e = err as { code?: string; statusCode?: number; json?: { message?: string }; message?: string };
  // The engine runs, but the socket's mode (root:docker 660) keeps this user out.
  if (e?.code === 'EACCES') return `Docker Engine is not reachable: permission denied on ${engineAddress(docker)}: add your user to the docker group or run as root (a new group counts from your next login).`;
  if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED' || e?.code === 'ETIMEDOUT') {
    return `Docker Engine is not reachable at ${engineAddress(docker)} (nothing is listening there). Start Docker (dockerd) on this machine, then start the lab again.`;
  }
  const detail = e?.json?.message ?? e?.message ?? String(err);
  return `Docker Engine refused the request: ${detail.trim()}`;
}

export interface EngineStatus {
  available: boolean;
  version?: string;
  cgroupVersion?: string;
  message?: string;
  /** Whether it remaps user namespaces (userns.ts): labs then run as an unprivileged user. */
  remapsUsers?: boolean;
}

export async function engineStatus(docker: Docker): Promise<EngineStatus> {
  try {
    const v = await docker.version();
    const info = (await docker.info()) as { CgroupVersion?: string; SecurityOptions?: string[] };
    return { available: true, version: v.Version, cgroupVersion: info.CgroupVersion, remapsUsers: remapsUsers(info) };
  } catch (err) {
    return { available: false, message: describeDockerError(err, docker) };
  }
}

export type PrivilegeMode = 'privileged' | 'capabilities';

/**
 * Capabilities a lab host gets on top of Docker's default set (CHOWN, DAC_OVERRIDE, FOWNER,
 * FSETID, KILL, MKNOD, NET_BIND_SERVICE, NET_RAW, SETFCAP, SETGID, SETPCAP, SETUID,
 * SYS_CHROOT, AUDIT_WRITE), and nothing else: what its own dockerd, runc and the lessons need.
 * - SYS_ADMIN: mounts (overlay2, cgroups, /proc of inner containers), namespaces, setns (nsenter).
 * - NET_ADMIN: bridges, veth, macvlan, vxlan, routes, iptables, sysctls of inner networks.
 * - SYS_PTRACE: runc and nsenter reach the namespaces of inner processes that made themselves
 *   non-dumpable (runc init does, against CVE-2019-5736).
 * - NET_RAW is in the default set, named again so an engine that drops it by default still gives it
 *   (ping, tcpdump, and dockerd's own ARP/ICMP handling need it).
 * Everything else is dropped: among others SYS_MODULE (loading kernel modules), SYS_RAWIO (raw
 * I/O ports and /dev/mem), SYS_BOOT, SYS_TIME, SYSLOG, SYS_RESOURCE, SYS_NICE, DAC_READ_SEARCH
 * (open_by_handle_at, the "shocker" escape), LINUX_IMMUTABLE, IPC_LOCK, MAC_ADMIN, BPF, PERFMON.
 * Naming what to add, rather than ALL minus a list, also means no capability the kernel lacks is
 * named: Engine 28 refuses `CapDrop: ["SYS_RESOURCE"]` where that capability is not available.
 */
export const LAB_HOST_CAPABILITIES = ['SYS_ADMIN', 'NET_ADMIN', 'SYS_PTRACE', 'NET_RAW'] as const;

/**
 * Docker's default read-only /proc paths, less /proc/sys: the inner engine writes sysctls of the
 * network namespaces it creates (IP forwarding, disabling IPv6 on an interface), which only
 * work with /proc/sys writable. The default masked paths (/proc/kcore, /proc/keys,
 * /sys/firmware, ...) stay masked: the inner engine works without them.
 */
const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sysrq-trigger'];

/**
 * HostConfig fields that let a lab host run its own dockerd.
 * `capabilities` is the default form (LAB_HOST_PRIVILEGES=auto): the capabilities above, no
 * devices beyond the default ones, seccomp and AppArmor unconfined (runc inside joins a new
 * session keyring and mounts, which Docker's default seccomp profile refuses).
 * `privileged` gives every capability and every device of the machine (its disks too); it is
 * used only when asked for, or where the capabilities form cannot start at all.
 */
export function privilegeHostConfig(mode: PrivilegeMode): ContainerCreateOptions['HostConfig'] {
  if (mode === 'privileged') return { Privileged: true };
  return {
    CapAdd: [...LAB_HOST_CAPABILITIES],
    SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
    ReadonlyPaths: READONLY_PATHS,
  };
}

/** How long the privilege probe container may take before we give up on it. */
const PROBE_TIMEOUT_MS = 20_000;

/**
 * Which form LAB_HOST_PRIVILEGES=auto uses on this engine: the capabilities form whenever a
 * container with it starts, --privileged only where it does not (and the engine allows that).
 * Each probe starts a container that runs `true`. Detect, don't assume: the same code runs on
 * ordinary hosts and on kernels that refuse some capabilities.
 */
export async function detectPrivilegeMode(docker: Docker, image: string, instance: string): Promise<PrivilegeMode> {
  const refusals: string[] = [];
  for (const mode of ['capabilities', 'privileged'] as const) {
    try {
      await probe(docker, image, instance, mode);
      return mode;
    } catch (err) {
      const text = String((err as { json?: { message?: string } })?.json?.message ?? (err as Error)?.message ?? err);
      // Only a refusal of the privileges themselves means "try the other form".
      if (!/caps|capabilit|operation not permitted|privileged|permission denied/i.test(text)) throw err;
      refusals.push(`${mode}: ${text.trim()}`);
    }
  }
  throw new Error(`This engine starts a lab host neither with the capabilities it needs nor --privileged (${refusals.join('; ')}).`);
}

async function probe(docker: Docker, image: string, instance: string, mode: PrivilegeMode): Promise<void> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['/bin/true'],
    Cmd: [],
    Labels: { [LABELS.instance]: instance, [LABELS.role]: 'privilege-probe' },
    NetworkDisabled: true,
    HostConfig: { ...privilegeHostConfig(mode), NetworkMode: 'none' },
  });
  try {
    await withTimeout(container.start(), PROBE_TIMEOUT_MS, 'privilege probe');
    const { StatusCode } = (await withTimeout(container.wait(), PROBE_TIMEOUT_MS, 'privilege probe')) as { StatusCode: number };
    if (StatusCode !== 0) throw new Error(`a ${mode} container exited with ${StatusCode}: operation not permitted`);
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
