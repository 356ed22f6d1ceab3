/**
 * Per-client token buckets: how many labs one client address may create in a burst, and how
 * fast that allowance comes back. Pure bookkeeping (no timers); the caller passes the time.
 */

/** Buckets kept at most; beyond it, full ones (clients that have been quiet) are dropped first. */
const MAX_BUCKETS = 10_000;

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  private readonly refillPerMs: number;

  /** `perMinute` requests a minute on average, up to `perMinute` at once. */
  constructor(perMinute: number) {
    this.capacity = perMinute;
    this.refillPerMs = perMinute / 60_000;
  }

  /** Take one token for `key`: 0 when allowed, else the milliseconds until one is available. */
  take(key: string, now = Date.now()): number {
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, at: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.at) * this.refillPerMs);
    bucket.at = now;
    this.buckets.delete(key); // re-insert: Map order is then least recently used first
    this.buckets.set(key, bucket);
    this.prune(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.refillPerMs);
  }

  get size(): number {
    return this.buckets.size;
  }

  private prune(now: number): void {
    if (this.buckets.size <= MAX_BUCKETS) return;
    for (const [key, b] of this.buckets) {
      if (this.buckets.size <= MAX_BUCKETS) break;
      // A bucket that would be full again holds no information: forgetting it changes nothing.
      if (b.tokens + (now - b.at) * this.refillPerMs >= this.capacity) this.buckets.delete(key);
    }
    // Still too many (an address-spraying client): drop the least recently used.
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= MAX_BUCKETS) break;
      this.buckets.delete(key);
    }
  }
}
