import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LabMap, MapContainer } from '../../../contract/protocol.ts';
import { drawList, drawSvg } from './draw.ts';
import { layoutMap, networkOf, type Layout, type Memory } from './layout.ts';
import { messages } from '../../i18n/index.ts';

const fixture = (name: string): LabMap => JSON.parse(readFileSync(new URL(`../../../content/maps/${name}.json`, import.meta.url), 'utf8')) as LabMap;
const node = (l: Layout, key: string) => l.nodes.find((n) => n.key === key);
const positions = (l: Layout) => new Map(l.nodes.map((n) => [n.key, [n.x, n.y]]));

function withContainer(map: LabMap, name: string, ip: string): LabMap {
  const m = structuredClone(map);
  const c: MapContainer = {
    id: '0123456789ab', name, image: 'busybox', running: true, interfaces: [], routes: [], ports: [],
    endpoints: [{ network: 'host1/mynet', ipv4: ip, ipv6: null, mac: null, dnsNames: [name], aliases: [] }],
  };
  m.hosts[0]!.containers.push(c);
  return m;
}

describe('the lab map layout', () => {
  it('is deterministic: the same document gives the same drawing', () => {
    const m = fixture('overlay-networks');
    expect(drawSvg(layoutMap(m), 'x', true)).toBe(drawSvg(layoutMap(structuredClone(m)), 'x', true));
  });

  it('keeps every existing node where it was when a container is added after them, and puts the newcomer after its network\'s others', () => {
    const memory: Memory = new Map();
    const before = layoutMap(fixture('user-defined-bridges'), memory);
    // "aaa" sorts first by name, but it came last: it goes after web1 and web2 on mynet.
    const after = layoutMap(withContainer(fixture('user-defined-bridges'), 'aaa', '172.18.0.9'), memory);
    const was = positions(before);
    for (const [key, xy] of positions(after)) if (was.has(key) && !key.startsWith('host:')) expect(xy, key).toEqual(was.get(key));
    const a = node(after, 'ctr:host1/aaa@host1/mynet')!;
    const web2 = node(after, 'ctr:host1/web2@host1/mynet')!;
    expect(a.y).toBe(web2.y);
    expect(a.x).toBeGreaterThan(web2.x);
  });

  it('pushes what is below a band down, never sideways, when the band needs a new row', () => {
    const memory: Memory = new Map();
    const before = layoutMap(fixture('user-defined-bridges'), memory);
    let m = fixture('user-defined-bridges');
    for (let i = 0; i < 5; i++) m = withContainer(m, `c${i}`, `172.18.0.${10 + i}`);
    const after = layoutMap(m, memory);
    for (const n of before.nodes) {
      const now = node(after, n.key)!;
      expect(now.x, n.key).toBe(n.x);
      expect(now.y, n.key).toBeGreaterThanOrEqual(n.y);
    }
    expect(node(after, 'ctr:host1/web1@host1/mynet')!.y).toBe(node(before, 'ctr:host1/web1@host1/mynet')!.y);
  });

  it('sorts a static document\'s containers by name', () => {
    const l = layoutMap(withContainer(fixture('user-defined-bridges'), 'aaa', '172.18.0.9'));
    const xs = ['aaa', 'web1', 'web2'].map((n) => node(l, `ctr:host1/${n}@host1/mynet`)!.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
  });

  it('draws an overlay once, as one bar spanning its hosts, with its VNI, and each host\'s containers above it', () => {
    const l = layoutMap(fixture('overlay-networks'));
    const bars = l.nodes.filter((n) => n.key === 'net:swarm/overnet');
    expect(bars).toHaveLength(1);
    const [h1, h2] = [node(l, 'host:host1')!, node(l, 'host:host2')!];
    expect(bars[0]!.x).toBeLessThan(h1.x + h1.w);
    expect(bars[0]!.x + bars[0]!.w).toBeGreaterThan(h2.x);
    expect(bars[0]!.sub).toContain('VNI 4097');
    expect(node(l, 'ctr:host2/web2@swarm/overnet')!.x).toBeGreaterThan(h2.x);
  });

  it('hangs a macvlan container off its host\'s eth0, with its own MAC in its label', () => {
    const l = layoutMap(fixture('macvlan'));
    const web1 = node(l, 'ctr:host1/web1@host1/lan')!;
    const eth0 = node(l, 'if:host1/eth0')!;
    expect(web1.y + web1.h).toBeLessThan(eth0.y);
    expect(l.lines.some((x) => x.kind === 'macvlan' && x.y1 === web1.y + web1.h && x.y2 === eth0.y)).toBe(true);
    expect(web1.label).toContain('02:42:0a:d5:00:20');
  });

  it('shows a hand-made namespace with its veth and the root end it is paired with', () => {
    const l = layoutMap(fixture('network-namespaces'));
    expect(node(l, 'ns:host1/red')!.label).toContain('10.1.0.2/24');
    expect(node(l, 'if:host1/veth-host')!.label).toContain('paired with veth-red in namespace red');
    expect(l.lines.filter((x) => x.kind === 'veth')).toHaveLength(1);
  });

  it('puts namespaces plugged into a hand-made bridge above its bar', () => {
    const l = layoutMap(fixture('bridge-from-scratch'));
    const br0 = node(l, 'if:host1/br0')!;
    for (const ns of ['ns1', 'ns2']) expect(node(l, `ns:host1/${ns}`)!.y).toBeLessThan(br0.y);
  });

  it('lists hosts, then networks, then containers with their addresses, for screen readers', () => {
    const html = drawList(layoutMap(fixture('user-defined-bridges')), 'Your lab');
    expect(html).toMatch(/<li data-map-node="host:host1">Lab host host1.*<li data-map-node="net:host1\/mynet">bridge network mynet.*<li data-map-node="ctr:host1\/web1@host1\/mynet">container web1: 172\.18\.0\.2/);
  });

  it('escapes every name from the lab', () => {
    const m = withContainer(fixture('user-defined-bridges'), '<img src=x onerror=alert(1)>', '172.18.0.9');
    const l = layoutMap(m);
    expect(drawSvg(l, 'x', true) + drawList(l, 'x')).not.toContain('<img');
  });

  it('names the lab link by its network, not its first address', () => {
    expect(networkOf('10.213.0.66/26')).toBe('10.213.0.64/26');
    expect(networkOf('10.213.0.2/26')).toBe('10.213.0.0/26');
    expect(networkOf('192.168.7.9/16')).toBe('192.168.0.0/16');
    expect(networkOf('fd00::1/64')).toBeNull();
  });

  it("words the drawing and the list in the language it is given, and in English again after", () => {
    const m = fixture('user-defined-bridges');
    const english = layoutMap(m);
    const chinese = layoutMap(m, undefined, messages('zh').mapLayout);
    // The same drawing, other words.
    expect(positions(chinese)).toEqual(positions(english));
    expect(node(english, 'host:host1')!.label).toMatch(/^Lab host host1/);
    expect(node(chinese, 'host:host1')!.label).toMatch(/^实验主机 host1/);
    expect(node(chinese, 'lab')!.title).toBe('实验链路');
    const list = drawList(chinese, 'x');
    for (const word of ['Lab host', 'Container ', 'container ', ' network ', 'lab link']) expect(list).not.toContain(word);
    expect(drawList(layoutMap(m), 'x')).toBe(drawList(english, 'x'));
  });
});
