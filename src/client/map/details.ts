/**
 * The Map tab's details panel: what the learner clicked or focused on the map, in full (the
 * drawing truncates): addresses with a Copy button each, MACs, routes, DNS names and aliases,
 * published ports. Built as DOM with textContent, so nothing from the lab is parsed as markup.
 */
import type { LabMap, MapInterface } from '../../../contract/protocol.ts';
import type { NodeRef } from './layout.ts';
import { lab } from '../../i18n/en/page.ts';
import { map } from '../../i18n/en/map.ts';
import { text } from '../../i18n/page.ts';

/** The map's words, in the page's language (src/i18n/page.ts), read when said. */
const T = () => text(map, (m) => m.map);

/** How long "Copied" shows on a Copy button before it says Copy again. */
const COPIED_MS = 1500;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, className?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

function copyButton(value: string): HTMLButtonElement {
  const b = el('button', T().copy, 'button button-small map-copy');
  b.type = 'button';
  b.setAttribute('aria-label', T().copyValue(value));
  b.addEventListener('click', () => {
    navigator.clipboard.writeText(value).then(
      () => (b.textContent = T().copied),
      () => (b.textContent = T().copyFailed),
    ).finally(() => setTimeout(() => (b.textContent = T().copy), COPIED_MS));
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
    parent.append(el('h4', (i.up ? T().interfaceTitle : T().interfaceTitleDown)(i.name, i.kind)));
    const row = table(parent);
    row(T().addresses, i.addresses, true);
    row(T().mac, [i.mac], true);
    row(T().mtu, [String(i.mtu)]);
    row(T().pluggedInto, [i.master]);
    const peer = i.peer;
    if (peer) row(T().otherEnd, [peer.container ? T().inContainer(peer.interface, peer.container) : peer.namespace ? T().inNamespace(peer.interface, peer.namespace) : peer.interface]);
    if (i.vni !== undefined) row(T().vni, [String(i.vni)]);
    if (i.macvlan) row(T().macvlan, [T().macvlanMode(i.macvlan.mode, i.macvlan.parent)]);
  }
}

function routes(parent: HTMLElement, list: readonly string[]) {
  if (list.length === 0) return;
  parent.append(el('h4', T().routes));
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
    box.append(el('p', T().noLonger));
    return false;
  };
  switch (ref.kind) {
    case 'host': {
      if (!host) return gone(T().host(ref.host));
      heading(T().labHost(host.name));
      const row = table(box);
      row(T().labLinkAddress, [host.labAddress], true);
      row(T().swarm, [host.swarm && T().swarmValue(host.swarm.role, host.swarm.state, host.swarm.nodeId)]);
      row(T().dockerEngine, [host.engineUp ? T().answering : T().notAnswering]);
      interfaces(box, host.interfaces);
      routes(box, host.routes);
      return true;
    }
    case 'network': {
      const n = map.networks.find((x) => x.key === ref.network);
      if (!n) return gone(T().network(ref.network.replace(/^.*\//, '')));
      heading(T().network(n.name));
      const row = table(box);
      row(T().driver, [(n.internal ? T().driverValueInternal : T().driverValue)(n.driver, n.scope)]);
      row(T().on, [n.hosts.join(text(lab, (m) => m.lab).listSeparator)]);
      row(T().subnets, n.subnets.map((s) => s.subnet), true);
      row(T().gateways, n.subnets.map((s) => s.gateway), true);
      row(T().linuxBridge, [n.bridge]);
      row(T().vni, n.vni.map(String), true);
      row(T().parent, [n.parent && (n.mode ? T().parentMode(n.parent, n.mode) : n.parent)]);
      return true;
    }
    case 'container': {
      const c = host?.containers.find((x) => x.name === ref.name);
      if (!c) return gone(T().container(ref.name));
      heading(T().container(c.name));
      const row = table(box);
      row(T().image, [c.image]);
      row(T().state, [c.running ? T().running : T().stopped]);
      row(T().id, [c.id], true);
      for (const e of c.endpoints) {
        const net = map.networks.find((n) => n.key === e.network);
        box.append(el('h4', T().onNetwork(net?.name ?? e.network)));
        const r = table(box);
        r(T().ipv4, [e.ipv4], true);
        r(T().ipv6, [e.ipv6], true);
        r(T().mac, [e.mac], true);
        r(T().dnsNames, e.dnsNames, true);
        r(T().aliases, e.aliases, true);
      }
      if (c.ports.length) {
        box.append(el('h4', T().publishedPorts));
        table(box)(T().ports, c.ports.map((p) => `${p.address}:${p.hostPort} -> ${p.containerPort}/${p.protocol}`));
      }
      interfaces(box, c.interfaces);
      routes(box, c.routes);
      return true;
    }
    case 'namespace': {
      const ns = host?.namespaces.find((x) => x.name === ref.name);
      if (!ns) return gone(T().namespace(ref.name));
      heading(T().namespaceOn(ns.name, ref.host));
      interfaces(box, ns.interfaces);
      routes(box, ns.routes);
      return true;
    }
    case 'interface': {
      const i = host?.interfaces.find((x) => x.name === ref.name);
      if (!i) return gone(T().interface(ref.name));
      heading(T().interfaceOf(ref.host, i.name));
      interfaces(box, [i]);
      return true;
    }
    case 'lab': {
      heading(T().labLink);
      box.append(el('p', T().labLinkText));
      table(box)(T().hosts, map.hosts.map((h) => h.labAddress && `${h.name} ${h.labAddress}`));
      return true;
    }
  }
}
