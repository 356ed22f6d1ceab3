/**
 * The Map tab's details panel: what the learner clicked or focused on the map, in full (the
 * drawing truncates): addresses with a Copy button each, MACs, routes, DNS names and aliases,
 * published ports. Built as DOM with textContent, so nothing from the lab is parsed as markup.
 */
import type { LabMap, MapInterface } from '../../../contract/protocol.ts';
import type { NodeRef } from './layout.ts';

/** How long "Copied" shows on a Copy button before it says Copy again. */
const COPIED_MS = 1500;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function copyButton(value: string): HTMLButtonElement {
  const b = el('button', 'Copy', 'button button-small map-copy');
  b.type = 'button';
  b.setAttribute('aria-label', `Copy ${value}`);
  b.addEventListener('click', () => {
    navigator.clipboard.writeText(value).then(
      () => (b.textContent = 'Copied'),
      () => (b.textContent = 'Copy failed: select the text instead'),
    ).finally(() => setTimeout(() => (b.textContent = 'Copy'), COPIED_MS));
  });
  return b;
}

/** A definition list builder: `row(term, values, copy)`. */
function table(parent: HTMLElement) {
  const dl = el('dl', undefined, 'map-facts');
  parent.append(dl);
  return (term: string, values: readonly (string | null | undefined)[], copy = false) => {
    const vs = values.filter((v): v is string => !!v);
    if (vs.length === 0) return;
    dl.append(el('dt', term));
    for (const v of vs) {
      const dd = el('dd');
      dd.append(el('code', v));
      if (copy) dd.append(' ', copyButton(v.replace(/\/\d+$/, '')));
      dl.append(dd);
    }
  };
}

function interfaces(parent: HTMLElement, list: readonly MapInterface[]) {
  for (const i of list.filter((x) => x.kind !== 'loopback')) {
    parent.append(el('h4', `${i.name} (${i.kind}${i.up ? '' : ', down'})`));
    const row = table(parent);
    row('Addresses', i.addresses, true);
    row('MAC', [i.mac], true);
    row('MTU', [String(i.mtu)]);
    row('Plugged into', [i.master]);
    if (i.peer) row('Other end', [`${i.peer.interface}${i.peer.container ? ` in container ${i.peer.container}` : i.peer.namespace ? ` in namespace ${i.peer.namespace}` : ''}`]);
    if (i.vni !== undefined) row('VNI', [String(i.vni)]);
    if (i.macvlan) row('macvlan', [`mode ${i.macvlan.mode} on ${i.macvlan.parent}`]);
  }
}

function routes(parent: HTMLElement, list: readonly string[]) {
  if (list.length === 0) return;
  parent.append(el('h4', 'Routes'));
  const pre = el('pre', list.join('\n'), 'map-routes');
  parent.append(pre);
}

/**
 * Fill `box` with the details of `ref` in `map`; returns false (and says so) when it is no
 * longer there (removed since it was chosen).
 */
export function showDetails(box: HTMLElement, map: LabMap, ref: NodeRef): boolean {
  box.replaceChildren();
  const heading = (text: string) => box.append(el('h3', text));
  const host = 'host' in ref ? map.hosts.find((h) => h.name === ref.host) : undefined;
  const gone = (what: string) => {
    heading(what);
    box.append(el('p', 'It is no longer in your lab.'));
    return false;
  };
  switch (ref.kind) {
    case 'host': {
      if (!host) return gone(`Host ${ref.host}`);
      heading(`Lab host ${host.name}`);
      const row = table(box);
      row('Lab link address', [host.labAddress], true);
      row('Swarm', [host.swarm && `${host.swarm.role}, ${host.swarm.state}, node ${host.swarm.nodeId}`]);
      row('Docker Engine', [host.engineUp ? 'answering' : 'not answering: what is shown may be out of date']);
      interfaces(box, host.interfaces);
      routes(box, host.routes);
      return true;
    }
    case 'network': {
      const n = map.networks.find((x) => x.key === ref.network);
      if (!n) return gone(`Network ${ref.network.replace(/^.*\//, '')}`);
      heading(`Network ${n.name}`);
      const row = table(box);
      row('Driver', [`${n.driver} (${n.scope})${n.internal ? ', internal' : ''}`]);
      row('On', [n.hosts.join(', ')]);
      row('Subnets', n.subnets.map((s) => s.subnet), true);
      row('Gateways', n.subnets.map((s) => s.gateway), true);
      row('Linux bridge', [n.bridge]);
      row('VNI', n.vni.map(String), true);
      row('Parent', [n.parent && `${n.parent}${n.mode ? `, mode ${n.mode}` : ''}`]);
      return true;
    }
    case 'container': {
      const c = host?.containers.find((x) => x.name === ref.name);
      if (!c) return gone(`Container ${ref.name}`);
      heading(`Container ${c.name}`);
      const row = table(box);
      row('Image', [c.image]);
      row('State', [c.running ? 'running' : 'stopped']);
      row('ID', [c.id], true);
      for (const e of c.endpoints) {
        const net = map.networks.find((n) => n.key === e.network);
        box.append(el('h4', `On ${net?.name ?? e.network}`));
        const r = table(box);
        r('IPv4', [e.ipv4], true);
        r('IPv6', [e.ipv6], true);
        r('MAC', [e.mac], true);
        r('DNS names', e.dnsNames, true);
        r('Aliases', e.aliases, true);
      }
      if (c.ports.length) {
        box.append(el('h4', 'Published ports'));
        table(box)('Ports', c.ports.map((p) => `${p.address}:${p.hostPort} -> ${p.containerPort}/${p.protocol}`));
      }
      interfaces(box, c.interfaces);
      routes(box, c.routes);
      return true;
    }
    case 'namespace': {
      const ns = host?.namespaces.find((x) => x.name === ref.name);
      if (!ns) return gone(`Namespace ${ref.name}`);
      heading(`Namespace ${ns.name} on ${ref.host}`);
      interfaces(box, ns.interfaces);
      routes(box, ns.routes);
      return true;
    }
    case 'interface': {
      const i = host?.interfaces.find((x) => x.name === ref.name);
      if (!i) return gone(`Interface ${ref.name}`);
      heading(`${ref.host}: ${i.name}`);
      interfaces(box, [i]);
      return true;
    }
    case 'lab': {
      heading('The lab link');
      box.append(el('p', "The lab's own network: every lab host's eth0 is on it, and nothing else."));
      table(box)('Hosts', map.hosts.map((h) => h.labAddress && `${h.name} ${h.labAddress}`));
      return true;
    }
  }
}
