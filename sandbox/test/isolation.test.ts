/**
 * What a lab can reach, proved with real listeners. Every probe is first shown to succeed where
 * it should (the positive control: from inside lab B, or from the machine itself), then the very
 * same command is shown to fail from lab A's host and from a container inside it:
 * - lab B's listener, by IP: also with lab B's MAC address pinned as a static neighbour, and with
 *   the default route put back by root (the lab host's `unreachable` routes only make failures
 *   fast; the boundary is the network itself);
 * - lab B over IPv6, which a root learner can switch on: link-local, and addresses the learner
 *   adds in one /64;
 * - containers on lab B's inner IPv6 networks (`docker network create --ipv6` with a unique local
 *   subnet, gateway modes without NAT66), by their own addresses, with the route and neighbour
 *   lab B's own hosts use;
 * - the runner, listening on every address of the machine here (the worst case), which the
 *   machine reaches: not on any of the machine's addresses, nor on the lab's gateway address;
 * - the machine's Docker socket, and any address beyond the machine.
 * IPv6 toward the machine: the runner switches IPv6 off on each lab bridge (bridges.ts), which
 * is shown against the same probe with IPv6 switched back on.
 *
 * Network rule: no packet is ever addressed beyond the machine. "Beyond" is tested with route
 * lookups (`ip route get`), which send nothing. IPv6 probes toward the machine use link-local
 * addresses only, whose replies cannot leave the lab's bridge.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabCreated } from '../../contract/api.ts';
import { bridgeIpv6Disabled } from '../src/bridges.ts';
import { labHostContainerName } from '../src/names.ts';
import { api, createLab, docker, execIn, openAll, startRunner, type RunningRunner, type TerminalClient, LESSONS, labFixtures } from './harness.ts';

/** Lab B's listener: busybox httpd in a container on B's host2, published on that host's port. */
const LISTENER_PORT = 8080;
/** Lab B's IPv6 listener: OpenBSD nc on B's host2 itself, on every address (::). */
const V6_PORT = 8086;
/** Addresses in one unique local /64 (RFC 4193) that the learner adds to three hosts. */
const ULA = { b1: 'fd42:1ab::1', b2: 'fd42:1ab::2', a1: 'fd42:1ab::3' };
/**
 * Unique local /64s of the inner `--ipv6` networks in lab B's host2, lab B's host1 and lab A's host1,
 * and the address of lab B's inner IPv6 listener (RFC 4193; other /64s than ULA's).
 */
const INNER_V6 = { b2: 'fd42:b2::/64', b1: 'fd42:b1::/64', a1: 'fd42:a1::/64', listener: 'fd42:b2::80' };
/** How long one probe may wait for a connection (s): curl's, busybox wget's and nc's limit. */
const PROBE_LIMIT_S = 5;
/** What "fails fast" means here: no waiting for a TCP or ARP timeout. */
const FAST_MS = 1500;
/** `docker run` of a busybox container in a lab host: ~0.5 s idle, more on a loaded machine. */
const DOCKER_RUN_MS = 1500;
/** Between attempts from inside a lab host: lets the kernel's ICMP error budget refill. */
const ICMP_PAUSE_MS = 2500;
/** A documentation address (TEST-NET-2): only ever used in route lookups, never sent to. */
const OUTSIDE = '198.51.100.7';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type IpAddr = Array<{ addr_info: Array<{ local: string; scope: string }> }>;
/** The IPv4 addresses in `ip -j -4 addr show` output, loopback left out. */
const ipv4Addresses = (json: string) =>
  (JSON.parse(json) as IpAddr).flatMap((l) => l.addr_info).filter((a) => a.scope !== 'host').map((a) => a.local);

/**
 * The machine's own IPv4 addresses (not loopback), from `ip`: where a lab host would find the
 * runner. (Node's list leaves out interfaces that are down, such as an idle docker0.)
 */
const machineAddresses = () => ipv4Addresses(execFileSync('ip', ['-j', '-4', 'addr', 'show'], { encoding: 'utf8' }));

/** The IPv4 addresses a lab host has itself: its eth0, and its own docker0 (172.17.0.1, like the machine's). */
async function ownAddresses(container: string): Promise<string[]> {
  const { output } = await execIn(container, ['ip', '-color=never', '-j', '-4', 'addr', 'show']);
  return ipv4Addresses(output.slice(output.indexOf('[')));
}

