/**
 * Who is asking: the address a request's per-address limits are charged to. Without a trusted
 * proxy it is the socket's own address. Behind proxies, `X-Forwarded-For` is read from the
 * right, because each proxy appends the address it saw and only the entries added by proxies
 * we trust are true: whatever a client wrote itself stands further left, so taking the leftmost
 * entry would let any client choose its own address and escape every per-address limit.
 *
 * It does not decide anything: callers apply the limits.
 */
import { BlockList, isIP } from 'node:net';

/** How far to believe `X-Forwarded-For` (LAB_TRUST_PROXY). */
export type ProxyTrust =
  /** Believe this many proxies in front of the runner (0: none, ignore the header). */
  | { hops: number }
  /** Believe the proxies at these addresses or networks, wherever they stand in the chain. */
  | { proxies: BlockList; text: string };

/** Longest address kept as a key; a longer "address" in a forwarded header is not one. */
const MAX_ADDRESS_CHARS = 64;

/**
 * Parse LAB_TRUST_PROXY: `false`/`0` (no proxy), `true` (one proxy, the usual reverse proxy on
 * the same machine), a number of hops, or a comma-separated list of proxy addresses and CIDRs.
 * Returns a sentence instead when the value is none of these.
 */
export function parseProxyTrust(text: string): ProxyTrust | string {
  const value = text.trim().toLowerCase();
  if (value === '' || value === 'false') return { hops: 0 };
  if (value === 'true') return { hops: 1 };
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return hops <= 10 ? { hops } : 'must be at most 10 hops';
  }
  const proxies = new BlockList();
  for (const item of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [address, prefix, extra] = item.split('/');
    const family = isIP(address ?? '');
    if (!family || extra !== undefined) return `"${item}" is not an address or CIDR (e.g. 127.0.0.1 or 10.0.0.0/8)`;
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      proxies.addAddress(address!, type);
      continue;
    }
    const bits = Number(prefix);
    if (!/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) return `"${item}" has an invalid prefix length`;
    proxies.addSubnet(address!, bits, type);
  }
  return { proxies, text: value };
}

/** `::ffff:1.2.3.4` (how a dual-stack socket shows an IPv4 peer) as `1.2.3.4`. */
export function normalizeAddress(address: string): string {
  const trimmed = address.trim().slice(0, MAX_ADDRESS_CHARS);
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  return (mapped ? mapped[1]! : trimmed).toLowerCase();
}

function isTrustedProxy(address: string, proxies: BlockList): boolean {
  const family = isIP(address);
  return family !== 0 && proxies.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The client's address: the socket's peer, or, behind trusted proxies, the first entry of
 * `X-Forwarded-For` counted from the right that was not added by a proxy we trust.
 */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | string[] | undefined, trust: ProxyTrust): string {
  const peer = normalizeAddress(socketAddress ?? 'unknown');
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  // The chain as the last proxy saw it: client, proxies..., and then the peer that connected to us.
  const chain = [...header.split(',').map(normalizeAddress).filter(Boolean), peer];
  if ('hops' in trust) {
    // The peer is proxy 1, the rightmost header entry proxy 2 (if there are two), and so on.
    return chain[Math.max(0, chain.length - 1 - trust.hops)]!;
  }
  for (let i = chain.length - 1; i >= 0; i--) {
    if (!isTrustedProxy(chain[i]!, trust.proxies)) return chain[i]!;
  }
  return chain[0]!;
}
