/**
 * Web previews: a web server a learner publishes on a lab host (`docker run -p 8080:80 web` on
 * host1), opened in the browser on an origin of its own. Each published port of a lab gets a
 * preview id (128 random bits, base32: one DNS label), minted when the port is first seen and
 * bound to that lab, host and port until the lab ends; its address is
 * `http://<id>.localhost:<PORT>/` (browsers resolve *.localhost to loopback) or
 * `https://<id>.<LAB_PREVIEW_DOMAIN>/`. Being another origin is the point: a page a learner's
 * container serves can never read the course's storage or drive its API (which answers no other
 * origin). The id is the only credential, so it must not be guessable; it is not a secret from
 * the learner, whose lab it opens anyway. With cells (LAB_CELL), the id ends with `-<cell>`, so
 * any cell a preview request reaches knows where its lab is (cells.ts forwards it there).
 *
 * This module owns the ids, which request belongs to a preview (by its Host header: server.ts
 * sends those here and nowhere else), the links a lab's page is shown (from following each lab
 * host's engine, hostwatch.ts, while the page listens) and the limits on relays (relay.ts) per
 * lab; preview-proxy.ts forwards the requests.
 *
 * Ids are kept in memory only: a runner restart gives a lab's ports new ids, and the page's
 * links follow as soon as it reconnects (an open preview tab then needs its new link). Keeping
 * them on disk would keep one more credential at rest, for tabs that a reload from the panel
 * restores anyway.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { isIPv4 } from 'node:net';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { PreviewLink } from '../../contract/protocol.ts';
import type { Config } from './config.ts';
import { watchHost, type HostWatch, type InnerContainer } from './hostwatch.ts';
import { quote, refuseSocket } from './http-io.ts';
import type { Lab, LabHost, LabManager } from './labs.ts';
import { PreviewError, proxyRequest, proxyUpgrade, sendText } from './preview-proxy.ts';
import { Relays } from './relay.ts';

/** 128 bits: guessing one of a room's ids takes longer than any lab lives. */
const ID_BYTES = 16;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
/**
 * A preview id: 26 base32 characters, lowercase (DNS names are case-insensitive, so the id is
 * too), then `-<cell>` with LAB_CELL (at most 52 characters: one DNS label holds 63).
 */
export const PREVIEW_ID_PATTERN = /^[a-z2-7]{26}(?:-([a-z0-9]{1,25}))?$/;
/**
 * Previews one lab may have (distinct host and port pairs, over its life): a lesson publishes a
 * few; `-p 8000-9000:8000-9000` would publish a thousand, and the panel shows a short list.
 */
const MAX_PREVIEWS_PER_LAB = 32;
/**
 * Connections into one lab's previews at once (each an exec in a lab host): a browser opens
 * up to 6 per preview origin, so this is a few tabs' worth; past it a request gets a 503.
 */
const MAX_RELAYS_PER_LAB = 32;

const NOT_FOUND = 'There is no preview at this address: the link is wrong, or the lab it belonged to has ended. Open previews from the lab panel of a running lab.';

/** The cell a preview id names, or null (no cell: this machine's). */
export function cellOfPreviewId(id: string): string | null {
  return PREVIEW_ID_PATTERN.exec(id)?.[1] ?? null;
}

/** A new preview id: RFC 4648 base32 of 128 random bits, lowercase, no padding; then the cell's name when there is one. */
export function newPreviewId(bytes: Uint8Array = randomBytes(ID_BYTES), cell?: string): string {
  let out = '';
  let value = 0;
  let bits = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xfff;
    bits += 8;
    for (; bits >= 5; bits -= 5) out += BASE32[(value >>> (bits - 5)) & 31];
  }
  const id = bits > 0 ? out + BASE32[(value << (5 - bits)) & 31] : out;
  return cell ? `${id}-${cell}` : id;
}

/**
 * Where to connect inside the lab host for a port published on these addresses: its loopback
 * when published on all addresses (docker-proxy listens there) or on loopback itself, otherwise
 * the one IPv4 address it is published on (lab networks are IPv4 only). Undefined when none is.
 */
export function relayAddress(addresses: readonly string[]): string | undefined {
  if (addresses.some((a) => ['0.0.0.0', '', '::', '127.0.0.1', '::1'].includes(a))) return '127.0.0.1';
  return addresses.find((a) => isIPv4(a));
}

