/**
 * Where everything on the lab map goes: a LabMap in, positioned boxes, bars and lines out,
 * plus the same grouping as an outline (the text alternative). No DOM: the lab panel's Map tab
 * and the lessons' server-rendered "goal" maps (src/components/LabMapGoal.astro) both use it.
 *
 * Our own small layered layout rather than a graph library (dagre/elk are 30-400 KB gzipped
 * and place nodes by optimisation, so one new container can move everything): a lab has a
 * fixed shape, the chapter diagrams' (content/diagrams/*.svg). Hosts are frames side by side
 * in the lab's order; inside each, from the top: hand-made namespaces, one band per local
 * network (its containers as boxes above its bar), then rows aligned across the hosts for each
 * overlay (one bar spanning its hosts, with its VNI), the macvlan/ipvlan children above the
 * host's eth0, and the lab link along the bottom joining the eth0s.
 *
 * Stable as things are added: every group keeps the order it had in the previous layout
 * (`Memory`) and appends newcomers (sorted by name), and boxes fill a group's grid row by row,
 * so a new container lands after the others and nothing moves sideways; a band that needs a
 * new row pushes what is below it down. A fresh Memory (a static document) sorts by name.
 */
import type { LabMap, MapContainer, MapEndpoint, MapHost, MapInterface, MapNetwork } from '../../../contract/protocol.ts';
import { mapLayout } from '../../i18n/en/map.ts';

/** The words a layout is made with: a page's mapLayout block (src/i18n). */
export type LayoutWords = typeof mapLayout;

/**
 * The words of the layout being made. Set by layoutMap for its (synchronous) run, so the helpers
 * below need not pass them along; English until then.
 */
let W: LayoutWords = mapLayout;

/** Geometry in SVG user units (px at 1:1): sized like the chapter diagrams (16 px text, 120 px boxes). */
export const GEOMETRY = {
  boxW: 128,
  boxH: 52,
  /** Boxes per row in a band: three 128 px boxes fill a 440 px host frame. */
  cols: 3,
  gapX: 12,
  /** Vertical room between a row of boxes and the next (the links run through it). */
  stem: 22,
  barH: 40,
  bandGap: 26,
  headerH: 64,
  pad: 16,
  hostGap: 40,
  chipH: 40,
  /** Room between the host frames' bottom and the lab link. */
  labGap: 36,
} as const;
const G = GEOMETRY;
const HOST_W = G.pad * 2 + G.cols * G.boxW + (G.cols - 1) * G.gapX;

/** What a node stands for, to find its details in the LabMap. */
export type NodeRef =
  | { kind: 'host'; host: string }
  | { kind: 'network'; network: string }
  | { kind: 'container'; host: string; name: string; network: string | null }
  | { kind: 'namespace'; host: string; name: string }
  | { kind: 'interface'; host: string; name: string }
  | { kind: 'lab' };

/** frame: a host; bar: a network, bridge, eth0 or the lab link; box: a container or namespace; chip: a lone interface. */
export type Shape = 'frame' | 'bar' | 'box' | 'chip';

export interface MapNode {
  /** Unique in the layout and stable across layouts of the same lab. */
  key: string;
  shape: Shape;
  ref: NodeRef;
  x: number;
  y: number;
  w: number;
  h: number;
  title: string;
  sub: string;
  /** accent: user-made networks and overlays; muted: stopped or down. */
  tone: 'plain' | 'accent' | 'muted';
  /** The whole sentence for a screen reader (the drawing truncates). */
  label: string;
}

/** veth: a veth pair (or a container's link to its bridge); link: an uplink; macvlan: a child on its parent. */
export interface MapLine {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  kind: 'veth' | 'link' | 'macvlan';
}

/** The text alternative: the same groups, nested. */
export interface OutlineItem {
  text: string;
  key?: string;
  children: OutlineItem[];
}

