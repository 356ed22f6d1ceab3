/**
 * The one place that reads a code fence's meta string (```` ```sh run host=host2 ````).
 * Used by the Shiki transformer (to mark the `<pre>`) and by the lesson page (to fail the
 * build when a block names a host the lesson's lab doesn't have), so both agree on syntax.
 */
import { hostNameSchema } from '../../sandbox/src/labspec.ts';

/** Languages whose blocks may be typed into a lab host's shell. */
export const RUNNABLE_LANGS: ReadonlySet<string> = new Set(['sh', 'bash', 'shell', 'console']);

export interface RunMeta {
  /** The block carries the `run` flag. */
  run: boolean;
  /** The `host=` value, if the author named one; the lab's first host otherwise. */
  host?: string;
}

/** Parse a fence meta string. Throws a sentence an author can act on when it is malformed. */
export function parseRunMeta(raw: string | undefined, lang: string): RunMeta {
  const tokens = (raw ?? '').trim().split(/\s+/).filter(Boolean);
  const run = tokens.includes('run');
  const hostToken = tokens.find((t) => t.startsWith('host='));
  const host = hostToken?.slice('host='.length);
  if (hostToken && !run) {
    throw new Error(`A code block has "${hostToken}" but no "run" flag; write \`\`\`${lang} run ${hostToken}.`);
  }
  if (host !== undefined) {
    const checked = hostNameSchema.safeParse(host);
    if (!checked.success) {
      throw new Error(`A run block names host "${host}": ${checked.error.issues[0]?.message ?? 'invalid host name'}.`);
    }
  }
  if (run && !RUNNABLE_LANGS.has(lang)) {
    throw new Error(`Only shell blocks (${[...RUNNABLE_LANGS].join(', ')}) can have a Run button; this one is "${lang}".`);
  }
  return host === undefined ? { run } : { run, host };
}

/** Every run block's meta in an MDX body, for build-time checks against the lesson's lab. */
export function findRunBlocks(body: string): Array<RunMeta & { lang: string }> {
  const found: Array<RunMeta & { lang: string }> = [];
  // Fences may be indented inside lists; the info string is the rest of the opening line.
  for (const match of body.matchAll(/^[ \t]*(`{3,}|~{3,})([\w+-]+)[ \t]+([^\n]*)$/gm)) {
    const lang = match[2] ?? '';
    const meta = parseRunMeta(match[3], lang);
    if (meta.run) found.push({ ...meta, lang });
  }
  return found;
}
