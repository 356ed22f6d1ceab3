/**
 * What the site build publishes for the runner and the lesson verifier, written once in zod:
 * the lab spec a lesson declares in its frontmatter (`lab:`), and the manifest of every lesson's
 * lab, exercises and runnable blocks. No `node:` imports: the site build uses it too.
 */
import { z } from 'zod';

/** Upper bound on lab hosts a lesson may ask for; each host runs its own dockerd. */
export const MAX_HOSTS_PER_LAB = 4;

/** A lab host's name: what the learner types (`ping host2`), its hostname and its DNS alias. */
export const hostNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,15}$/, 'a host name is 1-16 lowercase letters, digits or dashes, starting with a letter');

export const labSpecSchema = z
  .object({
    hosts: z.array(hostNameSchema).min(1).max(MAX_HOSTS_PER_LAB),
    /**
     * The lesson puts macvlan containers on the lab hosts' own link (parent eth0). The runner
     * then gives lab hosts addresses from the lower half of the lab subnet only and tells every
     * host (environment variables, see MACVLAN_ENV) which upper half is free for containers.
     */
    macvlan: z.boolean().optional(),
  })
  .strict()
  .refine((spec) => new Set(spec.hosts).size === spec.hosts.length, {
    message: 'host names must be unique',
    path: ['hosts'],
  });

export type LabSpec = z.infer<typeof labSpecSchema>;

/** A Docker Engine version as lessons name it: "28", "28.0" or "28.0.1". */
export const engineVersionSchema = z.string().regex(/^\d{1,3}(\.\d{1,3}){0,2}$/, 'an engine version is like 28, 28.0 or 28.0.1');

// The engines and version ranges live in a zod-free module the browser can import.
export { DEFAULT_ENGINE, ENGINES, describeRange, engineById, engineInRange, type Engine, type EngineId } from './engines.ts';

/** Where a block, an exercise or a version note applies: from `since` on, before `until`. */
export const engineRangeSchema = z.object({ since: engineVersionSchema.optional(), until: engineVersionSchema.optional() });
export type EngineRange = z.infer<typeof engineRangeSchema>;

/**
 * What a lab's engine objects depend on, as one key: "host1,host2" or "host1,host2+macvlan".
 * Lessons with the same shape can use the same pooled lab.
 */
export const labShape = (spec: LabSpec): string => `${spec.hosts.join(',')}${spec.macvlan ? '+macvlan' : ''}`;

/** Environment variables a lab host of a `macvlan: true` lab has (in its shells and checks too). */
export const MACVLAN_ENV = {
  /** The lab network's subnet: the `--subnet` of a macvlan network on eth0. */
  subnet: 'LAB_SUBNET',
  /** The lab network's gateway address: the `--gateway`. */
  gateway: 'LAB_GATEWAY',
  /** Addresses no lab host uses: the `--ip-range` for macvlan containers. */
  range: 'LAB_MACVLAN_RANGE',
} as const;

/**
 * How long a check may run. Checks ask a lab host a question (`docker inspect`, one `wget`);
 * 10 s covers a DNS lookup that has to time out (about 5 s on a lab host), 60 s is the most a
 * learner should wait after pressing Check.
 */
export const CHECK_TIMEOUT_SECONDS = { default: 10, max: 60 } as const;

/** An exercise id: stable across edits (progress is stored under it), unique in the course. */
export const exerciseIdSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,47}$/, 'an exercise id is 2-48 lowercase letters, digits or dashes, starting with a letter');

/** What an author writes on `<Exercise ...>`. */
export const exerciseAttrsSchema = z
  .object({
    id: exerciseIdSchema,
    title: z.string().trim().min(1, 'give the exercise a title').max(120),
    /** The lab host the check runs on; the lab's first host when left out. */
    host: hostNameSchema.optional(),
    /** Seconds the check may run before it counts as timed out. */
    timeout: z.coerce.number().int().min(1).max(CHECK_TIMEOUT_SECONDS.max).optional(),
  })
  .extend(engineRangeSchema.shape)
  .strict();

