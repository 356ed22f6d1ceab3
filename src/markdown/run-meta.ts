/**
 * The one place that reads a code fence's meta string (```` ```sh run host=host2 ````).
 * Used by the Shiki transformer (to mark the `<pre>`) and by the lesson-steps plugin (which
 * collects blocks for the manifest and checks their hosts), so both agree on the syntax.
 *
 * Flags: `run` (a Run button types it into a lab host), `host=NAME` (which host), `fails` (the
 * text says this command fails; the verifier expects a non-zero status), `check` (an exercise's
 * check script: never shown, run by the runner when the learner presses Check).
 */
import { hostNameSchema } from '../../contract/labspec.ts';

/** Languages whose blocks may be typed into a lab host's shell. */
export const RUNNABLE_LANGS: ReadonlySet<string> = new Set(['sh', 'bash', 'shell', 'console']);

const KNOWN_FLAGS = new Set(['run', 'fails', 'check']);

export interface RunMeta {
  /** The block carries the `run` flag. */
  run: boolean;
  /** The `host=` value, if the author named one; the lab's first host (or the exercise's) otherwise. */
  host?: string;
  /** The block is expected to exit non-zero. */
  fails: boolean;
  /** The block is an exercise's check script. */
  check: boolean;
}

/** Parse a fence meta string. Throws a sentence an author can act on when it is malformed. */
export function parseRunMeta(raw: string | undefined, lang: string): RunMeta {
  const tokens = (raw ?? '').trim().split(/\s+/).filter(Boolean);
  const flags = new Set(tokens.filter((t) => KNOWN_FLAGS.has(t)));
  const run = flags.has('run');
  const fails = flags.has('fails');
  const check = flags.has('check');
  const hostToken = tokens.find((t) => t.startsWith('host='));
  const host = hostToken?.slice('host='.length);
  // Only shell blocks carry flags: in any other language the meta is someone else's business.
  if (!RUNNABLE_LANGS.has(lang)) {
    if (run || check) throw new Error(`Only shell blocks (${[...RUNNABLE_LANGS].join(', ')}) can be run or be a check; this one is "${lang}".`);
    return { run: false, fails: false, check: false };
  }
  if (hostToken && !run) {
    throw new Error(`A code block has "${hostToken}" but no "run" flag; write \`\`\`${lang} run ${hostToken}.`);
  }
  if (fails && !run) throw new Error(`A code block has "fails" but no "run" flag; write \`\`\`${lang} run fails.`);
  if (check && run) throw new Error('A code block is both "run" and "check"; a check is not shown to the learner, so it cannot have a Run button.');
  if (host !== undefined) {
    const checked = hostNameSchema.safeParse(host);
    if (!checked.success) {
      throw new Error(`A run block names host "${host}": ${checked.error.issues[0]?.message ?? 'invalid host name'}.`);
    }
  }
  return host === undefined ? { run, fails, check } : { run, host, fails, check };
}
