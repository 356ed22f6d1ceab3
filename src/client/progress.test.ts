/**
 * The progress store against stand-ins for the browser's globals: a Map-backed localStorage, one
 * that throws on every call (as private modes and full quotas do), and window's events.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

type ProgressModule = typeof import('./progress.ts');

class MapStorage {
  readonly items = new Map<string, string>();
  getItem = (k: string) => this.items.get(k) ?? null;
  setItem = (k: string, v: string) => void this.items.set(k, String(v));
  removeItem = (k: string) => void this.items.delete(k);
}

const refusing = {
  getItem: () => {
    throw new DOMException('denied', 'SecurityError');
  },
  setItem: () => {
    throw new DOMException('full', 'QuotaExceededError');
  },
  removeItem: () => {
    throw new DOMException('denied', 'SecurityError');
  },
};

let window: EventTarget;
let changes: number;

/** A fresh copy of the module (its memory of refused writes is per page) with `storage` as localStorage. */
async function load(storage: unknown): Promise<ProgressModule> {
  vi.resetModules();
  window = new EventTarget();
  vi.stubGlobal('localStorage', storage);
  vi.stubGlobal('addEventListener', window.addEventListener.bind(window));
  vi.stubGlobal('removeEventListener', window.removeEventListener.bind(window));
  vi.stubGlobal('dispatchEvent', window.dispatchEvent.bind(window));
  const m = await import('./progress.ts');
  changes = 0;
  m.onProgressChange(() => changes++);
  return m;
}

beforeEach(() => vi.useFakeTimers({ now: new Date('2026-05-01T10:00:00Z') }));
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('progress', () => {
  it('keeps only the well-formed entries of a stored value and reads anything else as no progress', async () => {
    const { parseProgress } = await load(new MapStorage());
    for (const raw of [null, '', 'not json', '[]', '"text"', '{"visited": [1], "passed": "x"}']) {
      expect(parseProgress(raw)).toEqual({ visited: {}, passed: {} });
    }
    const raw = JSON.stringify({
      visited: { a: '2026-01-01T00:00:00Z', b: 3 },
      passed: { ok: { lesson: 'a', at: 't', extra: true }, noLesson: { at: 't' }, text: 'yes' },
    });
    expect(parseProgress(raw)).toEqual({ visited: { a: '2026-01-01T00:00:00Z' }, passed: { ok: { lesson: 'a', at: 't' } } });
  });

  it('stores visits and passes under its one key, keeps the first pass time and announces each change', async () => {
    const storage = new MapStorage();
    const m = await load(storage);
    m.markVisited('05-bridges');
    m.markPassed('bridges-a', '05-bridges');
    vi.setSystemTime(new Date('2026-05-02T10:00:00Z'));
    m.markPassed('bridges-a', '05-bridges');
    expect([...storage.items.keys()]).toEqual([m.PROGRESS_STORAGE_KEY]);
    expect(m.readProgress()).toEqual({
      visited: { '05-bridges': '2026-05-01T10:00:00.000Z' },
      passed: { 'bridges-a': { lesson: '05-bridges', at: '2026-05-01T10:00:00.000Z' } },
    });
    expect(changes).toBe(3);
    m.resetProgress();
    expect(storage.items.size).toBe(0);
    expect(m.readProgress()).toEqual({ visited: {}, passed: {} });
    expect(changes).toBe(4);
  });

  it('keeps progress in the page when storage throws, so the ticks still show until it is reset', async () => {
    const m = await load(refusing);
    expect(m.readProgress()).toEqual({ visited: {}, passed: {} });
    m.markVisited('05-bridges');
    m.markPassed('bridges-a', '05-bridges');
    expect(m.isVisitedIn(m.readProgress(), '05-bridges')).toBe(true);
    expect(m.isPassedIn(m.readProgress(), 'bridges-a')).toBe(true);
    m.resetProgress();
    expect(m.readProgress()).toEqual({ visited: {}, passed: {} });
    expect(changes).toBe(3);
  });

  it("follows other tabs: a storage event for its key or for clear() is a change, one for another key isn't", async () => {
    const m = await load(new MapStorage());
    const storageEvent = (key: string | null) => window.dispatchEvent(Object.assign(new Event('storage'), { key }));
    storageEvent('dnl-theme');
    expect(changes).toBe(0);
    storageEvent(m.PROGRESS_STORAGE_KEY);
    storageEvent(null);
    expect(changes).toBe(2);
  });
});
