/**
 * The warm pool's bookkeeping, with builds that are plain counters (the pool is generic: what a
 * lab is, and how it is built, is given to it). The same behaviour against real labs is in
 * sandbox/test/pool.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { WarmPool } from './pool.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));

function counterPool(size: number, shapes = ['a', 'b'], build?: (shape: string) => Promise<string>) {
  let n = 0;
  const discarded: string[] = [];
  const logs: string[] = [];
  const pool = new WarmPool<string>({
    size,
    shapes,
    build: build ?? (async (shape) => `${shape}${n++}`),
    waitReady: async () => {},
    discard: async (item) => void discarded.push(item),
    log: (line) => logs.push(line),
  });
  return { pool, discarded, logs, built: () => n };
}

async function settle(pool: WarmPool<string>): Promise<void> {
  for (let i = 0; i < 50 && pool.status().starting > 0; i++) await tick();
}

describe('the warm pool', () => {
  it('fills every shape to its size and hands each lab out once, even to takes in the same tick', async () => {
    const { pool } = counterPool(3);
    pool.start();
    await settle(pool);
    expect(pool.status()).toEqual({ size: 3, ready: 6, starting: 0 });
    const taken = [pool.take('a'), pool.take('a'), pool.take('a'), pool.take('a')];
    expect(taken.filter(Boolean)).toHaveLength(3);
    expect(new Set(taken.filter(Boolean)).size).toBe(3);
    expect(taken[3]).toBeUndefined();
    await settle(pool);
    // Refilled with new labs, none of them one already handed out.
    expect(pool.status().ready).toBe(6);
    const again = [pool.take('a'), pool.take('a'), pool.take('a')];
    expect(again.some((item) => taken.includes(item))).toBe(false);
    await pool.drain();
  });

  it('builds nothing at size 0, and take gives nothing', async () => {
    const { pool, built } = counterPool(0);
    pool.start();
    await settle(pool);
    expect(pool.take('a')).toBeUndefined();
    expect(built()).toBe(0);
    expect(pool.status()).toEqual({ size: 0, ready: 0, starting: 0 });
  });

  it('says once that it cannot build, instead of retrying in a tight loop', async () => {
    let calls = 0;
    const { pool, logs } = counterPool(2, ['a'], async () => {
      calls++;
      throw new Error('engine down');
    });
    pool.start();
    for (let i = 0; i < 20; i++) await tick();
    // Two builds at once failed; the next try waits for the retry timer.
    expect(calls).toBe(2);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/could not build a a lab: engine down/);
    await pool.drain();
  });

  it('removes the labs it holds when drained, and builds no more', async () => {
    const { pool, discarded, built } = counterPool(2, ['a']);
    pool.start();
    await settle(pool);
    await pool.drain();
    expect(discarded.sort()).toEqual(['a0', 'a1']);
    expect(pool.take('a')).toBeUndefined();
    const before = built();
    await tick();
    expect(built()).toBe(before);
  });
});