export interface Layout {
  width: number;
  height: number;
  nodes: MapNode[];
  lines: MapLine[];
  outline: OutlineItem[];
}

/** Each group's order in the previous layout, by group key; layoutMap updates it. */
export type Memory = Map<string, string[]>;

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** `keys` in the group's remembered order, newcomers appended sorted; remembers the result. */
export function stableOrder(memory: Memory, group: string, keys: readonly string[]): string[] {
  const present = new Set(keys);
  const kept = (memory.get(group) ?? []).filter((k) => present.has(k));
  const known = new Set(kept);
  const order = [...kept, ...[...present].filter((k) => !known.has(k)).sort(byName)];
  memory.set(group, order);
  return order;
}

/** Something to place in a band's grid. */
interface Item {
  node: Omit<MapNode, 'x' | 'y' | 'w' | 'h' | 'shape'> & { shape?: Shape };
  /** Outline text. */
  text: string;
}

const ipOnly = (cidr: string) => cidr.replace(/\/\d+$/, '');
const v4 = (i: MapInterface) => i.addresses.find((a) => !a.includes(':')) ?? i.addresses[0] ?? null;
const isLocalBridgeDriver = (n: MapNetwork) => !['overlay', 'macvlan', 'ipvlan'].includes(n.driver) && n.scope === 'local';
const hangsOnEth0 = (n: MapNetwork) => n.driver === 'macvlan' || n.driver === 'ipvlan';
const subnetsText = (n: MapNetwork) => n.subnets.map((s) => s.subnet).join(', ');

function gridHeight(count: number, itemH: number): number {
  const rows = Math.ceil(count / G.cols);
  return rows === 0 ? 0 : rows * (itemH + G.stem);
}

/** Position `items` row by row from (x, y) inside a host column; returns the placed nodes. */
function placeGrid(items: readonly Item[], x: number, y: number, h: number, shape: Shape): MapNode[] {
  return items.map((it, i) => ({
    shape,
    ...it.node,
    x: x + G.pad + (i % G.cols) * (G.boxW + G.gapX),
    y: y + Math.floor(i / G.cols) * (h + G.stem),
    w: G.boxW,
    h,
  }));
}

function containerItem(host: string, c: MapContainer, e: MapEndpoint | null, net: MapNetwork | undefined): Item {
  const ip = e?.ipv4 ?? e?.ipv6 ?? null;
  const where = net ? W.onNetworkSuffix(net.name) : '';
  const state = c.running ? '' : W.stoppedSuffix;
  return {
    node: {
      key: `ctr:${host}/${c.name}@${e?.network ?? '-'}`,
      ref: { kind: 'container', host, name: c.name, network: e?.network ?? null },
      title: c.name,
      sub: ip ?? (c.running ? W.noAddress : W.stopped),
      tone: c.running ? 'plain' : 'muted',
      label: `${W.container(c.name)}${where}${ip ? W.itemSuffix(ip) : ''}${state}`,
    },
    text: `${W.containerText(c.name)}${ip ? W.colonSuffix(ip) : ''}${e?.mac ? W.macSuffix(e.mac) : ''}${e && e.dnsNames.length ? W.dnsSuffix(e.dnsNames.join(W.sep)) : ''}${state}`,
  };
}

/** One host's local part: computed first, placed once the rows shared with other hosts are known. */
interface HostPlan {
  host: MapHost;
  x: number;
  nodes: MapNode[];
  lines: MapLine[];
  outline: OutlineItem[];
  /** y where its local part ends. */
  bottom: number;
}

