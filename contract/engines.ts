/**
 * The Docker Engines a lab can run and how a version range reads, without zod: the lab panel
 * and the page's engine marks import this module, so it must stay small and dependency-free.
 * contract/labspec.ts re-exports it next to the schemas that use it.
 */

/**
 * The Docker Engines a lab can run, one per lab host image suite (sandbox/src/names.ts SUITES):
 * the learner picks one in the lab panel and the verifier proves every lesson on each.
 * `version` is what the suite's docker.io package ships; the first is the default.
 */
export const ENGINES = [
  { id: '28', suite: 'forky', version: '28.5.2' },
  { id: '26', suite: 'trixie', version: '26.1.5' },
] as const;
export type Engine = (typeof ENGINES)[number];
export type EngineId = Engine['id'];
export const DEFAULT_ENGINE: Engine = ENGINES[0];

/** The engine with this id, or undefined (ids come from clients: anything may arrive). */
export const engineById = (id: unknown): Engine | undefined => ENGINES.find((e) => e.id === id);

/** Where a block, an exercise or a version note applies: from `since` on (inclusive), before `until`. */
export interface VersionRange {
  since?: string;
  until?: string;
}

/** Compare dotted versions numerically, a missing part counting as 0 ("28" == "28.0.0"). */
const compareVersions = (a: string, b: string): number => {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
};

/** Does `range` hold Engine `version`? `since` is inclusive, `until` exclusive; no range holds all. */
export const engineInRange = (version: string, range: VersionRange): boolean =>
  (range.since === undefined || compareVersions(version, range.since) >= 0) &&
  (range.until === undefined || compareVersions(version, range.until) < 0);

/** A range as words: "28.0 and later", "before 28.0", "28.0 up to (not including) 29.0"; '' for none. */
export const describeRange = ({ since, until }: VersionRange): string =>
  since && until ? `${since} up to (not including) ${until}` : since ? `${since} and later` : until ? `before ${until}` : '';
