import { describe, expect, it } from 'vitest';
import { readyTimeout } from './api.ts';

describe('how long a page waits for a lab shell', () => {
  it('waits 90 s when the runner says nothing (a lab remembered from an older runner)', () => {
    expect(readyTimeout({})).toBe(90_000);
  });

  it('waits 90 s when the runner waits its default 60 s', () => {
    expect(readyTimeout({ readyTimeoutSeconds: 60 })).toBe(90_000);
  });

  it('waits 30 s longer than a runner raised for slow hosts, so the runner speaks first', () => {
    expect(readyTimeout({ readyTimeoutSeconds: 300 })).toBe(330_000);
  });

  it('ignores a value that is not a number of seconds', () => {
    expect(readyTimeout({ readyTimeoutSeconds: Number.NaN })).toBe(90_000);
    expect(readyTimeout({ readyTimeoutSeconds: 'x' as unknown as number })).toBe(90_000);
  });
});