/** A hidden block an exercise runs on a host: its setup, or a wrong answer (with its undo). */
export const hiddenScriptSchema = z
  .object({
    host: hostNameSchema,
    code: z.string().min(1),
    line: z.number().int().nonnegative(),
  })
  .strict();

export type HiddenScript = z.infer<typeof hiddenScriptSchema>;

/** An exercise as the runner and the verifier see it, with its defaults filled in. */
export const exerciseSchema = z
  .object({
    id: exerciseIdSchema,
    title: z.string().min(1),
    host: hostNameSchema,
    /** A shell script run with bash on `host`; exit status 0 means passed. */
    check: z.string().min(1),
    timeoutSeconds: z.number().int().min(1).max(CHECK_TIMEOUT_SECONDS.max),
    /** Where the exercise starts in the lesson source, for reports. */
    line: z.number().int().nonnegative(),
    /** Run by the runner when the learner starts the exercise (```sh setup```); never shown. */
    setup: hiddenScriptSchema.optional(),
    /**
     * Plausible wrong answers (```sh wrong```), each with what puts it back (```sh undo```):
     * the verifier runs each before the solution and the check must still fail. Never shown.
     */
    wrong: z.array(hiddenScriptSchema.extend({ undo: hiddenScriptSchema.optional() }).strict()).default([]),
  })
  .extend(engineRangeSchema.shape)
  .strict();

export type Exercise = z.infer<typeof exerciseSchema>;

/** One runnable block of a lesson, in reading order, as the Run button would type it. */
export const runBlockSchema = z
  .object({
    host: hostNameSchema,
    code: z.string().min(1),
    /** `failure` for blocks the text says fail (```` ```sh run fails ````), e.g. an isolation demo. */
    expect: z.enum(['success', 'failure']),
    /** Set when the block is part of that exercise's reference solution. */
    exercise: exerciseIdSchema.optional(),
    /**
     * Set when the block is in that exercise's task (outside its solution): for a learner it comes
     * after Start exercise, so the verifier runs the exercise's setup before it.
     */
    task: exerciseIdSchema.optional(),
    line: z.number().int().nonnegative(),
  })
  .extend(engineRangeSchema.shape)
  .strict();

export type RunBlock = z.infer<typeof runBlockSchema>;

/** Everything a lesson asks of a lab, collected from its MDX at build time. */
export const lessonStepsSchema = z.object({
  exercises: z.array(exerciseSchema),
  blocks: z.array(runBlockSchema),
});

export type LessonSteps = z.infer<typeof lessonStepsSchema>;

/** One lesson with a lab, as the site build publishes it. */
const manifestLessonSchema = z
  .object({
    title: z.string(),
    /** The lesson's source file, relative to the repository, for reports. */
    file: z.string().optional(),
    lab: labSpecSchema,
  })
  .extend(lessonStepsSchema.shape);

/** A language of the course other than English, as in a translation's path (content/zh/, /zh/). */
export const translationLocaleSchema = z.string().regex(/^[a-z]{2}$/, 'a two-letter language code such as zh');

/** What the site build publishes for the runner: every lesson that has a lab, by slug. */
export const labManifestSchema = z.object({
  lessons: z.record(z.string(), manifestLessonSchema),
  /**
   * The same lessons in each other language, by locale then slug: the same labs, exercises and
   * commands (the build checks that), with checks that print their sentences in that language.
   * The runner runs a check in the language the page asks for; the verifier replays these too.
   */
  translations: z.record(translationLocaleSchema, z.record(z.string(), manifestLessonSchema)).default({}),
});

export type LabManifest = z.infer<typeof labManifestSchema>;
export type ManifestLesson = LabManifest['lessons'][string];

/**
 * The manifest holds every exercise's check (the pages leave them out), so it must never be served. The site
 * build emits it into its output under this name (a route is what can read the lessons) and,
 * once the build is done, moves it out to LAB_MANIFEST_DEFAULT (src/integrations/lab-manifest.ts).
 */
export const LAB_MANIFEST_FILE = 'lab-manifest.json';
/** Where the build leaves the manifest, relative to the project root: outside dist/. */
export const LAB_MANIFEST_DEFAULT = '.lab/lab-manifest.json';