/**
 * The preview id a Host header names: undefined when the name is not under the preview domain
 * (the course's, then), null when it is but its first label is no id (a 404, never the course).
 */
export function previewIdOf(host: string | undefined, domain: string): string | null | undefined {
  if (!host) return undefined;
  const name = host.toLowerCase().replace(/:\d*$/, '').replace(/\.$/, '');
  if (!name.endsWith(`.${domain}`)) return undefined;
  const label = name.slice(0, -domain.length - 1);
  return PREVIEW_ID_PATTERN.test(label) ? label : null;
}

interface Preview {
  id: string;
  labId: string;
  host: LabHost;
  port: number;
}

/** What this module holds for one lab, from its first preview or page until the lab ends. */
interface LabPreviews {
  /** By `host/port`. */
  previews: Map<string, Preview>;
  /** From each host's latest listing: its published TCP ports, with where to connect for each. */
  published: Map<string, Map<number, string>>;
  relays: Set<Duplex>;
  /** Relays being opened: they count against the limit too. */
  opening: number;
  /** One per host while the lab's page listens. */
  watches?: HostWatch[];
}

export interface PreviewsOptions {
  docker: Docker;
  labs: LabManager;
  config: Pick<Config, 'LAB_PREVIEW_DOMAIN' | 'LAB_CELL'>;
  /** The port the server listens on, for `*.localhost` addresses. */
  port: () => number;
  /** The lab's links may have changed (labevents.ts sends them if they did). */
  changed: (labId: string) => void;
  log: (line: string) => void;
}

export class Previews {
  readonly #opts: PreviewsOptions;
  readonly #domain: string;
  readonly #relays: Relays;
  readonly #byId = new Map<string, Preview>();
  readonly #labs = new Map<string, LabPreviews>();

