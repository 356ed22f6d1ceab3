/**
 * The one place that reads a code fence's meta string (```` ```sh run host=host2 ````).
 * Used by the Shiki transformer (to mark the `<pre>`) and by the lesson-steps plugin (which
 * collects blocks for the manifest and checks their hosts), so both agree on the syntax.
 *
 * Shown blocks: `run` (a Run button types it into a lab host), `host=NAME` (which host), `fails`
 * (the text says this command fails; the verifier expects a non-zero status), `since=V` and
 * `until=V` (only on Docker Engines from V on, or before V: see engineInRange).
 * Hidden blocks, each directly inside an <Exercise> and never on the page (see HIDDEN_BLOCKS).
 */
import { engineVersionSchema, hostNameSchema } from '../../contract/labspec.ts';

/** Languages whose blocks may be typed into a lab host's shell. */
export const RUNNABLE_LANGS: ReadonlySet<string> = new Set(['sh', 'bash', 'shell', 'console']);

/**
 * Blocks an exercise keeps off the page, by their flag: the runner or the verifier runs them.
 *   check  the exercise's check: exit 0 means done (the runner runs it on Check)
 *   setup  run by the runner when the learner starts the exercise (an injected fault)
 *   wrong  a plausible wrong answer: the verifier runs it and the check must still fail
 *   undo   directly after a `wrong` block: run by the verifier once that check has failed
 */
export const HIDDEN_BLOCKS = ['check', 'setup', 'wrong', 'undo'] as const;
export type HiddenBlock = (typeof HIDDEN_BLOCKS)[number];

const FLAGS = new Set<string>(['run', 'fails', ...HIDDEN_BLOCKS]);
const VALUES = ['host', 'since', 'until'] as const;

export interface RunMeta {
  /** The block carries the `run` flag. */
  run: boolean;
  /** The `host=` value, if the author named one; the lab's first host (or the exercise's) otherwise. */
  host?: string;
  /** The block is expected to exit non-zero. */
  fails: boolean;
  /** Which hidden block it is, if it is one. */
  hidden?: HiddenBlock;
  /** Engine versions it applies to: from `since` on (inclusive), before `until`. */
  since?: string;
  until?: string;
}

/** Parse a fence meta string. Throws a sentence an author can act on when it is malformed. */
export function parseRunMeta(raw: string | undefined, lang: string): RunMeta {
  const tokens = (raw ?? '').trim().split(/\s+/).filter(Boolean);
  // Only shell blocks carry flags: in any other language the meta is someone else's business.
  if (!RUNNABLE_LANGS.has(lang)) {
    const flag = tokens.find((t) => t === 'run' || (HIDDEN_BLOCKS as readonly string[]).includes(t));
    if (flag) throw new Error(`Only shell blocks (${[...RUNNABLE_LANGS].join(', ')}) can be "${flag}" blocks; this one is "${lang}".`);
    return { run: false, fails: false };
  }
  const flags = new Set<string>();
  const values: Partial<Record<(typeof VALUES)[number], string>> = {};
  for (const token of tokens) {
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq);
    if (eq < 0 && FLAGS.has(token)) flags.add(token);
    else if (eq > 0 && (VALUES as readonly string[]).includes(key)) values[key as (typeof VALUES)[number]] = token.slice(eq + 1);
    // A misspelt flag would put a hidden block (a check, a wrong answer) on the page: refuse it.
    else throw new Error(`A shell block has "${token}" in its meta; known are ${[...FLAGS].join(', ')} and ${VALUES.map((v) => `${v}=`).join(', ')}.`);
  }
  const run = flags.has('run');
  const fails = flags.has('fails');
  const hidden = HIDDEN_BLOCKS.filter((h) => flags.has(h));
  if (hidden.length > 1) throw new Error(`A code block is both "${hidden[0]}" and "${hidden[1]}"; make them two blocks.`);
  if (hidden[0] && run) throw new Error(`A code block is both "run" and "${hidden[0]}"; a ${hidden[0]} block is not shown to the learner, so it cannot have a Run button.`);
  for (const key of VALUES) {
    // A hidden block may name its host; its engines are its exercise's (since/until on <Exercise>).
    const allowed = run || (key === 'host' && hidden.length > 0);
    if (values[key] !== undefined && !allowed) {
      throw new Error(hidden[0]
        ? `A ${hidden[0]} block has "${key}=${values[key]}"; a ${hidden[0]} block applies where its exercise does: put ${key}="${values[key]}" on the <Exercise>.`
        : `A code block has "${key}=${values[key]}" but no "run" flag; write \`\`\`${lang} run ${key}=${values[key]}.`);
    }
  }
  if (fails && !run) throw new Error(`A code block has "fails" but no "run" flag; write \`\`\`${lang} run fails.`);
  if (values.host !== undefined && hidden[0] === 'check') throw new Error('A check block runs on its exercise\'s host; set host="..." on the <Exercise> instead of the check.');
  if (values.host !== undefined) {
    const checked = hostNameSchema.safeParse(values.host);
    if (!checked.success) throw new Error(`A run block names host "${values.host}": ${checked.error.issues[0]?.message ?? 'invalid host name'}.`);
  }
  for (const key of ['since', 'until'] as const) {
    const v = values[key];
    if (v !== undefined && !engineVersionSchema.safeParse(v).success) throw new Error(`A block has "${key}=${v}"; give a Docker Engine version like ${key}=28.0 or ${key}=28.0.1.`);
  }
  return {
    run,
    fails,
    ...(values.host !== undefined ? { host: values.host } : {}),
    ...(hidden[0] ? { hidden: hidden[0] } : {}),
    ...(values.since !== undefined ? { since: values.since } : {}),
    ...(values.until !== undefined ? { until: values.until } : {}),
  };
}