async function labNetwork(labId: string) {
  return docker.getNetwork(`dnl-${labId}`).inspect();
}

/** A lab host's address and MAC address on its lab network. */
async function endpointOf(labId: string, host: string): Promise<{ ip: string; mac: string }> {
  const info = await docker.getContainer(labHostContainerName(labId, host)).inspect();
  const endpoint = Object.values(info.NetworkSettings.Networks)[0]!;
  return { ip: endpoint.IPAddress, mac: endpoint.MacAddress };
}

/** Run a bash script in a container; throws with its output if it exits non-zero. */
async function sh(container: string, script: string, timeoutMs = 20_000): Promise<string> {
  const { code, output } = await execIn(container, ['bash', '-c', script], timeoutMs);
  if (code !== 0) throw new Error(`${container}: \`${script}\` exited with ${code}: ${output}`);
  return output;
}

/** Start a long-running command in a container, detached from this test. */
async function startDetached(container: string, cmd: string[]): Promise<void> {
  const exec = await docker.getContainer(container).exec({ Cmd: cmd });
  await exec.start({ Detach: true });
}

/**
 * Run busybox httpd in a container on a lab host, published on the host's `port`, serving `banner`
 * at /; resolves once the host itself gets the banner.
 */
async function startHttpd(host: string, name: string, port: number, banner: string): Promise<void> {
  await sh(host, `docker run -d --name ${name} -p ${port}:${port} busybox sh -c 'mkdir -p /www && echo ${banner} > /www/index.html && exec httpd -f -p ${port} -h /www'`, 30_000);
  for (let i = 0; !(await execIn(host, ['curl', '-s', '--max-time', '2', `http://127.0.0.1:${port}/`])).output.includes(banner); i++) {
    if (i > 50) throw new Error(`${host}: httpd ${name} did not answer on port ${port}`);
    await sleep(200);
  }
}

interface Attempt {
  connected: boolean;
  ms: number;
  output: string;
}

/**
 * Fetch `url` from a lab host with curl, or from a busybox container inside it with wget (on the
 * inner `network`, the default bridge otherwise), with PROBE_LIMIT_S; connected means an HTTP
 * response came back (any status). The time is taken in the lab host; for a container it
 * includes `docker run`.
 */
async function fetchFrom(container: string, inner: boolean, url: string, label: string, network = 'bridge'): Promise<Attempt> {
  const attempt = inner
    ? `docker run --rm --network ${network} busybox wget -S -O - -T ${PROBE_LIMIT_S} ${url} 2>&1`
    : `curl -sS -i --max-time ${PROBE_LIMIT_S} ${url} 2>&1`;
  const script = `start=$EPOCHREALTIME; ${attempt}; end=$EPOCHREALTIME; echo; echo "ms=$(( (\${end/./} - \${start/./}) / 1000 ))"`;
  const { output } = await execIn(container, ['bash', '-c', script], 30_000);
  const result = { connected: /HTTP\/1\.[01] \d{3}/.test(output), output, ms: Number(/ms=(\d+)/.exec(output)?.[1] ?? NaN) };
  console.log(`${label} -> ${url}: ${result.connected ? 'CONNECTED' : 'no connection'} in ${result.ms} ms`);
  return result;
}

/** Ping an IPv6 address once (2 s limit) and connect to V6_PORT there with nc (3 s limit), from a lab host. */
async function v6From(container: string, address: string, label: string): Promise<{ pinged: boolean; connected: boolean; ms: number; output: string }> {
  const script =
    `ping -6 -c1 -W2 ${address} >/dev/null 2>&1 && echo PINGED; ` +
    `start=$EPOCHREALTIME; nc -6 -z -w 3 ${address} ${V6_PORT} && echo CONNECTED; end=$EPOCHREALTIME; ` +
    `echo "ms=$(( (\${end/./} - \${start/./}) / 1000 ))"`;
  const { output } = await execIn(container, ['bash', '-c', script], 30_000);
  const result = { pinged: output.includes('PINGED'), connected: output.includes('CONNECTED'), ms: Number(/ms=(\d+)/.exec(output)?.[1] ?? NaN), output };
  console.log(`${label} -> ${address}: ping ${result.pinged ? 'answered' : 'no answer'}, tcp/${V6_PORT} ${result.connected ? 'CONNECTED' : 'no connection'} in ${result.ms} ms`);
  return result;
}

