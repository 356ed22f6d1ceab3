/**
 * A lab's map (contract/protocol.ts LabMap) from what its hosts say about themselves: one exec
 * of COLLECT_SCRIPT per host prints its inner engine's networks, containers and swarm state (the
 * engine's API and `docker inspect`), its own interfaces and routes (`ip -j -d addr` and
 * `route`), its hand-made namespaces' and its running containers' (`ip -n`, `nsenter`), in
 * sections; parseHost reads them, assembleMap joins the hosts into one document: veth ends
 * matched across namespaces by their peer's index, a swarm-scoped network on several hosts as
 * one entry. Following changes is mapwatch.ts's job.
 *
 * The output comes from a lab host whose root is the learner (who can replace `ip` or `docker`
 * there): it is bounded (MAX_OUTPUT_BYTES), each section is checked with zod, and a section that
 * fails keeps the host's last good one (HostState), so a hostile or broken part cannot blank the
 * rest of the map, nor make it large.
 */
import { z } from 'zod';
import { LAB_MAP_VERSION, type LabMap, type MapContainer, type MapEndpoint, type MapHost, type MapInterface, type MapInterfaceKind, type MapNetwork } from '../../contract/protocol.ts';

/** Largest collection read per host (bytes): ~2.5 KiB per interface in `ip -j -d`, so a host with 100 containers is ~600 KiB. */
export const MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
/** A collection that takes longer is given up (ms); the next change collects again. */
export const COLLECT_TIMEOUT_MS = 10_000;
/** At most this many of a kind are read from one host (containers, networks, namespaces, interfaces per namespace, routes). */
const MAX_ITEMS = 1024;
/** veth ends one host may show for their peers to be matched: two per container, with room for hand-made ones. */
const MAX_VETH_ENDS = 4096;
/** Longest string kept from a host (names, aliases, route lines). */
const MAX_TEXT = 256;

const MARK = '@@dnl-map';

/**
 * One exec per host: sections start with a MARK line (`<mark> <section> [<name or id>]`). The
 * engine's sections are empty when it does not answer (curl fails fast on a missing socket). A
 * namespace's interfaces and routes come from one `ip -batch` (two JSON lines), so a container
 * costs one process: its namespace is entered through its main process (`nsenter -t PID -n`),
 * and skipped when that is the host's own (`--network host`).
 */
export const COLLECT_SCRIPT = [
  // The exec's output is stdout and stderr in one: a container removed between `ps` and `inspect` must not garble a section.
  'exec 2>/dev/null',
  `m() { printf '\n${MARK} %s\n' "$*"; }`,
  'api() { curl -sf --max-time 5 --unix-socket /var/run/docker.sock "http://lab-host$1"; }',
  'both() { printf "addr\\nroute\\n" | "$@" -j -d -batch -; }',
  'm info; api /info',
  'm networks; api /networks',
  'ids=$(docker ps -aq)',
  'm containers; [ -n "$ids" ] && docker inspect $ids',
  'm addr; both ip',
  'for ns in $(ip netns list | cut -d" " -f1); do m ns "$ns"; both ip -n "$ns"; done',
  'self=$(readlink /proc/self/ns/net)',
  '[ -n "$ids" ] && docker inspect -f "{{.Id}} {{.State.Pid}}" $ids | while read -r id pid; do',
  '  [ "$pid" -gt 0 ] && [ "$(readlink /proc/$pid/ns/net)" != "$self" ] || continue',
  '  m ctr "$id"; both nsenter -t "$pid" -n ip',
  'done',
  'm end',
].join('\n');

const text = z.string().max(MAX_TEXT);

const infoSchema = z.object({
  Swarm: z.object({ NodeID: text.default(''), LocalNodeState: text.default('inactive'), ControlAvailable: z.boolean().default(false) }).partial().nullish(),
});

