import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ACK_IDLE_FLUSH_MS, AckBatcher } from './flow.ts';
import { FLOW } from './protocol.ts';

describe('acknowledging rendered output', () => {
  let sent: number[];
  let acks: AckBatcher;
  beforeEach(() => {
    vi.useFakeTimers();
    sent = [];
    acks = new AckBatcher((bytes) => sent.push(bytes));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends a full batch at once, and the rest of a burst after the idle delay', () => {
    const rendered = acks.counter();
    rendered(FLOW.ACK_BATCH - 10);
    expect(sent).toEqual([]);
    rendered(30);
    expect(sent).toEqual([FLOW.ACK_BATCH + 20]);
    rendered(5);
    vi.advanceTimersByTime(ACK_IDLE_FLUSH_MS - 1);
    expect(sent).toEqual([FLOW.ACK_BATCH + 20]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual([FLOW.ACK_BATCH + 20, 5]);
  });

  it('acknowledges a small output once, after the idle delay from its first bytes', () => {
    const rendered = acks.counter();
    rendered(10);
    vi.advanceTimersByTime(ACK_IDLE_FLUSH_MS / 2);
    // Later bytes join the pending batch; they do not push its flush back.
    rendered(20);
    vi.advanceTimersByTime(ACK_IDLE_FLUSH_MS / 2);
    expect(sent).toEqual([30]);
    vi.advanceTimersByTime(10 * ACK_IDLE_FLUSH_MS);
    expect(sent).toEqual([30]);
  });

  it('does not acknowledge, for a new socket, what the one it replaced had rendered', () => {
    const old = acks.counter();
    old(100);
    acks.socketChanged();
    // Parsed only after the socket was replaced: not the new socket's bytes.
    old(200);
    vi.advanceTimersByTime(ACK_IDLE_FLUSH_MS);
    expect(sent).toEqual([]);
    acks.counter()(7);
    vi.advanceTimersByTime(ACK_IDLE_FLUSH_MS);
    expect(sent).toEqual([7]);
  });

  it('flushes what is pending on demand, and sends nothing when nothing is', () => {
    acks.flush();
    expect(sent).toEqual([]);
    acks.counter()(42);
    acks.flush();
    vi.advanceTimersByTime(ACK_IDLE_FLUSH_MS);
    expect(sent).toEqual([42]);
  });
});
