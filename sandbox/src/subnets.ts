/**
 * Carving one small subnet per lab out of a configured range. An engine's default address
 * pools run out after about 30 networks, so every lab network gets an explicit subnet instead.
 * Pure functions; the caller lists the subnets already in use.
 */

export interface Cidr {
  base: number; // network address as an unsigned 32-bit number
  prefix: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const addr = ((octets[0] << 24) >>> 0) + (octets[1] << 16) + (octets[2] << 8) + octets[3];
  return { base: (addr & mask(prefix)) >>> 0, prefix };
}

const mask = (prefix: number) => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
const size = (prefix: number) => 2 ** (32 - prefix);

export function formatIp(addr: number): string {
  return [24, 16, 8, 0].map((s) => (addr >>> s) & 255).join('.');
}

export const formatCidr = (c: Cidr) => `${formatIp(c.base)}/${c.prefix}`;

export function overlaps(a: Cidr, b: Cidr): boolean {
  const aEnd = a.base + size(a.prefix);
  const bEnd = b.base + size(b.prefix);
  return a.base < bEnd && b.base < aEnd;
}

/** The first subnet of `prefix` inside `pool` that overlaps none of `used`, or undefined when full. */
export function firstFreeSubnet(pool: Cidr, prefix: number, used: Cidr[]): Cidr | undefined {
  if (prefix < pool.prefix) return undefined;
  const step = size(prefix);
  const end = pool.base + size(pool.prefix);
  for (let base = pool.base; base < end; base += step) {
    const candidate = { base, prefix };
    if (!used.some((u) => overlaps(candidate, u))) return candidate;
  }
  return undefined;
}

/** Docker takes the first usable address as the gateway; we name it explicitly. */
export const gatewayOf = (c: Cidr) => formatIp(c.base + 1);

/** The two halves of a subnet: lab hosts get addresses from the lower, macvlan containers the upper. */
export function halves(c: Cidr): [Cidr, Cidr] {
  const prefix = c.prefix + 1;
  return [{ base: c.base, prefix }, { base: c.base + size(prefix), prefix }];
}