const networksSchema = z
  .array(
    z.object({
      Name: text,
      Id: text,
      Scope: text,
      Driver: text,
      Internal: z.boolean().default(false),
      IPAM: z.object({ Config: z.array(z.object({ Subnet: text.optional(), Gateway: text.optional() })).max(64).nullish() }).nullish(),
      Options: z.record(text, text).nullish(),
    }),
  )
  .max(MAX_ITEMS);

const endpointSchema = z.object({
  NetworkID: text.default(''),
  IPAddress: text.default(''),
  GlobalIPv6Address: text.default(''),
  MacAddress: text.default(''),
  Aliases: z.array(text).max(64).nullish(),
  DNSNames: z.array(text).max(64).nullish(),
});

const containersSchema = z
  .array(
    z.object({
      Id: text,
      Name: text,
      Config: z.object({ Image: text.default('') }).nullish(),
      State: z.object({ Running: z.boolean().default(false) }).nullish(),
      NetworkSettings: z
        .object({
          Networks: z.record(text, endpointSchema).nullish(),
          Ports: z.record(text, z.array(z.object({ HostIp: text.default(''), HostPort: text.default('') })).max(64).nullish()).nullish(),
        })
        .nullish(),
    }),
  )
  .max(MAX_ITEMS);

const addrSchema = z
  .array(
    z.object({
      ifindex: z.number().int(),
      ifname: text,
      link: text.nullish(),
      link_index: z.number().int().optional(),
      link_netnsid: z.number().int().optional(),
      flags: z.array(text).max(32).default([]),
      mtu: z.number().int().default(0),
      link_type: text.optional(),
      address: text.optional(),
      master: text.optional(),
      linkinfo: z.object({ info_kind: text.optional(), info_data: z.object({ id: z.number().int().optional(), mode: text.optional() }).passthrough().optional() }).optional(),
      addr_info: z.array(z.object({ local: text.optional(), prefixlen: z.number().int().optional() })).max(MAX_ITEMS).default([]),
    }),
  )
  .max(MAX_ITEMS);

/** `ip -j -d route`; shown as `ip route` prints it (without -d: no unicast, proto boot or scope global). */
const routesSchema = z
  .array(
    z.object({
      type: text.optional(), dst: text, gateway: text.optional(), dev: text.optional(), protocol: text.optional(),
      scope: text.optional(), prefsrc: text.optional(), metric: z.number().int().optional(), flags: z.array(text).max(16).default([]),
    }),
  )
  .max(MAX_ITEMS);

function routeLine(r: z.infer<typeof routesSchema>[number]): string {
  const parts = [
    r.type && r.type !== 'unicast' ? r.type : '', r.dst, r.gateway ? `via ${r.gateway}` : '', r.dev ? `dev ${r.dev}` : '',
    r.protocol && r.protocol !== 'boot' ? `proto ${r.protocol}` : '', r.scope && r.scope !== 'global' ? `scope ${r.scope}` : '',
    r.prefsrc ? `src ${r.prefsrc}` : '', r.metric !== undefined ? `metric ${r.metric}` : '', ...r.flags,
  ];
  return parts.filter(Boolean).join(' ');
}

type RawInterface = z.infer<typeof addrSchema>[number];
type RawNetwork = z.infer<typeof networksSchema>[number];
type RawContainer = z.infer<typeof containersSchema>[number];

/** One host's parsed sections: the last good value of each (a section that fails keeps the one before). */
export interface HostState {
  engineUp: boolean;
  info: z.infer<typeof infoSchema> | null;
  networks: RawNetwork[];
  containers: RawContainer[];
  addr: RawInterface[];
  routes: string[];
  /** Hand-made namespaces, and running containers' (by full id): interfaces and routes. */
  namespaces: Map<string, Namespace>;
  containerNamespaces: Map<string, Namespace>;
}

interface Namespace {
  addr: RawInterface[];
  routes: string[];
}

export function emptyHostState(): HostState {
  return { engineUp: false, info: null, networks: [], containers: [], addr: [], routes: [], namespaces: new Map(), containerNamespaces: new Map() };
}