/** Lay `map` out, its words in `words` (English by default). */
export function layoutMap(map: LabMap, memory: Memory = new Map(), words: LayoutWords = mapLayout): Layout {
  W = words;
  const networks = new Map(map.networks.map((n) => [n.key, n]));
  const hostOrder = map.hosts.map((h) => h.name);
  const column = (host: string) => hostOrder.indexOf(host) * (HOST_W + G.hostGap);
  const plans = map.hosts.map((h) => planHost(h, column(h.name), networks, memory));
  const nodes: MapNode[] = [];
  const lines: MapLine[] = [];
  const outline: OutlineItem[] = [];
  const outlineOf = new Map(plans.map((p) => [p.host.name, p.outline]));
  const hosts: OutlineItem[] = [];
  let y = Math.max(G.headerH, ...plans.map((p) => p.bottom));

  // Overlays: one row each, aligned across the hosts, its bar spanning the hosts it is on.
  const swarm = map.networks.filter((n) => !isLocalBridgeDriver(n) && !hangsOnEth0(n));
  for (const key of stableOrder(memory, 'overlays', swarm.map((n) => n.key))) {
    const net = networks.get(key)!;
    const on = net.hosts.filter((h) => hostOrder.includes(h)).sort((a, b) => hostOrder.indexOf(a) - hostOrder.indexOf(b));
    if (on.length === 0) continue;
    const perHost = on.map((h) => {
      const host = map.hosts.find((x) => x.name === h)!;
      const items = endpointItems(host, key, networks, memory);
      return { h, items };
    });
    const itemsH = Math.max(0, ...perHost.map((p) => gridHeight(p.items.length, G.boxH)));
    const barY = y + itemsH;
    const vni = net.vni.length ? W.vni(net.vni.join(', ')) : W.vniNone;
    const x1 = column(on[0]!) + G.pad;
    const x2 = column(on[on.length - 1]!) + HOST_W - G.pad;
    nodes.push({
      key: `net:${key}`, shape: 'bar', ref: { kind: 'network', network: key }, x: x1, y: barY, w: x2 - x1, h: G.barH,
      title: net.name, sub: `${net.driver} · ${vni}${net.subnets.length ? ` · ${subnetsText(net)}` : ''}`, tone: 'accent',
      label: `${W.overlay(net.name, on.join(W.and))}${W.itemSuffix(vni)}${net.subnets.length ? W.subnetSuffix(subnetsText(net)) : ''}`,
    });
    const children: OutlineItem[] = [];
    for (const { h, items } of perHost) {
      const placed = placeGrid(items, column(h), y, G.boxH, 'box');
      nodes.push(...placed);
      for (const n of placed) lines.push(stem(n, barY));
      children.push({ text: `${W.onHost(h)}${items.length ? '' : W.noContainersSuffix}`, children: items.map((it) => ({ text: it.text, key: it.node.key, children: [] })) });
    }
    outline.push({ text: `${W.spanning(net.driver, net.name, on.join(W.sep))}${W.itemSuffix(vni)}${net.subnets.length ? W.subnetSuffix(subnetsText(net)) : ''}`, key: `net:${key}`, children });
    y = barY + G.barH + G.bandGap;
  }

  // eth0 with its macvlan/ipvlan children above it, aligned across hosts.
  const children = plans.map((p) => eth0Children(p.host, networks, memory));
  const itemsH = Math.max(0, ...children.map((c) => gridHeight(c.length, G.boxH)));
  const eth0Y = y + itemsH;
  const frameBottom = eth0Y + G.barH + G.pad;
  const labY = frameBottom + G.labGap;
  for (const [i, p] of plans.entries()) {
    const h = p.host;
    const eth0 = h.interfaces.find((x) => x.name === 'eth0');
    const addr = h.labAddress ?? (eth0 && v4(eth0));
    const frame: MapNode = {
      key: `host:${h.name}`, shape: 'frame', ref: { kind: 'host', host: h.name }, x: p.x, y: 0, w: HOST_W, h: frameBottom,
      title: h.name, sub: [addr && ipOnly(addr), h.swarm && W.swarmRole(h.swarm.role), !h.engineUp && W.engineNotAnswering].filter(Boolean).join(' · '),
      tone: h.engineUp ? 'plain' : 'muted',
      label: `${W.labHost(h.name)}${addr ? W.onLabLinkSuffix(addr) : ''}${h.swarm ? W.swarmSuffix(h.swarm.role) : ''}${h.engineUp ? '' : W.engineDownSuffix}`,
    };
    nodes.push(frame, ...p.nodes);
    lines.push(...p.lines);
    const kids = children[i]!;
    const placed = placeGrid(kids, p.x, y, G.boxH, 'box');
    nodes.push(...placed);
    for (const n of placed) lines.push({ ...stemOf(n, eth0Y), kind: 'macvlan' });
    const eth0Node: MapNode = {
      key: `if:${h.name}/eth0`, shape: 'bar', ref: { kind: 'interface', host: h.name, name: 'eth0' },
      x: p.x + G.pad, y: eth0Y, w: HOST_W - 2 * G.pad, h: G.barH,
      title: 'eth0', sub: [addr, eth0?.mac].filter(Boolean).join(' · '), tone: 'plain',
      label: `${W.eth0(h.name)}${addr ? W.itemSuffix(addr) : ''}${eth0?.mac ? W.macSuffix(eth0.mac) : ''}${kids.length ? W.childrenSuffix(kids.length) : ''}`,
    };
    nodes.push(eth0Node);
    lines.push({ x1: eth0Node.x + eth0Node.w / 2, y1: eth0Y + G.barH, x2: eth0Node.x + eth0Node.w / 2, y2: labY, kind: 'link' });
    const hostOutline = outlineOf.get(h.name)!;
    hostOutline.push({
      text: `eth0${addr ? ` ${addr}` : ''}${eth0?.mac ? W.macSuffix(eth0.mac) : ''}`,
      key: eth0Node.key,
      children: kids.map((k) => ({ text: k.text, key: k.node.key, children: [] })),
    });
    hosts.push({ text: frame.label, key: frame.key, children: hostOutline });
  }
  const width = Math.max(HOST_W, map.hosts.length * (HOST_W + G.hostGap) - G.hostGap);
  const labSubnet = networkOf(map.hosts.map((h) => h.labAddress).find(Boolean) ?? '');
  nodes.push({
    key: 'lab', shape: 'bar', ref: { kind: 'lab' }, x: 0, y: labY, w: width, h: G.barH,
    title: W.labLinkTitle, sub: `${W.labLinkSub}${labSubnet ? ` · ${labSubnet}` : ''}`, tone: 'plain',
    label: W.labLink(hostOrder.join(W.sep)),
  });
  return { width, height: labY + G.barH + 2, nodes, lines, outline: [...hosts, ...outline] };
}

