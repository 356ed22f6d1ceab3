/**
 * The one thing the runner changes on the machine's own network for a lab: it switches IPv6
 * off on the lab network's bridge. The bridge is the machine's interface on the lab network.
 * `inhibit_ipv4` leaves it without an IPv4 address, but the kernel still gives it an IPv6
 * link-local one, so a learner who, as root, switches IPv6 on in a lab host reaches every
 * service the machine offers on IPv6 (sshd, a runner started with HOST=::) through it. With
 * IPv6 off on the bridge the machine has no address at all on the lab network; the lab hosts
 * still talk to each other over IPv6 (the bridge forwards frames whatever its own addresses).
 *
 * The runner writes the sysctl itself when it runs on the machine as root; otherwise (in a
 * container, or as a user in the docker group) a short-lived helper container on the machine's
 * network does it. It does not create or remove bridges.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { privilegeHostConfig, withTimeout } from './docker.ts';
import { LABELS } from './names.ts';

/** Longest a lab bridge's name may be: Linux interface names are at most 15 characters. */
const IFNAMSIZ = 15;
/** How long the helper container may take (it starts, writes one file, exits). */
const HELPER_TIMEOUT_MS = 20_000;

/**
 * The bridge name the runner gives a lab's network (Docker's own `br-<id>` can't be known before):
 * the id's random 12 hex characters only, since a cell's name in front would pass IFNAMSIZ, and
 * a bridge is only ever its own machine's (where the random part alone tells labs apart).
 */
export function labBridgeName(labId: string): string {
  const name = `dnl${labId.slice(-12)}`;
  if (name.length > IFNAMSIZ) throw new Error(`bridge name ${name} is longer than ${IFNAMSIZ} characters`);
  return name;
}

const sysctlFile = (bridge: string) => `/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`;

/** Whether `bridge` has IPv6 switched off, as the runner's network namespace sees it; undefined if it cannot see it. */
export function bridgeIpv6Disabled(bridge: string): boolean | undefined {
  try {
    return readFileSync(sysctlFile(bridge), 'utf8').trim() === '1';
  } catch {
    return undefined;
  }
}

/**
 * Switch IPv6 off on `bridge`. Directly when this process can (it shares the machine's network
 * namespace and may write sysctls), through a helper container started from `image` otherwise
 * (`direct: false` forces that path). Throws with a sentence when neither works.
 */
export async function disableBridgeIpv6(docker: Docker, bridge: string, opts: { image: string; instance: string; direct?: boolean }): Promise<void> {
  if (opts.direct !== false) {
    try {
      writeFileSync(sysctlFile(bridge), '1');
      return;
    } catch {
      // Not the machine's namespace (ENOENT), or not allowed (EACCES, EROFS): ask the engine.
    }
  }
  const container = await docker.createContainer({
    Image: opts.image,
    // No such file: the machine has no IPv6 at all, and there is nothing to switch off.
    Entrypoint: ['sh', '-c', 'f="$1"; [ ! -e "$f" ] || echo 1 > "$f"', 'disable-bridge-ipv6', sysctlFile(bridge)],
    Cmd: [],
    Labels: { [LABELS.instance]: opts.instance, [LABELS.role]: 'bridge-setup' },
    // The machine's network namespace, with /proc/sys writable (the capabilities form's paths).
    // Outside any user-namespace remapping (a no-op on an engine without it): a remapping engine
    // refuses the machine's network namespace to a remapped container, and only the machine's
    // root may write its sysctls.
    HostConfig: { ...privilegeHostConfig('capabilities'), NetworkMode: 'host', UsernsMode: 'host' },
  });
  try {
    await withTimeout(container.start(), HELPER_TIMEOUT_MS, 'switching off IPv6 on a lab bridge');
    const { StatusCode } = (await withTimeout(container.wait(), HELPER_TIMEOUT_MS, 'switching off IPv6 on a lab bridge')) as { StatusCode: number };
    if (StatusCode !== 0) throw new Error(`the helper container exited with ${StatusCode}`);
  } catch (err) {
    throw new Error(`Could not switch off IPv6 on the lab bridge ${bridge} (${(err as Error).message}); without that, a lab could reach the machine over IPv6, so the lab was not started.`);
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}
