/**
 * What a learner who breaks out of a lab host gets on the machine, in the words the runner's
 * start-up lines, GET /api/health (contract/api.ts Isolation) and the instructor dashboard use
 * (README, "Security"): labs under an engine that remaps user namespaces run as an unprivileged
 * user; otherwise a lab host is root-equivalent. Apart from contract/api.ts, which every lesson
 * page loads before Start lab, so that only the runner and the dashboard carry these words.
 */
export const ISOLATION = {
  sandboxed: 'labs run as an unprivileged user on this machine',
  rootEquivalent: 'labs are root-equivalent on this machine: use a dedicated machine',
} as const;
