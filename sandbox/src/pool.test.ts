/**
 * The warm pool's bookkeeping, with builds that are plain counters (the pool is generic: what a
 * lab is, and how it is built, is given to it). The same behaviour against real labs is in
 * sandbox/test/pool.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { WarmPool } from './pool.ts';

const tick = () => new Promise((r) => setTimeout(r, 0));

/** A pool of counters; `size` is every shape's, or each shape's own (a map). */
function counterPool(size: number | ReadonlyMap<string, number>, shapes = ['a', 'b'], build?: (shape: string) => Promise<string>) {
  let n = 0;
  const discarded: string[] = [];
  const logs: string[] = [];
  const pool = new WarmPool<string>({
    shapes: typeof size === 'number' ? new Map(shapes.map((s) => [s, size])) : size,
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
    expect(pool.status()).toMatchObject({ size: 3, ready: 6, starting: 0 });
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
    expect(pool.status()).toMatchObject({ size: 0, ready: 0, starting: 0 });
  });

  it('keeps each shape at its own size: one of size 0 (another engine) is built only for a room that reserved it', async () => {
    const { pool, built } = counterPool(new Map([['a@28', 2], ['a@26', 0]]));
    pool.start();
    await settle(pool);
    expect(pool.status()).toMatchObject({ size: 2, ready: 2 });
    expect(pool.status().shapes.map((s) => [s.shape, s.size, s.ready])).toEqual([['a@28', 2, 2], ['a@26', 0, 0]]);
    expect(pool.take('a@26')).toBeUndefined();
    expect(built()).toBe(2);
    pool.reserve('a@26', { count: 3, until: Date.now() + 60_000, label: 'lesson-a' });
    await settle(pool);
    expect(pool.status().shapes.map((s) => [s.shape, s.ready])).toEqual([['a@28', 2], ['a@26', 3]]);
    pool.cancel('a@26');
    await settle(pool);
    expect(pool.status().shapes.map((s) => [s.shape, s.ready])).toEqual([['a@28', 2], ['a@26', 0]]);
    await pool.drain();
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

describe('a reservation for a room', () => {
  const shapeOf = (pool: WarmPool<string>, shape: string) => pool.status().shapes.find((s) => s.shape === shape)!;
  const later = (ms: number) => Date.now() + ms;

  it('grows that shape to the count, leaves the others at the size, and reports it', async () => {
    const { pool } = counterPool(1);
    pool.start();
    pool.reserve('a', { count: 5, until: later(60_000), label: 'lesson-a' });
    await settle(pool);
    expect(shapeOf(pool, 'a')).toEqual({ shape: 'a', size: 1, ready: 5, starting: 0, reservation: { count: 5, until: expect.any(Number), label: 'lesson-a', taken: 0 } });
    expect(shapeOf(pool, 'b')).toEqual({ shape: 'b', size: 1, ready: 1, starting: 0 });
    expect(pool.status()).toMatchObject({ size: 1, ready: 6, starting: 0 });
    await pool.drain();
  });

  it('is used up by the labs taken: after the room took its labs the pool is back at its size, not building them again', async () => {
    const { pool, built } = counterPool(1, ['a']);
    pool.start();
    pool.reserve('a', { count: 4, until: later(60_000), label: 'lesson-a' });
    await settle(pool);
    expect(built()).toBe(4);
    for (let i = 0; i < 2; i++) expect(pool.take('a')).toBeDefined();
    await settle(pool);
    // Two left for the two learners still to come: nothing built.
    expect(built()).toBe(4);
    expect(shapeOf(pool, 'a')).toMatchObject({ ready: 2, reservation: { taken: 2 } });
    for (let i = 0; i < 2; i++) expect(pool.take('a')).toBeDefined();
    await settle(pool);
    // The room took all four: the pool builds back to its size (1), not to 4.
    expect(built()).toBe(5);
    expect(shapeOf(pool, 'a')).toMatchObject({ ready: 1, reservation: { taken: 4 } });
    await pool.drain();
  });

  it('counts a learner whose lab was built on the spot (the pool was empty) as one of the room', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let n = 0;
    const { pool, discarded } = counterPool(0, ['a'], async (shape) => {
      await gate;
      return `${shape}${n++}`;
    });
    pool.start();
    pool.reserve('a', { count: 3, until: later(60_000), label: 'lesson-a' });
    // Three learners arrive before any lab is built: all three are served elsewhere (on the spot).
    for (let i = 0; i < 3; i++) expect(pool.take('a')).toBeUndefined();
    release();
    await settle(pool);
    // The two builds under way finish into a pool that no longer needs them: removed, none kept.
    expect(shapeOf(pool, 'a')).toMatchObject({ ready: 0, starting: 0, reservation: { taken: 3 } });
    expect(discarded).toHaveLength(2);
    await pool.drain();
  });

  it('shrinks back to the size when cancelled, removing the labs above it', async () => {
    const { pool, discarded, logs } = counterPool(1, ['a']);
    pool.start();
    pool.reserve('a', { count: 4, until: later(60_000), label: 'lesson-a' });
    await settle(pool);
    pool.take('a');
    expect(pool.cancel('a')).toBe(true);
    expect(shapeOf(pool, 'a')).toEqual({ shape: 'a', size: 1, ready: 1, starting: 0 });
    expect(discarded).toHaveLength(2);
    expect(logs.at(-1)).toBe('warm pool: the reservation of 4 a labs for lesson-a ended (1 taken); keeping 1');
    expect(pool.cancel('a')).toBe(false);
    await pool.drain();
  });

  it('ends by itself when its time is up', async () => {
    const { pool, discarded } = counterPool(0, ['a']);
    pool.start();
    pool.reserve('a', { count: 3, until: later(100), label: 'lesson-a' });
    await settle(pool);
    expect(shapeOf(pool, 'a').ready).toBe(3);
    await new Promise((r) => setTimeout(r, 150));
    expect(shapeOf(pool, 'a')).toEqual({ shape: 'a', size: 0, ready: 0, starting: 0 });
    expect(discarded).toHaveLength(3);
  });

  it('is replaced by a new one for the same shape, which starts counting anew', async () => {
    const { pool, discarded } = counterPool(0, ['a']);
    pool.start();
    pool.reserve('a', { count: 4, until: later(60_000), label: 'lesson-a' });
    await settle(pool);
    pool.take('a');
    pool.reserve('a', { count: 2, until: later(60_000), label: 'lesson-a2' });
    expect(shapeOf(pool, 'a')).toMatchObject({ ready: 2, reservation: { count: 2, taken: 0, label: 'lesson-a2' } });
    expect(discarded).toHaveLength(1);
    await pool.drain();
  });

  it('keeps a ready lab rather than one still being built when a reservation shrinks', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let n = 0;
    const { pool, discarded } = counterPool(0, ['a'], async (shape) => {
      const item = `${shape}${n++}`;
      if (item !== 'a0') await gate;
      return item;
    });
    pool.start();
    pool.reserve('a', { count: 2, until: later(60_000), label: 'lesson-a' });
    for (let i = 0; i < 5; i++) await tick();
    expect(shapeOf(pool, 'a')).toMatchObject({ ready: 1, starting: 1 });
    pool.reserve('a', { count: 1, until: later(60_000), label: 'lesson-a' });
    release();
    await settle(pool);
    expect(discarded).toEqual(['a1']);
    expect(pool.take('a')).toBe('a0');
    await pool.drain();
  });

  it('removes labs that finish starting after the reservation ended, and refuses an unknown shape', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const pool = new WarmPool<string>({
      shapes: new Map([['a', 0]]),
      build: async (shape) => shape,
      waitReady: () => gate,
      discard: async () => {},
      log: () => {},
    });
    pool.start();
    pool.reserve('a', { count: 2, until: later(60_000), label: 'lesson-a' });
    await tick();
    expect(shapeOf(pool, 'a')).toMatchObject({ ready: 0, starting: 2 });
    pool.cancel('a');
    release();
    await settle(pool);
    expect(shapeOf(pool, 'a')).toMatchObject({ ready: 0, starting: 0 });
    expect(() => pool.reserve('z', { count: 1, until: later(1000), label: 'z' })).toThrow(/no lesson has a lab of shape z/);
    await pool.drain();
  });
});
