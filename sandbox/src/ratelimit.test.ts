import { describe, expect, it } from 'vitest';
import { RateLimiter } from './ratelimit.ts';

describe('rate limiter', () => {
  it('allows a burst of the per-minute number, then one more every 60/N seconds', () => {
    const limiter = new RateLimiter(3);
    const t0 = 1_000_000;
    expect([limiter.take('a', t0), limiter.take('a', t0), limiter.take('a', t0)]).toEqual([0, 0, 0]);
    expect(limiter.take('a', t0)).toBe(20_000);
    expect(limiter.take('a', t0 + 19_999)).toBeGreaterThan(0);
    expect(limiter.take('a', t0 + 20_000)).toBe(0);
  });

  it('keeps clients apart', () => {
    const limiter = new RateLimiter(1);
    expect(limiter.take('a', 0)).toBe(0);
    expect(limiter.take('a', 0)).toBeGreaterThan(0);
    expect(limiter.take('b', 0)).toBe(0);
  });

  it('forgets quiet clients instead of growing without bound', () => {
    const limiter = new RateLimiter(60);
    for (let i = 0; i < 10_050; i++) limiter.take(`client-${i}`, i);
    expect(limiter.size).toBeLessThanOrEqual(10_000);
  });
});