/** The IPv4 network of an address in CIDR form (10.213.0.66/26 is on 10.213.0.64/26); null if it is not one. */
export function networkOf(cidr: string): string | null {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return null;
  const bits = Number(m[5]);
  const ip = m.slice(1, 5).reduce((n, octet) => n * 256 + Number(octet), 0);
  const base = bits === 0 ? 0 : ip - (ip % 2 ** (32 - bits));
  return `${[24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join('.')}/${bits}`;
}

function stemOf(n: MapNode, barY: number) {
  const x = n.x + n.w / 2;
  return { x1: x, y1: n.y + n.h, x2: x, y2: barY };
}
const stem = (n: MapNode, barY: number): MapLine => ({ ...stemOf(n, barY), kind: 'veth' });

/** The containers of `host` on network `key`, one box each, in their remembered order. */
function endpointItems(host: MapHost, key: string, networks: Map<string, MapNetwork>, memory: Memory): Item[] {
  const net = networks.get(key);
  const on = host.containers.flatMap((c) => c.endpoints.filter((e) => e.network === key).map((e) => [c.name, containerItem(host.name, c, e, net)] as const));
  const byNameMap = new Map(on);
  return stableOrder(memory, `ctr:${host.name}:${key}`, [...byNameMap.keys()]).map((n) => byNameMap.get(n)!);
}