function json<T>(schema: z.ZodType<T>, body: string): T | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** A namespace's section: `ip -j -d addr` and `ip -j -d route`, a JSON line each; undefined unless both parse. */
function namespaceOf(body: string): Namespace | undefined {
  const [addrLine = '', routesLine = ''] = body.trim().split('\n');
  const addr = json(addrSchema, addrLine);
  const routes = json(routesSchema, routesLine);
  return addr && routes ? { addr, routes: routes.map(routeLine) } : undefined;
}

/**
 * Read one collection's output into the host's state (`previous`: its last good one). Output
 * without its first or last marker (cut off) changes nothing.
 */
export function parseHost(output: string, previous: HostState): HostState {
  const sections = new Map<string, string>();
  let current: string | undefined;
  let body: string[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith(`${MARK} `)) {
      if (current !== undefined) sections.set(current, body.join('\n'));
      current = line.slice(MARK.length + 1).slice(0, MAX_TEXT);
      body = [];
      if (sections.size > 4 * MAX_ITEMS) break;
    } else body.push(line);
  }
  // Cut off at either end (its head dropped by MAX_OUTPUT_BYTES, its tail by a timeout): nothing changes.
  if (current !== 'end' || !output.startsWith(`\n${MARK} info\n`)) return previous;
  const infoBody = sections.get('info')?.trim() ?? '';
  const engineUp = infoBody !== '' && json(infoSchema, infoBody) !== undefined;
  const keep = <T>(schema: z.ZodType<T>, name: string, last: T, empty: T): T => {
    const b = sections.get(name)?.trim() ?? '';
    if (b === '') return empty;
    return json(schema, b) ?? last;
  };
  const spaces = (prefix: string, last: Map<string, Namespace>) => {
    const found = new Map<string, Namespace>();
    for (const [key, b] of sections) {
      if (!key.startsWith(`${prefix} `)) continue;
      const name = key.slice(prefix.length + 1);
      const ns = namespaceOf(b) ?? last.get(name);
      if (ns) found.set(name, ns);
    }
    return found;
  };
  const root = namespaceOf(sections.get('addr') ?? '') ?? { addr: previous.addr, routes: previous.routes };
  return {
    engineUp,
    info: engineUp ? (json(infoSchema, infoBody) ?? null) : null,
    networks: engineUp ? keep(networksSchema, 'networks', previous.networks, []) : [],
    containers: engineUp ? keep(containersSchema, 'containers', previous.containers, []) : [],
    addr: root.addr,
    routes: root.routes,
    namespaces: spaces('ns', previous.namespaces),
    containerNamespaces: spaces('ctr', previous.containerNamespaces),
  };
}

const KINDS: Record<string, MapInterfaceKind> = { bridge: 'bridge', veth: 'veth', vxlan: 'vxlan', macvlan: 'macvlan', ipvlan: 'ipvlan', dummy: 'dummy', tun: 'tun' };

function kindOf(raw: RawInterface): MapInterfaceKind {
  if (raw.link_type === 'loopback') return 'loopback';
  const kind = raw.linkinfo?.info_kind;
  if (kind) return KINDS[kind] ?? 'other';
  return raw.link_type === 'ether' ? 'ethernet' : 'other';
}

/** Where an interface lives, to find a veth's other end. */
type Place = { container?: string; namespace?: string };

/** A namespace's interfaces as the map shows them; veth peers are filled in by matchPeers. */
function interfacesOf(addr: RawInterface[], root: RawInterface[]): MapInterface[] {
  return addr
    .map((raw): MapInterface => {
      const kind = kindOf(raw);
      const iface: MapInterface = {
        name: raw.ifname,
        index: raw.ifindex,
        kind,
        up: raw.flags.includes('UP'),
        mac: kind === 'loopback' ? null : (raw.address ?? null),
        mtu: raw.mtu,
        addresses: raw.addr_info.flatMap((a) => (a.local === undefined ? [] : [`${a.local}/${a.prefixlen ?? ''}`])),
        master: raw.master ?? null,
        peer: null,
      };
      if (kind === 'vxlan' && raw.linkinfo?.info_data?.id !== undefined) iface.vni = raw.linkinfo.info_data.id;
      if (kind === 'macvlan') {
        // In the root namespace `link` names the parent; in a container it is in the root namespace, by index.
        const parent = raw.link ?? (raw.link_netnsid !== undefined ? root.find((r) => r.ifindex === raw.link_index)?.ifname : undefined);
        iface.macvlan = { mode: raw.linkinfo?.info_data?.mode ?? 'unknown', parent: parent ?? 'unknown' };
      }
      return iface;
    })
    .sort((a, b) => a.index - b.index);
}

