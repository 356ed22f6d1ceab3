import { describe, expect, it } from 'vitest';
import { clientAddress, parseProxyTrust, type ProxyTrust } from './clientaddress.ts';

const trust = (text: string) => {
  const parsed = parseProxyTrust(text);
  if (typeof parsed === 'string') throw new Error(parsed);
  return parsed as ProxyTrust;
};

describe('the client address behind proxies', () => {
  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('10.1.1.1', '6.6.6.6', trust('false'))).toBe('10.1.1.1');
    expect(clientAddress('::ffff:127.0.0.1', undefined, trust('0'))).toBe('127.0.0.1');
  });

  it('counts trusted hops from the right, so an entry the client wrote itself is never taken', () => {
    // The client sent "X-Forwarded-For: 6.6.6.6"; the one proxy appended the client's real address.
    expect(clientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9', trust('true'))).toBe('203.0.113.9');
    expect(clientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9', trust('1'))).toBe('203.0.113.9');
    // Two proxies: CDN then local proxy.
    expect(clientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9, 198.51.100.4', trust('2'))).toBe('203.0.113.9');
    // Fewer entries than hops: the leftmost there is.
    expect(clientAddress('127.0.0.1', undefined, trust('2'))).toBe('127.0.0.1');
    expect(clientAddress('127.0.0.1', ['6.6.6.6', '203.0.113.9'], trust('1'))).toBe('203.0.113.9');
  });

  it('skips listed proxies from the right and stops at the first address that is not one', () => {
    const t = trust('127.0.0.1, 10.0.0.0/8, ::1');
    expect(clientAddress('127.0.0.1', '6.6.6.6, 203.0.113.9, 10.2.3.4', t)).toBe('203.0.113.9');
    expect(clientAddress('::1', '203.0.113.9', t)).toBe('203.0.113.9');
    // A peer that is not a listed proxy is the client, whatever it claims.
    expect(clientAddress('192.0.2.1', '6.6.6.6', t)).toBe('192.0.2.1');
    // Garbage in the header is not a trusted proxy: it stops the walk and is the key.
    expect(clientAddress('127.0.0.1', 'not-an-ip', t)).toBe('not-an-ip');
    expect(clientAddress('127.0.0.1', 'x'.repeat(500), t).length).toBeLessThanOrEqual(64);
  });

  it('refuses values that are not a hop count or addresses, with a reason', () => {
    expect(parseProxyTrust('lots')).toMatch(/not an address or CIDR/);
    expect(parseProxyTrust('10.0.0.0/99')).toMatch(/prefix/);
    expect(parseProxyTrust('99')).toMatch(/at most 10/);
  });
});