/** Containers on macvlan/ipvlan networks and the host's own macvlan/ipvlan interfaces (a shim): eth0's children. */
function eth0Children(host: MapHost, networks: Map<string, MapNetwork>, memory: Memory): Item[] {
  const items = new Map<string, Item>();
  for (const c of host.containers) {
    for (const e of c.endpoints) {
      const net = networks.get(e.network);
      if (!net || !hangsOnEth0(net)) continue;
      const it = containerItem(host.name, c, e, net);
      const mac = e.mac ? W.macSuffix(e.mac) : '';
      it.node.label = `${W.containerOnEth0(c.name, net.driver, net.name)}${e.ipv4 ? W.itemSuffix(e.ipv4) : ''}${mac}`;
      items.set(it.node.key, it);
    }
  }
  for (const i of host.interfaces) {
    if (i.kind !== 'macvlan' && i.kind !== 'ipvlan') continue;
    const a = v4(i);
    items.set(`if:${host.name}/${i.name}`, {
      node: {
        key: `if:${host.name}/${i.name}`, ref: { kind: 'interface', host: host.name, name: i.name }, title: i.name, sub: a ?? i.kind,
        tone: i.up ? 'plain' : 'muted', label: `${W.ownInterface(host.name, i.kind, i.name)}${a ? W.itemSuffix(a) : ''}${i.mac ? W.macSuffix(i.mac) : ''}`,
      },
      text: `${W.interfaceOf(i.kind, i.name, host.name)}${a ? W.colonSuffix(a) : ''}${i.mac ? W.macSuffix(i.mac) : ''}`,
    });
  }
  return stableOrder(memory, `eth0:${host.name}`, [...items.keys()]).map((k) => items.get(k)!);
}