  constructor(opts: PreviewsOptions) {
    this.#opts = opts;
    this.#domain = opts.config.LAB_PREVIEW_DOMAIN ?? 'localhost';
    this.#relays = new Relays(opts.docker);
    opts.labs.onRemoved((lab) => this.#forget(lab));
  }

  /** Whether the request is for a preview (by its Host): then only handle() or upgrade() may answer it. */
  claims(req: http.IncomingMessage): boolean {
    return previewIdOf(req.headers.host, this.#domain) !== undefined;
  }

  /** Answer a preview's request with its server's answer, or a 404 sentence. */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const found = this.#find(req);
    if (typeof found === 'string') return sendText(res, found === NOT_FOUND ? 404 : 400, found);
    proxyRequest(req, res, () => this.#connect(found), `${found.host.name}:${found.port}`);
  }

  /** Pass a preview's upgrade (a WebSocket) on, or refuse it with 404. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const found = this.#find(req);
    if (typeof found === 'string') return refuseSocket(socket, found === NOT_FOUND ? 404 : 400, found);
    proxyUpgrade(req, socket, head, () => this.#connect(found), `${found.host.name}:${found.port}`);
  }

  /** Follow the lab's hosts while its page listens: its links change as its containers publish ports. */
  follow(lab: Lab): void {
    const state = this.#stateOf(lab.id);
    state.watches ??= lab.hosts.map((host) => watchHost(this.#opts.docker, host.containerName, (containers) => this.#listed(lab, host, containers)));
  }

  unfollow(lab: Lab): void {
    const state = this.#labs.get(lab.id);
    if (state) this.#unfollow(state);
  }

  /** The lab's preview links now, in host order and then by port. */
  links(lab: Lab): PreviewLink[] {
    const state = this.#labs.get(lab.id);
    if (!state) return [];
    const links: PreviewLink[] = [];
    for (const host of lab.hosts) {
      for (const port of state.published.get(host.name)?.keys() ?? []) {
        const preview = this.#previewFor(state, lab.id, host, port);
        if (preview) links.push({ host: host.name, port, url: this.#url(preview.id) });
      }
    }
    return links;
  }

  /** Stop following every lab and close every relay (the runner stops). */
  close(): void {
    for (const state of this.#labs.values()) this.#drop(state);
    this.#relays.close();
  }

  /** The request's preview, or the sentence it is refused with. */
  #find(req: http.IncomingMessage): Preview | string {
    const id = previewIdOf(req.headers.host, this.#domain);
    const preview = id ? this.#byId.get(id) : undefined;
    if (!preview) return NOT_FOUND;
    // Origin-form only: a proxy-style absolute URL ("GET http://elsewhere/") is no request for this preview.
    if (!req.url?.startsWith('/')) {
      this.#opts.log(`refused a preview request for ${quote(req.url)} from ${req.socket.remoteAddress}: not a path`);
      return 'A preview takes requests for a path on its own address only.';
    }
    return preview;
  }

  #url(id: string): string {
    const domain = this.#opts.config.LAB_PREVIEW_DOMAIN;
    return domain ? `https://${id}.${domain}/` : `http://${id}.localhost:${this.#opts.port()}/`;
  }

  #stateOf(labId: string): LabPreviews {
    let state = this.#labs.get(labId);
    if (!state) this.#labs.set(labId, (state = { previews: new Map(), published: new Map(), relays: new Set(), opening: 0 }));
    return state;
  }

  /** The preview of this host and port, minted now if it is new and the lab has room for it. */
  #previewFor(state: LabPreviews, labId: string, host: LabHost, port: number): Preview | undefined {
    const key = `${host.name}/${port}`;
    let preview = state.previews.get(key);
    if (!preview && state.previews.size < MAX_PREVIEWS_PER_LAB) {
      preview = { id: newPreviewId(undefined, this.#opts.config.LAB_CELL), labId, host, port };
      state.previews.set(key, preview);
      this.#byId.set(preview.id, preview);
    }
    return preview;
  }

  /** A host's new listing: its published TCP ports. */
  #listed(lab: Lab, host: LabHost, containers: InnerContainer[]): void {
    const state = this.#labs.get(lab.id);
    if (!state?.watches) return;
    const addresses = new Map<number, string[]>();
    for (const p of containers.flatMap((c) => c.ports)) {
      if (p.protocol === 'tcp') addresses.set(p.port, [...(addresses.get(p.port) ?? []), p.address]);
    }
    const ports = new Map<number, string>();
    // The lowest ports only: a range published at once must not make every state sent a thousand links long.
    for (const port of [...addresses.keys()].sort((a, b) => a - b).slice(0, MAX_PREVIEWS_PER_LAB)) {
      const address = relayAddress(addresses.get(port)!);
      if (address) ports.set(port, address);
    }
    state.published.set(host.name, ports);
    this.#opts.changed(lab.id);
  }

  /** A relay into the preview's lab host, within the lab's limit. */
  async #connect(preview: Preview): Promise<Duplex> {
    const state = this.#labs.get(preview.labId);
    if (!state) throw new PreviewError(404, NOT_FOUND);
    if (state.relays.size + state.opening >= MAX_RELAYS_PER_LAB) {
      throw new PreviewError(503, `This lab has ${MAX_RELAYS_PER_LAB} preview connections open, the most it may have at once. Close preview tabs you no longer use, then reload.`);
    }
    const address = state.published.get(preview.host.name)?.get(preview.port) ?? '127.0.0.1';
    state.opening++;
    let relay: Duplex;
    try {
      relay = await this.#relays.open({ containerName: preview.host.containerName, address, port: preview.port });
    } finally {
      state.opening--;
    }
    // The lab ended while the relay opened.
    if (this.#labs.get(preview.labId) !== state) {
      relay.destroy();
      throw new PreviewError(404, NOT_FOUND);
    }
    state.relays.add(relay);
    relay.once('close', () => state.relays.delete(relay));
    return relay;
  }

  #unfollow(state: LabPreviews): void {
    for (const watch of state.watches ?? []) watch.stop();
    state.watches = undefined;
  }

  #drop(state: LabPreviews): void {
    this.#unfollow(state);
    for (const relay of state.relays) relay.destroy();
    state.relays.clear();
  }

  /** The lab ended: its ids answer 404 from now on, and nothing of it keeps running. */
  #forget(lab: Lab): void {
    const state = this.#labs.get(lab.id);
    if (!state) return;
    this.#labs.delete(lab.id);
    this.#drop(state);
    for (const preview of state.previews.values()) this.#byId.delete(preview.id);
    for (const host of lab.hosts) this.#relays.drop(host.containerName);
  }
}
