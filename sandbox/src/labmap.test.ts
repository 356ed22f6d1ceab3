import { describe, expect, it } from 'vitest';
import { LAB_MAP_VERSION } from '../../contract/protocol.ts';
import { assembleMap, emptyHostState, parseHost, type HostState } from './labmap.ts';

const section = (name: string, body: unknown) => `\n@@dnl-map ${name}\n${typeof body === 'string' ? body : JSON.stringify(body)}`;

/** `ip -j -d -batch` of `addr` and `route`: a JSON line each. */
const namespace = (addr: unknown, routes: unknown) => `${typeof addr === 'string' ? addr : JSON.stringify(addr)}\n${JSON.stringify(routes)}`;

const veth = (ifindex: number, ifname: string, link_index: number, extra: object = {}) => ({
  ifindex, ifname, link_index, link_netnsid: 0, flags: ['UP'], mtu: 1500, link_type: 'ether', address: `02:00:00:00:00:${String(ifindex).padStart(2, '0')}`, linkinfo: { info_kind: 'veth' }, addr_info: [], ...extra,
});

const ROOT = [
  { ifindex: 1, ifname: 'lo', flags: ['UP'], mtu: 65536, link_type: 'loopback', address: '00:00:00:00:00:00', addr_info: [{ local: '127.0.0.1', prefixlen: 8 }] },
  { ifindex: 2, ifname: 'eth0', flags: ['UP'], mtu: 1500, link_type: 'ether', address: '02:42:0a:00:00:02', addr_info: [{ local: '10.0.0.2', prefixlen: 26 }] },
  { ifindex: 3, ifname: 'br-aaaaaaaaaaaa', flags: ['UP'], mtu: 1500, link_type: 'ether', address: '02:00:00:00:00:03', linkinfo: { info_kind: 'bridge' }, addr_info: [{ local: '172.18.0.1', prefixlen: 16 }] },
  veth(5, 'vethc1', 2, { master: 'br-aaaaaaaaaaaa' }),
  veth(6, 'veth0', 2),
];

const NETWORKS = [
  { Name: 'app', Id: 'aaaaaaaaaaaa1111', Scope: 'local', Driver: 'bridge', Internal: false, IPAM: { Config: [{ Subnet: '172.18.0.0/16', Gateway: '172.18.0.1' }] }, Options: {} },
  { Name: 'ov', Id: 'bbbb', Scope: 'swarm', Driver: 'overlay', Internal: false, IPAM: { Config: [{ Subnet: '10.0.1.0/24', Gateway: '10.0.1.1' }] }, Options: { 'com.docker.network.driver.overlay.vxlanid_list': '4097' } },
];

const CONTAINERS = [
  {
    Id: 'c1c1c1c1c1c1ffff', Name: '/a1', Config: { Image: 'busybox' }, State: { Running: true },
    NetworkSettings: {
      Networks: { app: { NetworkID: 'aaaaaaaaaaaa1111', IPAddress: '172.18.0.2', MacAddress: '02:00:00:00:00:aa', DNSNames: ['a1', 'c1c1c1c1c1c1'], Aliases: null } },
      Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '53/udp': null },
    },
  },
];

function collection(parts: { info?: unknown; addr?: unknown; containers?: unknown; end?: boolean } = {}): string {
  return [
    section('info', parts.info ?? { Swarm: { NodeID: 'n1', LocalNodeState: 'active', ControlAvailable: true } }),
    section('networks', NETWORKS),
    section('containers', parts.containers ?? CONTAINERS),
    section('addr', namespace(parts.addr ?? ROOT, [
      { type: 'unicast', dst: '10.0.0.0/26', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '10.0.0.2', flags: [] },
      { type: 'unreachable', dst: 'default', protocol: 'boot', scope: 'global', flags: [] },
    ])),
    section('ns ns1', namespace([{ ifindex: 1, ifname: 'lo', flags: [], mtu: 65536, link_type: 'loopback', addr_info: [] }, veth(2, 'veth1', 6)], [])),
    section('ctr c1c1c1c1c1c1ffff', namespace([veth(2, 'eth0', 5, { addr_info: [{ local: '172.18.0.2', prefixlen: 16 }] })], [
      { type: 'unicast', dst: 'default', gateway: '172.18.0.1', dev: 'eth0', protocol: 'boot', scope: 'global', flags: [] },
    ])),
    parts.end === false ? '' : section('end', ''),
  ].join('');
}

const mapOf = (state: HostState) => assembleMap([{ name: 'host1', state }], new Date(0));

