/**
 * What a lab can reach: from lab A's host, and from a container inside it, nothing of lab B, the
 * runner (listening on every address of the machine here, the worst case), the machine's Docker
 * socket, or any address beyond the machine; and every such attempt fails fast.
 *
 * Network rule: no packet is ever addressed beyond the machine. "Beyond" is tested with route
 * lookups (`ip route get`), which send nothing.
 */
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabCreated } from '../src/protocol.ts';
import { labHostContainerName } from '../src/names.ts';
import { createLab, docker, execIn, startRunner, type RunningRunner } from './harness.ts';

const BRIDGE_LESSON = '05-user-defined-bridges';
/** What "fails fast" means here: no waiting for a TCP or ARP timeout. */
const FAST_MS = 1500;
/** Between attempts from inside a lab host: lets the kernel's ICMP error budget refill. */
const ICMP_PAUSE_MS = 2500;
/** A documentation address (TEST-NET-2): only ever used in route lookups, never sent to. */
const OUTSIDE = '198.51.100.7';

/** The machine's own IPv4 addresses (not loopback): where a lab host would find the runner. */
const machineAddresses = () =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);

async function gatewayOf(labId: string): Promise<string> {
  const network = await docker.getNetwork(`dnl-${labId}`).inspect();
  return network.IPAM?.Config?.[0]?.Gateway as string;
}

async function ipOf(labId: string, host: string): Promise<string> {
  const info = await docker.getContainer(labHostContainerName(labId, host)).inspect();
  return Object.values(info.NetworkSettings.Networks)[0]!.IPAddress;
}

describe('isolation of a lab', () => {
  let runner: RunningRunner;
  let a: LabCreated;
  let b: LabCreated;
  let hostA: string;
  beforeAll(async () => {
    runner = await startRunner({ HOST: '0.0.0.0' });
    [a, b] = await Promise.all([createLab(runner, BRIDGE_LESSON), createLab(runner, BRIDGE_LESSON)]);
    hostA = labHostContainerName(a.id, 'host1');
    // The inner engine must be up to run a container inside the lab host.
    for (let i = 0; (await execIn(hostA, ['test', '-e', '/run/lab/ready'])).code !== 0; i++) {
      if (i > 300) throw new Error('the lab host did not become ready in 30 s');
      await new Promise((r) => setTimeout(r, 100));
    }
  });
  afterAll(async () => {
    await runner?.stop();
  });

  /**
   * Try a TCP connection from the lab host (or from a busybox container inside it) with a 5 s
   * limit; returns whether it connected and how long the attempt itself took, timed in the lab
   * host (for a container that includes `docker run`, about half a second).
   */
  async function tryConnect(ip: string, port: number, fromInner: boolean) {
    const attempt = fromInner
      ? `docker run --rm busybox nc -w 5 ${ip} ${port} </dev/null && echo CONNECTED`
      : `nc -z -w 5 ${ip} ${port} && echo CONNECTED`;
    const script = `start=$EPOCHREALTIME; ${attempt}; end=$EPOCHREALTIME; echo "ms=$(( (\${end/./} - \${start/./}) / 1000 ))"`;
    const { output } = await execIn(hostA, ['bash', '-c', script], 30_000);
    const result = { connected: output.includes('CONNECTED'), output, ms: Number(/ms=(\d+)/.exec(output)?.[1] ?? NaN) };
    console.log(`from ${fromInner ? 'a container in lab A' : "lab A's host"} to ${ip}:${port}: ${result.connected ? 'CONNECTED' : 'refused'} in ${result.ms} ms`);
    return result;
  }

  it('reaches its own lab host but nothing of another lab, quickly refused', async () => {
    const bHost = await ipOf(b.id, 'host1');
    const ping = await execIn(hostA, ['ping', '-c1', '-W1', bHost]);
    expect(ping.code).not.toBe(0);
    const tcp = await tryConnect(bHost, 22, false);
    expect(tcp.connected).toBe(false);
    expect(tcp.ms).toBeLessThan(FAST_MS);
  });

  it("cannot reach the runner on any of the machine's addresses or the lab's gateway address, and fails fast", async () => {
    const gateway = await gatewayOf(a.id);
    for (const ip of [...machineAddresses(), gateway]) {
      const attempt = await tryConnect(ip, runner.port, false);
      expect(attempt.connected, `${ip}:${runner.port} ${attempt.output}`).toBe(false);
      expect(attempt.ms, `${ip}: ${attempt.output}`).toBeLessThan(FAST_MS);
    }
  });

  it('has no route beyond the machine, from the lab host or from a container inside it', async () => {
    const fromHost = await execIn(hostA, ['ip', 'route', 'get', OUTSIDE]);
    expect(fromHost.output).toMatch(/unreachable|no route to host/i);
    // A container's packets leave through the lab host: ask the lab host how it would route one
    // arriving from docker0 (sends nothing).
    const fromInner = await execIn(hostA, ['sh', '-c', `ip route get ${OUTSIDE} from 172.17.0.2 iif docker0; echo rc=$?`]);
    expect(fromInner.output).toMatch(/unreachable|rc=[12]/i);
  });

  it('from a container inside the lab host, the runner and lab B are unreachable too', async () => {
    for (const ip of [...machineAddresses(), await ipOf(b.id, 'host1')]) {
      // The lab host answers with ICMP errors, which the kernel rate-limits per destination
      // (about one a second, a burst of five): space the attempts as a person would.
      await new Promise((r) => setTimeout(r, ICMP_PAUSE_MS));
      const attempt = await tryConnect(ip, runner.port, true);
      expect(attempt.connected, `${ip}: ${attempt.output}`).toBe(false);
      // docker run itself takes ~0.5 s; the attempt must not wait for nc's 5 s limit.
      expect(attempt.ms, `${ip}: ${attempt.output}`).toBeLessThan(FAST_MS + 1500);
    }
  });

  it("sees its own Docker engine through its socket, not the machine's", async () => {
    const info = await execIn(hostA, ['curl', '-sS', '--unix-socket', '/var/run/docker.sock', 'http://docker/info']);
    expect(JSON.parse(info.output.slice(info.output.indexOf('{'))).Name).toBe('host1');
  });

  it('stays cut off when the learner, as root, puts the default route back', async () => {
    // The routes above only make failures fast; the boundary is the network itself: internal,
    // and with no address of the machine on it. Undo the routes the way a learner could.
    const gateway = await gatewayOf(a.id);
    const reroute = await execIn(hostA, ['sh', '-c', `ip route del unreachable ${gateway}; ip route replace default via ${gateway} dev eth0 && ip -color=never route show default`]);
    expect(reroute.output).toContain(`default via ${gateway}`);
    for (const ip of [...machineAddresses(), gateway]) {
      const attempt = await tryConnect(ip, runner.port, false);
      expect(attempt.connected, `${ip}:${runner.port} ${attempt.output}`).toBe(false);
    }
  });
});