/**
 * Switch IPv6 on for a lab host's eth0 as its root learner can, and wait for its link-local
 * address to pass duplicate address detection; returns that address and whether IPv6 was off.
 */
async function enableIpv6(container: string): Promise<{ linkLocal: string; wasDisabled: boolean }> {
  const out = await sh(
    container,
    'before=$(sysctl -n net.ipv6.conf.eth0.disable_ipv6) && sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0 || exit 1; ' +
      'for i in $(seq 100); do ll=$(ip -color=never -6 -o addr show dev eth0 scope link -tentative); [ -n "$ll" ] && break; sleep 0.1; done; ' +
      'echo "before=$before"; echo "ll=$ll"',
  );
  const linkLocal = /inet6 (fe80::[0-9a-f:]+)\//.exec(out)?.[1];
  if (!linkLocal) throw new Error(`${container}: no link-local IPv6 address after enabling IPv6: ${out}`);
  return { linkLocal, wasDisabled: /before=1/.test(out) };
}

describe('isolation of a lab', () => {
  let runner: RunningRunner;
  let a: LabCreated;
  let b: LabCreated;
  let terminals: TerminalClient[] = [];
  /** Container names: lab A's two hosts and lab B's two hosts. */
  let A1: string;
  let A2: string;
  let B1: string;
  let B2: string;
  /** Lab B's host2, where its listeners run. */
  let target: { ip: string; mac: string };
  let banner: string;
  let listenerUrl: string;

  beforeAll(async () => {
    runner = await startRunner({ ...labFixtures(), HOST: '0.0.0.0' });
    [a, b] = await Promise.all([createLab(runner, LESSONS.twoHosts), createLab(runner, LESSONS.twoHosts)]);
    [A1, A2, B1, B2] = [labHostContainerName(a.id, 'host1'), labHostContainerName(a.id, 'host2'), labHostContainerName(b.id, 'host1'), labHostContainerName(b.id, 'host2')];
    // A prompt on every host means its inner engine is up (lab-shell waits for start-up to end).
    // Terminals are opened as a page on 127.0.0.1 would, an origin the runner accepts.
    const page = { ...runner, url: runner.url.replace('//0.0.0.0:', '//127.0.0.1:') };
    const opened = await Promise.all([openAll(page, a), openAll(page, b)]);
    terminals = opened.flatMap((t) => Object.values(t));
    target = await endpointOf(b.id, 'host2');
    banner = `lab-b-listener-${b.id}`;
    listenerUrl = `http://${target.ip}:${LISTENER_PORT}/`;
    await startHttpd(B2, 'listener', LISTENER_PORT, banner);
    await startDetached(B2, ['nc', '-6', '-lk', String(V6_PORT)]);
  }, 180_000);
  afterAll(async () => {
    for (const t of terminals) t.close();
    // Removed through the API, not left to the runner's shutdown.
    for (const lab of [a, b]) if (lab && runner) await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
    await runner?.stop();
  });

  it("lets lab B's other host and a container in it reach its listener, but neither lab A's host nor a container in it, which fail fast", async () => {
    const ownHost = await fetchFrom(B1, false, listenerUrl, "lab B's host1 (control)");
    expect(ownHost.connected, ownHost.output).toBe(true);
    expect(ownHost.output).toContain(banner);
    const ownInner = await fetchFrom(B1, true, listenerUrl, "a container in lab B's host1 (control)");
    expect(ownInner.connected, ownInner.output).toBe(true);
    expect(ownInner.output).toContain(banner);
    expect((await execIn(B1, ['ping', '-c1', '-W2', target.ip])).code).toBe(0);

    const fromHost = await fetchFrom(A1, false, listenerUrl, "lab A's host1");
    expect(fromHost.connected, fromHost.output).toBe(false);
    expect(fromHost.ms).toBeLessThan(FAST_MS);
    expect((await execIn(A1, ['ping', '-c1', '-W2', target.ip])).code).not.toBe(0);
    // The lab host answers with ICMP errors, which the kernel rate-limits per destination
    // (about one a second, a burst of five): space the attempts as a person would.
    await sleep(ICMP_PAUSE_MS);
    const fromInner = await fetchFrom(A1, true, listenerUrl, "a container in lab A's host1");
    expect(fromInner.connected, fromInner.output).toBe(false);
    // The attempt must not wait for wget's limit.
    expect(fromInner.ms, fromInner.output).toBeLessThan(FAST_MS + DOCKER_RUN_MS);
  });

  it("lets the machine reach the runner on its addresses, but not lab A's host or a container in it, on any of them or the lab's gateway address, and they fail fast", async () => {
    const gateway = (await labNetwork(a.id)).IPAM?.Config?.[0]?.Gateway as string;
    const own = await ownAddresses(A1);
    // An address the lab host has itself (its own docker0 is 172.17.0.1 too) says nothing about the machine.
    const addresses = machineAddresses().filter((ip) => !own.includes(ip));
    console.log(`machine addresses probed: ${addresses.join(', ')}; skipped, the lab host's own: ${machineAddresses().filter((ip) => own.includes(ip)).join(', ') || 'none'}`);
    expect(addresses.length).toBeGreaterThan(0);
    for (const ip of addresses) {
      const res = await fetch(`http://${ip}:${runner.port}/api/health`);
      console.log(`the machine -> http://${ip}:${runner.port}/api/health (control): ${res.status}`);
      expect(res.status).toBe(200);
    }
    for (const ip of [...addresses, gateway]) {
      const attempt = await fetchFrom(A1, false, `http://${ip}:${runner.port}/api/health`, "lab A's host1");
      expect(attempt.connected, attempt.output).toBe(false);
      expect(attempt.ms, attempt.output).toBeLessThan(FAST_MS);
    }
    for (const ip of [...addresses, gateway]) {
      await sleep(ICMP_PAUSE_MS);
      const attempt = await fetchFrom(A1, true, `http://${ip}:${runner.port}/api/health`, "a container in lab A's host1");
      expect(attempt.connected, attempt.output).toBe(false);
      expect(attempt.ms, attempt.output).toBeLessThan(FAST_MS + DOCKER_RUN_MS);
    }
  });

  it('has no route beyond the machine, from the lab host or from a container inside it', async () => {
    const fromHost = await execIn(A1, ['ip', 'route', 'get', OUTSIDE]);
    expect(fromHost.output).toMatch(/unreachable|no route to host/i);
    // A container's packets leave through the lab host: ask the lab host how it would route one
    // arriving from docker0 (sends nothing).
    const fromInner = await execIn(A1, ['sh', '-c', `ip route get ${OUTSIDE} from 172.17.0.2 iif docker0; echo rc=$?`]);
    expect(fromInner.output).toMatch(/unreachable|rc=[12]/i);
  });

  it("sees its own Docker engine through its socket, not the machine's", async () => {
    const outer = await docker.info();
    const info = await execIn(A1, ['curl', '-sS', '--unix-socket', '/var/run/docker.sock', 'http://docker/info']);
    const inner = JSON.parse(info.output.slice(info.output.indexOf('{')));
    expect(inner.Name).toBe('host1');
    expect(inner.ID).not.toBe(outer.ID);
    // The machine's engine runs this lab's hosts; the lab's engine runs none of them.
    expect(inner.Containers).toBeLessThan(outer.Containers);
  });

  it("stays cut off from lab B and the runner when the learner, as root, puts the default route back and pins lab B's MAC address as a neighbour", async () => {
    // The unreachable routes only make failures fast; the boundary is the network itself:
    // internal, with no address of the machine on it. Undo the routes the way a learner could.
    const gateway = (await labNetwork(a.id)).IPAM?.Config?.[0]?.Gateway as string;
    const reroute = await sh(A1, `ip route del unreachable ${gateway}; ip route replace default via ${gateway} dev eth0 && ip -color=never route show default`);
    expect(reroute).toContain(`default via ${gateway}`);

    // Control: were anything on the lab network to own the gateway address, this probe would reach
    // it. Lab A's host2 takes the address for a moment, with a listener on the runner's port.
    await startHttpd(A2, 'gateway-stand-in', runner.port, 'gateway-stand-in');
    await sh(A2, `ip addr add ${gateway}/32 dev eth0`);
    const gatewayUrl = `http://${gateway}:${runner.port}/api/health`;
    const control = await fetchFrom(A1, false, gatewayUrl, "lab A's host1, the gateway address owned by lab A's host2 (control)");
    expect(control.connected, control.output).toBe(true);
    await sh(A2, `ip addr del ${gateway}/32 dev eth0; docker rm -f gateway-stand-in`);
    await sh(A1, `ip neigh del ${gateway} dev eth0 || true`);

    const own = await ownAddresses(A1);
    for (const ip of [...machineAddresses().filter((x) => !own.includes(x)), gateway]) {
      const attempt = await fetchFrom(A1, false, `http://${ip}:${runner.port}/api/health`, "lab A's host1, default route back");
      expect(attempt.connected, `${ip}: ${attempt.output}`).toBe(false);
    }
    const toB = await fetchFrom(A1, false, listenerUrl, "lab A's host1, default route back");
    expect(toB.connected, toB.output).toBe(false);
    const toBInner = await fetchFrom(A1, true, listenerUrl, "a container in lab A's host1, default route back");
    expect(toBInner.connected, toBInner.output).toBe(false);

    // A frame addressed to lab B's MAC address on lab A's link: the same entry makes lab B's
    // own host1 reach the listener (control), and leads nowhere from lab A.
    const pin = `ip route replace ${target.ip}/32 dev eth0 && ip neigh replace ${target.ip} lladdr ${target.mac} dev eth0 nud permanent && ip -color=never neigh show ${target.ip}`;
    expect(await sh(B1, pin)).toContain('PERMANENT');
    const pinnedControl = await fetchFrom(B1, false, listenerUrl, "lab B's host1, B's MAC pinned (control)");
    expect(pinnedControl.connected, pinnedControl.output).toBe(true);
    const pinnedControlInner = await fetchFrom(B1, true, listenerUrl, "a container in lab B's host1, B's MAC pinned (control)");
    expect(pinnedControlInner.connected, pinnedControlInner.output).toBe(true);
    expect(await sh(A1, pin)).toContain('PERMANENT');
    const pinned = await fetchFrom(A1, false, listenerUrl, "lab A's host1, B's MAC pinned");
    expect(pinned.connected, pinned.output).toBe(false);
    const pinnedInner = await fetchFrom(A1, true, listenerUrl, "a container in lab A's host1, B's MAC pinned");
    expect(pinnedInner.connected, pinnedInner.output).toBe(false);
  }, 180_000);

  it("keeps lab B's IPv6 link-local addresses out of lab A's reach, with IPv6 switched on by root as a learner can", async () => {
    const [hostA, host1, host2] = await Promise.all([enableIpv6(A1), enableIpv6(B1), enableIpv6(B2)]);
    console.log(`IPv6 on the lab hosts' eth0 before: ${[hostA, host1, host2].map((h) => (h.wasDisabled ? 'disabled' : 'enabled')).join(', ')}; link-local now: A/host1 ${hostA.linkLocal}, B/host1 ${host1.linkLocal}, B/host2 ${host2.linkLocal}`);
    const address = `${host2.linkLocal}%eth0`;
    const control = await v6From(B1, address, "lab B's host1 (control)");
    expect(control.pinged, control.output).toBe(true);
    expect(control.connected, control.output).toBe(true);
    const attempt = await v6From(A1, address, "lab A's host1");
    expect(attempt.pinged, attempt.output).toBe(false);
    expect(attempt.connected, attempt.output).toBe(false);

    const pin = `ip -6 neigh replace ${host2.linkLocal} lladdr ${target.mac} dev eth0 nud permanent`;
    await sh(B1, pin);
    const pinnedControl = await v6From(B1, address, "lab B's host1, B's MAC pinned (control)");
    expect(pinnedControl.connected, pinnedControl.output).toBe(true);
    await sh(A1, pin);
    const pinned = await v6From(A1, address, "lab A's host1, B's MAC pinned");
    expect(pinned.pinged, pinned.output).toBe(false);
    expect(pinned.connected, pinned.output).toBe(false);
  }, 120_000);

  it('keeps lab B out of reach when the learner gives hosts of both labs IPv6 addresses in one /64', async () => {
    await Promise.all([enableIpv6(A1), enableIpv6(B1), enableIpv6(B2)]);
    // nodad: usable at once, no duplicate address detection wait.
    const add = (ip: string) => `ip -6 addr replace ${ip}/64 dev eth0 nodad`;
    await Promise.all([sh(B1, add(ULA.b1)), sh(B2, add(ULA.b2)), sh(A1, add(ULA.a1))]);
    try {
      const control = await v6From(B1, ULA.b2, "lab B's host1 (control)");
      expect(control.pinged, control.output).toBe(true);
      expect(control.connected, control.output).toBe(true);
      const controlBack = await execIn(B2, ['ping', '-6', '-c1', '-W2', ULA.b1]);
      expect(controlBack.code, controlBack.output).toBe(0);
      for (const ip of [ULA.b2, ULA.b1]) {
        const attempt = await v6From(A1, ip, "lab A's host1");
        expect(attempt.pinged, attempt.output).toBe(false);
        expect(attempt.connected, attempt.output).toBe(false);
      }
      const pin = `ip -6 neigh replace ${ULA.b2} lladdr ${target.mac} dev eth0 nud permanent`;
      await sh(B1, pin);
      const pinnedControl = await v6From(B1, ULA.b2, "lab B's host1, B's MAC pinned (control)");
      expect(pinnedControl.connected, pinnedControl.output).toBe(true);
      await sh(A1, pin);
      const pinned = await v6From(A1, ULA.b2, "lab A's host1, B's MAC pinned");
      expect(pinned.pinged, pinned.output).toBe(false);
      expect(pinned.connected, pinned.output).toBe(false);
    } finally {
      // Lab A's host keeps link-local addresses only: probes toward the machine below must use
      // a source whose replies cannot leave the lab's bridge.
      await sh(A1, `ip -6 addr del ${ULA.a1}/64 dev eth0; ip -6 neigh del ${ULA.b2} dev eth0 || true`);
    }
  }, 120_000);

  it("keeps containers on lab B's inner IPv6 networks out of reach of lab A's host and of containers in it, given the route and neighbour that lab B's own host uses", async () => {
    const [, host1, host2] = await Promise.all([enableIpv6(A1), enableIpv6(B1), enableIpv6(B2)]);
    // Inner networks whose containers are reached by their own addresses, so that nothing but the
    // lab's network stands between the labs. The clients' networks are routed (no NAT66: packets
    // cross with the container's address); the listener's is nat-unprotected, which lets direct
    // routing reach every port (a published port would not do: an engine that published its first
    // port while the lab host had no IPv6 on lo, as lab B's host2 did above, maps ports on IPv4 only).
    // Each side reaches the other's inner network through a route via its lab host's link-local address.
    const network = 'v6lab';
    const create = (subnet: string, mode = 'routed') => `docker network create --ipv6 --subnet ${subnet} -o com.docker.network.bridge.gateway_mode_ipv6=${mode} ${network}`;
    const route = (subnet: string, via: string) => `ip -6 route replace ${subnet} via ${via} dev eth0`;
    const innerBanner = `lab-b-inner-v6-${b.id}`;
    const url = `http://[${INNER_V6.listener}]/`;
    await sh(B2, `${create(INNER_V6.b2, 'nat-unprotected')} && docker run -d --name v6listener --network ${network} --ip6 ${INNER_V6.listener} busybox sh -c 'mkdir -p /www && echo ${innerBanner} > /www/index.html && exec httpd -f -p 80 -h /www'`, 30_000);
    await Promise.all([sh(B1, create(INNER_V6.b1)), sh(A1, create(INNER_V6.a1))]);
    try {
      await Promise.all([sh(B1, route(INNER_V6.b2, host2.linkLocal)), sh(B2, route(INNER_V6.b1, host1.linkLocal))]);
      // Lab A's host knows all that lab B's host1 knows: the route, and lab B's host2's MAC address.
      await sh(A1, `${route(INNER_V6.b2, host2.linkLocal)} && ip -6 neigh replace ${host2.linkLocal} lladdr ${target.mac} dev eth0 nud permanent`);

      // The listener needs a moment to start; the control waits for it.
      await expect.poll(async () => (await fetchFrom(B1, false, url, "lab B's host1 (control)")).output, { timeout: 15_000, interval: 500 }).toContain(innerBanner);
      const controlInner = await fetchFrom(B1, true, url, `a container on lab B's host1's inner network ${INNER_V6.b1} (control)`, network);
      expect(controlInner.connected, controlInner.output).toBe(true);
      expect(controlInner.output).toContain(innerBanner);
      expect((await execIn(B1, ['ping', '-6', '-c1', '-W2', INNER_V6.listener])).code).toBe(0);

      const fromHost = await fetchFrom(A1, false, url, "lab A's host1, route and neighbour set");
      expect(fromHost.connected, fromHost.output).toBe(false);
      expect((await execIn(A1, ['ping', '-6', '-c1', '-W2', INNER_V6.listener])).code).not.toBe(0);
      const fromInner = await fetchFrom(A1, true, url, `a container on lab A's host1's inner network ${INNER_V6.a1}`, network);
      expect(fromInner.connected, fromInner.output).toBe(false);
    } finally {
      await sh(A1, `ip -6 route del ${INNER_V6.b2}; ip -6 neigh del ${host2.linkLocal} dev eth0; docker network rm ${network}`);
      await sh(B1, `ip -6 route del ${INNER_V6.b2}; docker network rm ${network}`);
      await sh(B2, `ip -6 route del ${INNER_V6.b1}; docker rm -f v6listener && docker network rm ${network}`, 30_000);
    }
  }, 180_000);

  describe("a service of the machine on IPv6, through the lab bridge", () => {
    let server: Server;
    let port: number;
    /** Lab A's bridge on the machine (the runner names it, and switches IPv6 off on it). */
    let bridge: string;
    const machineBanner = `machine-v6-${process.pid}`;
    beforeAll(async () => {
      // A listener on every IPv6 address of the machine, as sshd or a runner with HOST=:: would be.
      server = createServer((socket) => {
        socket.on('error', () => {});
        socket.end(`${machineBanner}\n`);
      });
      await new Promise<void>((resolve) => server.listen(0, '::', resolve));
      port = (server.address() as { port: number }).port;
      const network = await labNetwork(a.id);
      bridge = network.Options?.['com.docker.network.bridge.name'] ?? `br-${network.Id.slice(0, 12)}`;
      await enableIpv6(A1);
    });
    afterAll(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

    /** The bridge's IPv6 link-local address on the machine, if it has one. */
    const bridgeAddress = () => networkInterfaces()[bridge]?.find((x) => x.family === 'IPv6' && x.address.startsWith('fe80:'))?.address;
    const fromLabA = async (address: string) => {
      const { output } = await execIn(A1, ['bash', '-c', `nc -6 -w 3 ${address}%eth0 ${port} </dev/null; echo rc=$?`], 30_000);
      return output.includes(machineBanner);
    };

    it('is out of reach of lab A with IPv6 switched on by root, because the runner switched IPv6 off on the bridge; switched back on by hand, the same probe reaches it', async () => {
      expect(bridgeIpv6Disabled(bridge), `IPv6 on ${bridge}`).toBe(true);
      expect(bridgeAddress(), `${bridge} has an IPv6 address`).toBeUndefined();
      // The control: what a bridge left as Docker makes it looks like. IPv6 on, it gets a
      // link-local address, and lab A's probe reaches the machine's listener through it.
      writeFileSync(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '0');
      let address: string | undefined;
      try {
        await expect.poll(() => (address = bridgeAddress()), { timeout: 10_000 }).toBeDefined();
        // Duplicate address detection holds a new address back for a moment.
        await expect.poll(() => fromLabA(address!), { timeout: 15_000, interval: 500 }).toBe(true);
        console.log(`lab A's host1 -> [${address}%eth0]:${port} with IPv6 on the bridge (control): connected`);
      } finally {
        writeFileSync(`/proc/sys/net/ipv6/conf/${bridge}/disable_ipv6`, '1');
      }
      expect(bridgeAddress()).toBeUndefined();
      const reached = await fromLabA(address!);
      console.log(`lab A's host1 -> [${address}%eth0]:${port} with IPv6 off on the bridge: ${reached ? 'CONNECTED' : 'no connection'}`);
      expect(reached).toBe(false);
      // Nothing on the lab link answers for the machine on IPv6: all-nodes multicast finds only lab A's own host.
      const { output } = await execIn(A1, ['bash', '-c', 'ping -6 -c2 -W1 ff02::1%eth0 | grep -c "bytes from" || true']);
      expect(Number(output.trim().split(/\s+/).pop())).toBeLessThanOrEqual(2);
    }, 60_000);
  });
});