describe('the lab map from a host\'s collection', () => {
  it('reads networks, containers with endpoints and ports, namespaces, and matches veth ends across namespaces', () => {
    const map = mapOf(parseHost(collection(), emptyHostState()));
    expect(map.version).toBe(LAB_MAP_VERSION);
    const host = map.hosts[0]!;
    expect(host).toMatchObject({ name: 'host1', labAddress: '10.0.0.2/26', engineUp: true, swarm: { nodeId: 'n1', role: 'manager', state: 'active' } });
    // As `ip route` prints them.
    expect(host.routes).toEqual(['10.0.0.0/26 dev eth0 proto kernel scope link src 10.0.0.2', 'unreachable default']);
    expect(host.interfaces.find((i) => i.name === 'vethc1')).toMatchObject({ kind: 'veth', master: 'br-aaaaaaaaaaaa', peer: { container: 'a1', interface: 'eth0' } });
    expect(host.interfaces.find((i) => i.name === 'veth0')!.peer).toEqual({ namespace: 'ns1', interface: 'veth1' });
    expect(host.namespaces[0]!.interfaces.find((i) => i.name === 'veth1')!.peer).toEqual({ interface: 'veth0' });
    const a1 = host.containers[0]!;
    expect(a1).toMatchObject({ id: 'c1c1c1c1c1c1', name: 'a1', image: 'busybox', running: true, routes: ['default via 172.18.0.1 dev eth0'] });
    expect(a1.interfaces[0]!.peer).toEqual({ interface: 'vethc1' });
    expect(a1.endpoints).toEqual([{ network: 'host1/app', ipv4: '172.18.0.2', ipv6: null, mac: '02:00:00:00:00:aa', dnsNames: ['a1', 'c1c1c1c1c1c1'], aliases: [] }]);
    expect(a1.ports).toEqual([{ address: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    expect(map.networks.map((n) => n.key)).toEqual(['host1/app', 'swarm/ov']);
    expect(map.networks[0]).toMatchObject({ bridge: 'br-aaaaaaaaaaaa', subnets: [{ subnet: '172.18.0.0/16', gateway: '172.18.0.1' }] });
  });

  it('makes a swarm-scoped network on two hosts one entry listing both, and keeps local ones apart', () => {
    const state = parseHost(collection(), emptyHostState());
    const map = assembleMap([{ name: 'host1', state }, { name: 'host2', state }]);
    expect(map.networks.filter((n) => n.name === 'ov')).toEqual([expect.objectContaining({ key: 'swarm/ov', hosts: ['host1', 'host2'], vni: [4097] })]);
    expect(map.networks.filter((n) => n.name === 'app').map((n) => n.key)).toEqual(['host1/app', 'host2/app']);
  });

  it('keeps the last good part when one is malformed or too large, and the whole last state when the output was cut off', () => {
    const good = parseHost(collection(), emptyHostState());
    const badContainers = parseHost(collection({ containers: '[{"Id": 5' }), good);
    expect(mapOf(badContainers).hosts[0]!.containers.map((c) => c.name)).toEqual(['a1']);
    const tooMany = parseHost(collection({ addr: Array.from({ length: 2000 }, (_, i) => ({ ...ROOT[1]!, ifindex: i })) }), good);
    expect(mapOf(tooMany).hosts[0]!.interfaces.map((i) => i.name)).toEqual(['lo', 'eth0', 'br-aaaaaaaaaaaa', 'vethc1', 'veth0']);
    const badNamespace = parseHost(collection({ addr: '[{"ifindex": "one"}]' }), good);
    expect(mapOf(badNamespace).hosts[0]!.routes).toEqual(mapOf(good).hosts[0]!.routes);
    const longName = parseHost(collection({ containers: [{ ...CONTAINERS[0], Name: 'x'.repeat(10_000) }] }), good);
    expect(mapOf(longName).hosts[0]!.containers[0]!.name).toBe('a1');
    expect(parseHost(collection({ end: false, containers: [] }), good)).toBe(good);
    expect(parseHost('\u0000garbage\n@@dnl-map', good)).toBe(good);
    expect(parseHost(collection({ containers: [] }).slice(20), good)).toBe(good);
  });

  it('matches no peers, quickly, on a host showing thousands of identical veth ends in many namespaces', () => {
    const ends = namespace(Array.from({ length: 1000 }, () => veth(2, 'eth0', 2)), []);
    const spaces = Array.from({ length: 6 }, (_, i) => section(`ns n${i}`, ends)).join('');
    const output = collection().replace('\n@@dnl-map end', `${spaces}\n@@dnl-map end`);
    const started = performance.now();
    const map = mapOf(parseHost(output, emptyHostState()));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(map.hosts[0]!.namespaces).toHaveLength(7);
    expect(map.hosts[0]!.namespaces.every((n) => n.interfaces.every((i) => i.peer === null))).toBe(true);
  });

  it('says the engine is down when it did not answer, with the host\'s own interfaces still shown', () => {
    const down = parseHost(collection({ info: '', containers: '' }), parseHost(collection(), emptyHostState()));
    const host = mapOf(down).hosts[0]!;
    expect(host).toMatchObject({ engineUp: false, swarm: null, containers: [] });
    expect(host.interfaces.length).toBe(5);
  });
});
