/**
 * Measuring a terminal the way the benchmark and the load tests do: keystroke echo round trips
 * at a typist's pace, and percentiles of the samples; and CPU time used, by a process (the
 * runner) and by a container (a lab host, everything exec'd in it included), and a lab host's
 * memory. It measures; what
 * counts as fast enough is the caller's to say.
 */
import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
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

/** Clock ticks per second of /proc/<pid>/stat's times: 100 on every Linux Node runs on (USER_HZ). */
const USER_HZ = 100;

/** CPU time a process used so far (user + system, ms), from /proc/<pid>/stat. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command (which may hold spaces) in its parentheses: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / USER_HZ) * 1000;
}

/**
 * CPU time a container of the machine's engine used so far (ms), processes exec'd in it
 * included: its cgroup's usage (cgroup v2 cpu.stat, or v1 cpuacct.usage under docker/).
 */
export function containerCpuMs(containerId: string): number {
  const v2 = [`/sys/fs/cgroup/system.slice/docker-${containerId}.scope/cpu.stat`, `/sys/fs/cgroup/docker/${containerId}/cpu.stat`];
  for (const file of v2) {
    try {
      return Number(/^usage_usec (\d+)/m.exec(readFileSync(file, 'utf8'))![1]) / 1000;
    } catch {
      // Not this layout.
    }
  }
  return Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${containerId}/cpuacct.usage`, 'utf8')) / 1e6;
}

/** A lab host's memory as its cgroup counts it, less inactive page cache the kernel can drop (bytes). */
export async function hostMemory(docker: Docker, containerName: string): Promise<number> {
  const stats = (await docker.getContainer(containerName).stats({ stream: false })) as { memory_stats: { usage: number; stats: Record<string, number> } };
  const s = stats.memory_stats.stats;
  return stats.memory_stats.usage - (s.total_inactive_file ?? s.inactive_file ?? 0);
}
