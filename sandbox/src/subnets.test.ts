import { describe, expect, it } from 'vitest';
import { firstFreeSubnet, formatCidr, gatewayOf, halves, overlaps, parseCidr } from './subnets.ts';

const c = (s: string) => parseCidr(s)!;

describe('subnets', () => {
  it('parses a CIDR and normalises it to its network address', () => {
    expect(formatCidr(c('10.213.7.9/16'))).toBe('10.213.0.0/16');
    expect(parseCidr('10.300.0.0/16')).toBeUndefined();
    expect(parseCidr('not a cidr')).toBeUndefined();
  });

  it('detects overlap between nested and adjacent ranges', () => {
    expect(overlaps(c('10.0.0.0/8'), c('10.213.0.64/26'))).toBe(true);
    expect(overlaps(c('10.213.0.0/26'), c('10.213.0.64/26'))).toBe(false);
  });

  it('hands out the first subnet that no existing network uses', () => {
    const pool = c('10.213.0.0/16');
    expect(formatCidr(firstFreeSubnet(pool, 26, [])!)).toBe('10.213.0.0/26');
    const used = [c('10.213.0.0/26'), c('10.213.0.128/25')];
    expect(formatCidr(firstFreeSubnet(pool, 26, used)!)).toBe('10.213.0.64/26');
    expect(gatewayOf(c('10.213.0.64/26'))).toBe('10.213.0.65');
  });

  it('returns nothing when the pool is exhausted', () => {
    expect(firstFreeSubnet(c('10.213.0.0/25'), 26, [c('10.213.0.0/25')])).toBeUndefined();
  });

  it('splits a subnet into a lower half for lab hosts and an upper half for macvlan containers', () => {
    expect(halves(c('10.213.0.64/26')).map(formatCidr)).toEqual(['10.213.0.64/27', '10.213.0.96/27']);
  });
});
