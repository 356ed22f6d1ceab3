/**
 * Measuring a terminal the way the benchmark and the load tests do: keystroke echo round trips
 * at a typist's pace, and percentiles of the samples. It measures; what counts as fast enough is
 * the caller's to say.
 */
import type { TerminalClient } from './terminal-client.ts';

/** Pause between echo samples (ms): a fast typist's pace, so samples do not queue behind each other. */
export const ECHO_INTERVAL_MS = 40;
/** Characters typed between two Ctrl-U (clear the line), so the line stays short however many samples. */
export const ECHO_LINE_CHARS = 40;
/** Ctrl-U: bash's readline clears the line typed so far. */
export const CLEAR_LINE = '\x15';
/** Longest wait for one echo (ms): a keystroke still unanswered after this is a stuck terminal, not a slow one. */
const ECHO_TIMEOUT_MS = 5_000;

/** The p-th percentile (nearest rank) of some samples. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * Type one character at a time at a shell prompt and time how long its echo takes to come back
 * (ms); Ctrl-U clears the line every ECHO_LINE_CHARS characters and at the end.
 */
export async function echoRoundTrips(term: TerminalClient, samples: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const from = term.position;
    const started = performance.now();
    term.type('x');
    await term.waitFor(/x/, ECHO_TIMEOUT_MS, from);
    times.push(performance.now() - started);
    if (i % ECHO_LINE_CHARS === ECHO_LINE_CHARS - 1) term.type(CLEAR_LINE);
    await new Promise((r) => setTimeout(r, ECHO_INTERVAL_MS));
  }
  term.type(CLEAR_LINE);
  return times;
}