/**
 * Match veth ends within one host: two veths are a pair when each one's peer index is the
 * other's ifindex. Indexes are per namespace, so the pair is looked for in another namespace
 * when the end says its peer is elsewhere (`link_netnsid`), in its own otherwise. Ends are
 * indexed by (ifindex, peer index), so a real host is matched in linear time; a host showing more
 * than MAX_VETH_ENDS (only a hostile `ip` does) gets no peers rather than a quadratic search.
 */
function matchPeers(spaces: { place: Place; raw: RawInterface[]; shown: MapInterface[] }[]): void {
  const ends = spaces.flatMap((space) => space.raw.filter((r) => r.linkinfo?.info_kind === 'veth' && r.link_index !== undefined).map((raw) => ({ space, raw })));
  if (ends.length > MAX_VETH_ENDS) return;
  const byPair = new Map<string, typeof ends>();
  for (const end of ends) {
    const key = `${end.raw.ifindex}>${end.raw.link_index}`;
    const same = byPair.get(key);
    if (same) same.push(end);
    else byPair.set(key, [end]);
  }
  for (const a of ends) {
    const elsewhere = a.raw.link_netnsid !== undefined;
    const b = byPair.get(`${a.raw.link_index}>${a.raw.ifindex}`)?.find((b) => (elsewhere ? b.space !== a.space : b.space === a.space && b.raw !== a.raw));
    const shown = a.space.shown.find((s) => s.index === a.raw.ifindex);
    if (b && shown) shown.peer = { ...b.space.place, interface: b.raw.ifname };
  }
}

const shortId = (id: string) => id.slice(0, 12);

function networkKey(host: string, net: RawNetwork): string {
  return net.Scope === 'swarm' ? `swarm/${net.Name}` : `${host}/${net.Name}`;
}

function mapNetwork(host: string, net: RawNetwork): MapNetwork {
  const options = net.Options ?? {};
  const vnis = (options['com.docker.network.driver.overlay.vxlanid_list'] ?? '').split(',').map(Number).filter((n) => Number.isInteger(n) && n > 0);
  return {
    key: networkKey(host, net),
    name: net.Name,
    driver: net.Driver,
    scope: net.Scope === 'swarm' || net.Scope === 'global' ? net.Scope : 'local',
    hosts: [host],
    subnets: (net.IPAM?.Config ?? []).flatMap((c) => (c.Subnet ? [{ subnet: c.Subnet, gateway: c.Gateway || null }] : [])),
    internal: net.Internal,
    bridge: net.Driver === 'bridge' ? (options['com.docker.network.bridge.name'] ?? `br-${shortId(net.Id)}`) : null,
    vni: vnis,
    parent: options.parent ?? null,
    mode: net.Driver === 'macvlan' ? (options.macvlan_mode ?? 'bridge') : net.Driver === 'ipvlan' ? (options.ipvlan_mode ?? 'l2') : null,
  };
}

