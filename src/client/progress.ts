/**
 * The learner's progress, kept in this browser only: lessons visited (slug → time of the last
 * visit) and exercises passed (id → its lesson and when), in localStorage under one versioned
 * key. Storage may be missing, refuse writes (private modes, full quota) or hold something
 * hand-edited: reads keep only well-formed entries, and a refused write is kept in this page's
 * memory so the page still shows it. Changes fire PROGRESS_EVENT on window, in this tab and,
 * through the `storage` event, in other tabs of the site.
 */

/**
 * The localStorage key. The version is in the name: a new format gets a new key, and a page
 * never misreads what another version wrote. (Here rather than in src/lib/site.ts: a constant
 * shared with the theme script would turn that tiny inline script into one more file.)
 */
export const PROGRESS_STORAGE_KEY = 'dnl-progress-v1';

export interface PassedExercise {
  lesson: string;
  /** ISO time of the first passed check. */
  at: string;
}

export interface Progress {
  /** Lesson slug → ISO time of the last visit. */
  visited: Record<string, string>;
  /** Exercise id → when and where it was passed. */
  passed: Record<string, PassedExercise>;
}

export const PROGRESS_EVENT = 'dnl:progress';

/** What a refused write would have stored; wins over storage until a write succeeds again. */
let unsaved: Progress | undefined;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

// Object.fromEntries rather than assignment: a key like "__proto__" stays a plain key.
const entries = <T>(v: unknown, keep: (x: unknown) => x is T): Record<string, T> =>
  Object.fromEntries(Object.entries(isRecord(v) ? v : {}).filter((e): e is [string, T] => keep(e[1])));

const isPassed = (v: unknown): v is PassedExercise => isRecord(v) && typeof v.lesson === 'string' && typeof v.at === 'string';

export function parseProgress(raw: string | null): Progress {
  let data: unknown;
  try {
    data = raw ? JSON.parse(raw) : undefined;
  } catch {
    data = undefined;
  }
  const d = isRecord(data) ? data : {};
  return {
    visited: entries(d.visited, (v): v is string => typeof v === 'string'),
    passed: Object.fromEntries(Object.entries(entries(d.passed, isPassed)).map(([id, p]) => [id, { lesson: p.lesson, at: p.at }])),
  };
}

export function readProgress(): Progress {
  if (unsaved) return structuredClone(unsaved);
  try {
    return parseProgress(localStorage.getItem(PROGRESS_STORAGE_KEY));
  } catch {
    return parseProgress(null);
  }
}

const changed = () => dispatchEvent(new Event(PROGRESS_EVENT));

function update(change: (p: Progress) => void): void {
  const p = readProgress();
  change(p);
  try {
    localStorage.setItem(PROGRESS_STORAGE_KEY, JSON.stringify(p));
    unsaved = undefined;
  } catch {
    unsaved = p;
  }
  changed();
}

export function markVisited(lesson: string): void {
  update((p) => (p.visited[lesson] = new Date().toISOString()));
}

export function markPassed(exercise: string, lesson: string): void {
  update((p) => {
    // The first pass is the one worth remembering; later checks may run in a fresh lab.
    p.passed[exercise] ??= { lesson, at: new Date().toISOString() };
  });
}

export function resetProgress(): void {
  try {
    localStorage.removeItem(PROGRESS_STORAGE_KEY);
    unsaved = undefined;
  } catch {
    unsaved = parseProgress(null);
  }
  changed();
}

export const isPassedIn = (p: Progress, exercise: string) => Object.hasOwn(p.passed, exercise);
export const isVisitedIn = (p: Progress, lesson: string) => Object.hasOwn(p.visited, lesson);

let watchingOtherTabs = false;

/** Call `listener` on every change, from this tab or another; returns a function that stops it. */
export function onProgressChange(listener: () => void): () => void {
  if (!watchingOtherTabs) {
    watchingOtherTabs = true;
    // Another tab wrote the key, or cleared all of localStorage (key null).
    addEventListener('storage', (e) => {
      if (e.key === PROGRESS_STORAGE_KEY || e.key === null) changed();
    });
  }
  addEventListener(PROGRESS_EVENT, listener);
  return () => removeEventListener(PROGRESS_EVENT, listener);
}