/** A host's local part: hand-made namespaces and root veths, then its local networks and hand-made bridges. */
function planHost(host: MapHost, x: number, networks: Map<string, MapNetwork>, memory: Memory): HostPlan {
  const h = host.name;
  const nodes: MapNode[] = [];
  const lines: MapLine[] = [];
  const outline: OutlineItem[] = [];
  let y = G.headerH;
  const root = new Map(host.interfaces.map((i) => [i.name, i]));
  const local = [...networks.values()].filter((n) => n.hosts.includes(h) && isLocalBridgeDriver(n));
  const dockerBridges = new Set(local.map((n) => n.bridge).filter(Boolean));
  const handBridges = host.interfaces.filter((i) => i.kind === 'bridge' && !dockerBridges.has(i.name) && !i.name.startsWith('docker'));
  const nsItem = (ns: (typeof host.namespaces)[number]): Item => {
    const addrs = ns.interfaces.filter((i) => i.kind !== 'loopback').flatMap((i) => i.addresses.map((a) => `${i.name} ${a}`));
    return {
      node: {
        key: `ns:${h}/${ns.name}`, ref: { kind: 'namespace', host: h, name: ns.name }, title: ns.name,
        sub: addrs[0]?.replace(/^\S+ /, '') ?? W.namespaceSub, tone: 'plain',
        label: `${W.namespace(ns.name)}${addrs.length ? W.itemSuffix(addrs.join(W.sep)) : W.noAddressesSuffix}`,
      },
      text: `${W.namespaceText(ns.name)}${addrs.length ? W.colonSuffix(addrs.join(W.sep)) : ''}`,
    };
  };
  // Which hand-made namespaces hang on a bridge: their veth's root end has that bridge as master.
  const nsOnBridge = new Map<string, string>();
  for (const i of host.interfaces) if (i.kind === 'veth' && i.peer?.namespace && i.master) nsOnBridge.set(i.peer.namespace, i.master);

  // Namespaces on no bridge, with the root veths that are neither a container's nor on a bridge.
  const free = host.namespaces.filter((ns) => !nsOnBridge.has(ns.name));
  const freeOrder = stableOrder(memory, `ns:${h}`, free.map((n) => n.name));
  // Not eth0: a lab host's own eth0 is a veth too (its peer is in the machine's engine), drawn as the lab link's end.
  const chips = host.interfaces.filter((i) => i.kind === 'veth' && i.name !== 'eth0' && !i.master && !i.peer?.container);
  const chipRank = (i: MapInterface) => (i.peer?.namespace ? freeOrder.indexOf(i.peer.namespace) : freeOrder.length);
  const chipOrder = stableOrder(memory, `chips:${h}`, chips.map((c) => c.name));
  chips.sort((a, b) => chipRank(a) - chipRank(b) || chipOrder.indexOf(a.name) - chipOrder.indexOf(b.name));
  if (free.length || chips.length) {
    const boxes = placeGrid(freeOrder.map((n) => nsItem(host.namespaces.find((ns) => ns.name === n)!)), x, y, G.boxH, 'box');
    const chipY = y + gridHeight(boxes.length, G.boxH);
    const chipNodes = placeGrid(chips.map((i) => {
      const a = v4(i);
      const peer = i.peer ? (i.peer.namespace ? W.pairedWithIn(i.peer.interface, i.peer.namespace) : W.pairedWith(i.peer.interface)) : '';
      return {
        node: { key: `if:${h}/${i.name}`, ref: { kind: 'interface', host: h, name: i.name } as NodeRef, title: i.name, sub: a ?? (i.up ? 'veth' : W.vethDown), tone: i.up ? 'plain' as const : 'muted' as const, label: `${W.veth(i.name, h)}${a ? W.itemSuffix(a) : ''}${peer}` },
        text: `${W.vethText(i.name)}${a ? ` ${a}` : ''}${peer}`,
      };
    }), x, chipY, G.chipH, 'chip');
    nodes.push(...boxes, ...chipNodes);
    const at = (key: string) => [...boxes, ...chipNodes].find((n) => n.key === key);
    for (const c of chipNodes) {
      const i = root.get(c.ref.kind === 'interface' ? c.ref.name : '')!;
      const other = i.peer?.namespace ? at(`ns:${h}/${i.peer.namespace}`) : i.peer ? at(`if:${h}/${i.peer.interface}`) : undefined;
      if (other) lines.push(link(c, other));
    }
    // A veth pair between two namespaces.
    for (const ns of free) {
      for (const i of ns.interfaces) {
        const peerNs = i.peer?.namespace;
        if (i.kind === 'veth' && peerNs && peerNs > ns.name && at(`ns:${h}/${peerNs}`)) lines.push(link(at(`ns:${h}/${ns.name}`)!, at(`ns:${h}/${peerNs}`)!));
      }
    }
    outline.push({
      text: W.handMade,
      children: [...boxes, ...chipNodes].map((n) => ({ text: n.label, key: n.key, children: [] })),
    });
    y = chipY + gridHeight(chipNodes.length, G.chipH);
  }

  // Local networks (the default bridge first; host and none only while something uses them), then hand-made bridges.
  const shown = local.filter((n) => !['host', 'null'].includes(n.driver) || host.containers.some((c) => c.endpoints.some((e) => e.network === n.key)));
  const order = stableOrder(memory, `nets:${h}`, shown.filter((n) => n.name !== 'bridge').map((n) => n.key));
  const bands = [...shown.filter((n) => n.name === 'bridge').map((n) => n.key), ...order];
  for (const key of bands) {
    const net = networks.get(key)!;
    const items = endpointItems(host, key, networks, memory);
    const placed = placeGrid(items, x, y, G.boxH, 'box');
    const barY = y + gridHeight(items.length, G.boxH);
    const userMade = !['bridge', 'host', 'none', 'docker_gwbridge'].includes(net.name);
    const what = net.driver === 'host' ? W.hostStack : net.driver === 'null' ? W.noNetwork : [net.bridge, subnetsText(net), net.internal && W.internal].filter(Boolean).join(' · ');
    nodes.push(...placed, {
      key: `net:${key}`, shape: 'bar', ref: { kind: 'network', network: key }, x: x + G.pad, y: barY, w: HOST_W - 2 * G.pad, h: G.barH,
      title: net.name, sub: `${net.driver}${what ? ` · ${what}` : ''}`, tone: userMade ? 'accent' : 'plain',
      label: `${W.network(net.driver, net.name, h)}${what ? W.itemSuffix(what) : ''}${W.containersSuffix(items.length)}`,
    });
    for (const n of placed) lines.push(stem(n, barY));
    outline.push({ text: `${W.networkText(net.driver, net.name)}${what ? W.parenSuffix(what) : ''}`, key: `net:${key}`, children: items.map((it) => ({ text: it.text, key: it.node.key, children: [] })) });
    y = barY + G.barH + G.bandGap;
  }
  for (const br of stableOrder(memory, `bridges:${h}`, handBridges.map((b) => b.name))) {
    const i = root.get(br)!;
    const items = stableOrder(memory, `brns:${h}:${br}`, host.namespaces.filter((ns) => nsOnBridge.get(ns.name) === br).map((ns) => ns.name))
      .map((n) => nsItem(host.namespaces.find((ns) => ns.name === n)!));
    const placed = placeGrid(items, x, y, G.boxH, 'box');
    const barY = y + gridHeight(items.length, G.boxH);
    const a = i.addresses.join(', ');
    nodes.push(...placed, {
      key: `if:${h}/${br}`, shape: 'bar', ref: { kind: 'interface', host: h, name: br }, x: x + G.pad, y: barY, w: HOST_W - 2 * G.pad, h: G.barH,
      title: br, sub: `${W.linuxBridge}${a ? ` · ${a}` : ''}${i.up ? '' : W.downTag}`, tone: 'accent',
      label: `${W.handBridge(br, h)}${a ? W.itemSuffix(a) : ''}${i.up ? '' : W.downSuffix}`,
    });
    for (const n of placed) lines.push(stem(n, barY));
    outline.push({ text: `${W.bridgeText(br)}${a ? W.parenSuffix(a) : ''}`, key: `if:${h}/${br}`, children: items.map((it) => ({ text: it.text, key: it.node.key, children: [] })) });
    y = barY + G.barH + G.bandGap;
  }

  // Containers on no network at all (stopped, or sharing another's namespace).
  const loose = host.containers.filter((c) => c.endpoints.every((e) => !networks.has(e.network)));
  if (loose.length) {
    const items = stableOrder(memory, `loose:${h}`, loose.map((c) => c.name)).map((n) => containerItem(h, host.containers.find((c) => c.name === n)!, null, undefined));
    nodes.push(...placeGrid(items, x, y, G.boxH, 'box'));
    outline.push({ text: W.loose, children: items.map((it) => ({ text: it.text, key: it.node.key, children: [] })) });
    y += gridHeight(items.length, G.boxH) + G.bandGap - G.stem;
  }
  return { host, x, nodes, lines, outline, bottom: y };
}

/** A line between two boxes side by side (or one above the other), edge to edge. */
function link(a: MapNode, b: MapNode): MapLine {
  const ac = { x: a.x + a.w / 2, y: a.y + a.h / 2 };
  const bc = { x: b.x + b.w / 2, y: b.y + b.h / 2 };
  if (Math.abs(ac.y - bc.y) < 1) {
    const [l, r] = ac.x < bc.x ? [a, b] : [b, a];
    return { x1: l.x + l.w, y1: ac.y, x2: r.x, y2: ac.y, kind: 'veth' };
  }
  const [t, u] = ac.y < bc.y ? [a, b] : [b, a];
  return { x1: t.x + t.w / 2, y1: t.y + t.h, x2: u.x + u.w / 2, y2: u.y, kind: 'veth' };
}