function mapContainer(host: string, raw: RawContainer, networks: RawNetwork[], state: HostState, root: RawInterface[]): { container: MapContainer; raw: RawInterface[] } {
  const ns = state.containerNamespaces.get(raw.Id);
  const endpoints: MapEndpoint[] = Object.entries(raw.NetworkSettings?.Networks ?? {}).map(([name, ep]) => {
    const net = networks.find((n) => n.Id === ep.NetworkID) ?? networks.find((n) => n.Name === name);
    return {
      network: net ? networkKey(host, net) : `${host}/${name}`,
      ipv4: ep.IPAddress || null,
      ipv6: ep.GlobalIPv6Address || null,
      mac: ep.MacAddress || null,
      dnsNames: ep.DNSNames ?? [],
      aliases: ep.Aliases ?? [],
    };
  });
  const ports = Object.entries(raw.NetworkSettings?.Ports ?? {}).flatMap(([key, bindings]) => {
    const [port, protocol = 'tcp'] = key.split('/');
    return (bindings ?? []).flatMap((b) => {
      const hostPort = Number(b.HostPort);
      return Number.isInteger(hostPort) && hostPort > 0 ? [{ address: b.HostIp || '0.0.0.0', hostPort, containerPort: Number(port), protocol }] : [];
    });
  });
  const running = raw.State?.Running ?? false;
  return {
    container: {
      id: shortId(raw.Id),
      name: raw.Name.replace(/^\//, ''),
      image: raw.Config?.Image ?? '',
      running,
      interfaces: running && ns ? interfacesOf(ns.addr, root) : [],
      routes: running && ns ? ns.routes : [],
      endpoints: endpoints.sort((a, b) => a.network.localeCompare(b.network)),
      ports: ports.sort((a, b) => a.hostPort - b.hostPort || a.address.localeCompare(b.address)),
    },
    raw: running && ns ? ns.addr : [],
  };
}

function mapHost(name: string, state: HostState): { host: MapHost; networks: MapNetwork[] } {
  const root = state.addr;
  const interfaces = interfacesOf(root, root);
  const built = state.containers.map((c) => mapContainer(name, c, state.networks, state, root)).sort((a, b) => a.container.name.localeCompare(b.container.name));
  const namespaces = [...state.namespaces].sort(([a], [b]) => a.localeCompare(b)).map(([ns, { addr, routes }]) => ({ name: ns, interfaces: interfacesOf(addr, root), routes, raw: addr }));
  matchPeers([
    { place: {}, raw: root, shown: interfaces },
    ...built.map((b) => ({ place: { container: b.container.name }, raw: b.raw, shown: b.container.interfaces })),
    ...namespaces.map((n) => ({ place: { namespace: n.name }, raw: n.raw, shown: n.interfaces })),
  ]);
  const eth0 = interfaces.find((i) => i.name === 'eth0');
  const swarm = state.info?.Swarm;
  return {
    host: {
      name,
      labAddress: eth0?.addresses.find((a) => a.includes('.')) ?? null,
      engineUp: state.engineUp,
      swarm: swarm && swarm.LocalNodeState && swarm.LocalNodeState !== 'inactive' ? { nodeId: swarm.NodeID ?? '', role: swarm.ControlAvailable ? 'manager' : 'worker', state: swarm.LocalNodeState } : null,
      interfaces,
      routes: state.routes,
      containers: built.map((b) => b.container),
      namespaces: namespaces.map(({ raw: _, ...ns }) => ns),
    },
    networks: state.networks.map((n) => mapNetwork(name, n)),
  };
}

/** The lab's map from its hosts' states, in the lab's host order; a swarm-scoped network on several hosts is one entry. */
export function assembleMap(hosts: { name: string; state: HostState }[], at = new Date()): LabMap {
  const networks = new Map<string, MapNetwork>();
  const mapped = hosts.map(({ name, state }) => {
    const { host, networks: found } = mapHost(name, state);
    for (const net of found) {
      const known = networks.get(net.key);
      if (!known) networks.set(net.key, net);
      else {
        known.hosts.push(name);
        known.vni = [...new Set([...known.vni, ...net.vni])].sort((a, b) => a - b);
        if (known.subnets.length === 0) known.subnets = net.subnets;
      }
    }
    return host;
  });
  return { version: LAB_MAP_VERSION, at: at.toISOString(), hosts: mapped, networks: [...networks.values()].sort((a, b) => a.key.localeCompare(b.key)) };
}
