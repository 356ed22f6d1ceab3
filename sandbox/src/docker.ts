/**
 * The Engine API client, and what the runner learns about the engine it talks to: whether it
 * answers, and which privileges a lab host can be given there. It does not create labs.
 */
import Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { LABELS } from './names.ts';

export function createDockerClient(): Docker {
  // docker-modem reads DOCKER_HOST / DOCKER_CERT_PATH itself; the default is the local socket.
  return new Docker();
}

/** Where the engine is expected, in words a person can act on. */
export function engineAddress(docker: Docker): string {
  const modem = docker.modem as { socketPath?: string; host?: string; port?: number };
  if (modem.socketPath) return String(modem.socketPath);
  return `${modem.host ?? 'localhost'}:${modem.port ?? ''}`;
}

/** Turn an Engine API or connection error into a sentence for the lab panel. */
export function describeDockerError(err: unknown, docker: Docker): string {
  const e = err as { code?: string; statusCode?: number; json?: { message?: string }; message?: string };
  if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED' || e?.code === 'EACCES' || e?.code === 'ETIMEDOUT') {
    const why = e.code === 'EACCES' ? 'permission denied' : 'nothing is listening there';
    return `Docker Engine is not reachable at ${engineAddress(docker)} (${why}). Start Docker (dockerd) on this machine, then start the lab again.`;
  }
  const detail = e?.json?.message ?? e?.message ?? String(err);
  return `Docker Engine refused the request: ${detail.trim()}`;
}

export interface EngineStatus {
  available: boolean;
  version?: string;
  cgroupVersion?: string;
  message?: string;
}

export async function engineStatus(docker: Docker): Promise<EngineStatus> {
  try {
    const v = await docker.version();
    const info = (await docker.info()) as { CgroupVersion?: string };
    return { available: true, version: v.Version, cgroupVersion: info.CgroupVersion };
  } catch (err) {
    return { available: false, message: describeDockerError(err, docker) };
  }
}

export type PrivilegeMode = 'privileged' | 'capabilities';

/**
 * HostConfig fields that let a lab host run its own dockerd.
 * `privileged` is the usual form. Some kernels (e.g. a VM whose bounding set lacks
 * CAP_SYS_RESOURCE) refuse it with "unable to apply caps"; there, every capability but
 * that one plus unconfined seccomp/AppArmor/system paths gives dockerd what it needs.
 */
export function privilegeHostConfig(mode: PrivilegeMode): ContainerCreateOptions['HostConfig'] {
  if (mode === 'privileged') return { Privileged: true };
  return {
    CapAdd: ['ALL'],
    CapDrop: ['SYS_RESOURCE'],
    SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
    // What the CLI's `--security-opt systempaths=unconfined` sends: nothing masked or read-only
    // under /proc and /sys (the API itself rejects that option).
    MaskedPaths: [],
    ReadonlyPaths: [],
  };
}

/** How long the privilege probe container may take before we give up on it. */
const PROBE_TIMEOUT_MS = 20_000;

/**
 * Find out whether this engine can start a --privileged container, by starting one that runs
 * `true`. Detect, don't assume: the same code runs on ordinary hosts and on this kernel.
 */
export async function detectPrivilegeMode(docker: Docker, image: string, instance: string): Promise<PrivilegeMode> {
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ['/bin/true'],
    Cmd: [],
    Labels: { [LABELS.instance]: instance, [LABELS.role]: 'privilege-probe' },
    NetworkDisabled: true,
    HostConfig: { Privileged: true, NetworkMode: 'none' },
  });
  try {
    await withTimeout(container.start(), PROBE_TIMEOUT_MS, 'privilege probe');
    await withTimeout(container.wait(), PROBE_TIMEOUT_MS, 'privilege probe');
    return 'privileged';
  } catch (err) {
    const text = String((err as { json?: { message?: string } })?.json?.message ?? (err as Error)?.message ?? err);
    if (/caps|operation not permitted|privileged/i.test(text)) return 'capabilities';
    throw err;
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
