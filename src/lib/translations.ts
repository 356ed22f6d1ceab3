/**
 * What keeps a translated chapter the same lesson as its English one: the same place in the
 * course (order), the same lab, the same sections, the same code blocks (run blocks typed by the
 * Run button, checks, wrong answers, outputs) and the same exercises and other components, so a
 * learner gets the same lab and the same checks in either language and the language switch can
 * map sections by position. Only what a reader reads may differ: prose, titles, comments in
 * shell code, and the sentences a check prints (`echo "..."`).
 * It reads the MDX source, not the rendered page, so the build (src/lib/lessons.ts) and a unit
 * test without Astro (translations.test.ts) use the same rules.
 */
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { DEFAULT_LOCALE, LOCALE_INFO, localeOfPath, type Locale } from '../i18n/locales.ts';

export interface ChapterSource {
  /** The MDX file, relative to the project root: content/05-x.mdx or content/zh/05-x.mdx. */
  file: string;
  /** The whole file, frontmatter included (line numbers in reports are the file's). */
  text: string;
  /** The parsed frontmatter (the lesson schema's output). */
  data: { order: number; goals: string[]; lab?: unknown };
}

/** Attributes of components that are words for the reader, so a translation translates them. */
const READER_ATTRIBUTES = new Set(['title', 'alt', 'caption', 'label', 'summary']);

/**
 * Every way `translated` (the chapters in `locale`) differs from `english` beyond its words, as
 * sentences: a chapter in one language only is one.
 */
export function translationProblems(english: ChapterSource[], translated: ChapterSource[], locale: Locale): string[] {
  const problems: string[] = [];
  const byName = new Map(english.map((c) => [path.basename(c.file), c]));
  const seen = new Set<string>();
  for (const t of translated) {
    const name = path.basename(t.file);
    const en = byName.get(name);
    seen.add(name);
    if (!en) {
      problems.push(`${t.file} has no English chapter content/${name}; a translation has the English chapter's file name.`);
      continue;
    }
    problems.push(...chapterProblems(en, t));
  }
  for (const en of english) {
    const name = path.basename(en.file);
    if (!seen.has(name)) problems.push(`${en.file} has no translation content/${locale}/${name}; every chapter exists in every language.`);
  }
  return problems;
}

/** How one translated chapter differs from its English chapter in anything but words. */
export function chapterProblems(en: ChapterSource, t: ChapterSource): string[] {
  const problems: string[] = [];
  const at = (line: number) => `${t.file}:${line}`;
  if (en.data.order !== t.data.order) problems.push(`${t.file}: order is ${t.data.order}, the English chapter's is ${en.data.order}.`);
  if (!isDeepStrictEqual(en.data.lab, t.data.lab)) {
    problems.push(`${t.file}: its lab: ${JSON.stringify(t.data.lab)} differs from the English chapter's ${JSON.stringify(en.data.lab)}; copy it unchanged.`);
  }
  if (en.data.goals.length !== t.data.goals.length) {
    problems.push(`${t.file}: ${t.data.goals.length} goals, the English chapter has ${en.data.goals.length}; translate each goal, one for one.`);
  }

  const [a, b] = [parseChapter(en.text), parseChapter(t.text)];

  const depths = (c: ParsedChapter) => c.headings.map((h) => h.depth).join(',');
  if (depths(a) !== depths(b)) {
    const i = firstDifference(a.headings.map((h) => h.depth), b.headings.map((h) => h.depth));
    const h = b.headings[i];
    problems.push(
      `${h ? at(h.line) : t.file}: headings differ from the English chapter's from heading ${i + 1} on (${a.headings.length} headings there, ${b.headings.length} here); keep the same headings at the same levels, translated.`,
    );
  }

  if (a.blocks.length !== b.blocks.length) {
    problems.push(`${t.file}: ${b.blocks.length} code blocks, the English chapter has ${a.blocks.length}; every code block stays, in the same order.`);
  }
  for (let i = 0; i < Math.min(a.blocks.length, b.blocks.length); i++) {
    const [x, y] = [a.blocks[i]!, b.blocks[i]!];
    if (x.info !== y.info) {
      problems.push(`${at(y.line)}: code block ${i + 1} opens with \`\`\`${y.info}; the English one (${en.file}:${x.line}) with \`\`\`${x.info}.`);
    } else if (comparable(x) !== comparable(y)) {
      problems.push(
        `${at(y.line)}: code block ${i + 1} (\`\`\`${y.info}) differs from ${en.file}:${x.line} in its code; only comments${isCheck(y) ? ' and the sentences it echoes' : ''} may be translated.`,
      );
    }
  }

  if (a.components.length !== b.components.length || a.components.some((c, i) => c.name !== b.components[i]!.name)) {
    const i = firstDifference(a.components.map((c) => c.name), b.components.map((c) => c.name));
    problems.push(
      `${b.components[i] ? at(b.components[i]!.line) : t.file}: components differ from the English chapter's from the ${i + 1}th on (<${a.components[i]?.name ?? 'end'}> there, <${b.components[i]?.name ?? 'end'}> here); keep the same exercises, hints, solutions and figures in the same order.`,
    );
  } else {
    a.components.forEach((c, i) => {
      const d = b.components[i]!;
      if (!isDeepStrictEqual(c.attributes, d.attributes)) {
        problems.push(`${at(d.line)}: <${d.name} ${formatAttributes(d.attributes)}> differs from the English ${en.file}:${c.line} <${c.name} ${formatAttributes(c.attributes)}>; only ${[...READER_ATTRIBUTES].join(', ')} are translated.`);
      }
    });
  }

  const imports = (c: ParsedChapter, file: string) => c.imports.map((i) => `${i.name} from ${importTarget(file, i.from)}`).join('; ');
  if (imports(a, en.file) !== imports(b, t.file)) {
    problems.push(`${t.file}: imports ${imports(b, t.file) || 'nothing'}; the English chapter imports ${imports(a, en.file) || 'nothing'} (a translation imports the same components and data, and its own diagrams from ./diagrams/).`);
  }

  const locale = localeOfPath(path.dirname(t.file).replace(/^content/, ''));
  const prefix = LOCALE_INFO[locale].prefix;
  if (locale !== DEFAULT_LOCALE) {
    for (const m of t.text.matchAll(/(?:\]\(|href=["'])(\/lessons\/[^)"'\s]*)/g)) {
      const line = t.text.slice(0, m.index).split('\n').length;
      problems.push(`${at(line)}: links to the English chapter ${m[1]}; link to ${prefix}${m[1]} instead.`);
    }
  }
  return problems;
}

interface ParsedChapter {
  headings: { depth: number; line: number }[];
  blocks: { info: string; code: string; line: number }[];
  components: { name: string; attributes: Record<string, string>; line: number }[];
  imports: { name: string; from: string }[];
}

/** The parts of an MDX chapter the rules compare: headings, fenced blocks, component tags and imports, each with its line. */
export function parseChapter(text: string): ParsedChapter {
  const lines = text.split('\n');
  const parsed: ParsedChapter = { headings: [], blocks: [], components: [], imports: [] };
  const prose: string[] = [];
  let i = 0;
  // Frontmatter: not prose, not compared here (the caller compares the parsed data).
  if (lines[0] === '---') {
    const end = lines.indexOf('---', 1);
    for (; i <= end; i++) prose.push('');
  }
  for (; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(.*)$/.exec(lines[i]!);
    if (!open) {
      prose.push(lines[i]!);
      continue;
    }
    const [, indent, fence, info] = open;
    const start = i;
    const code: string[] = [];
    prose.push('');
    for (i++; i < lines.length; i++) {
      prose.push('');
      const line = lines[i]!;
      if (line.trim().startsWith(fence!) && line.trim().replace(/[`~]/g, '') === '') break;
      code.push(line.startsWith(indent!) ? line.slice(indent!.length) : line.trimStart());
    }
    parsed.blocks.push({ info: info!.trim(), code: code.join('\n'), line: start + 1 });
  }
  const body = prose.join('\n');
  const lineOf = (index: number) => body.slice(0, index).split('\n').length;
  for (const m of body.matchAll(/^(#{1,6})\s+\S/gm)) parsed.headings.push({ depth: m[1]!.length, line: lineOf(m.index) });
  for (const m of body.matchAll(/^import\s+(\w+)\s+from\s+['"]([^'"]+)['"];?\s*$/gm)) parsed.imports.push({ name: m[1]!, from: m[2]! });
  for (const m of body.matchAll(/<([A-Z]\w*)((?:\s+[\w-]+(?:=(?:"[^"]*"|'[^']*'|\{[^}]*\}))?)*)\s*\/?>/g)) {
    const attributes: Record<string, string> = {};
    for (const a of m[2]!.matchAll(/([\w-]+)(?:=(?:"([^"]*)"|'([^']*)'|\{([^}]*)\}))?/g)) {
      if (!READER_ATTRIBUTES.has(a[1]!)) attributes[a[1]!] = a[2] ?? a[3] ?? (a[4] !== undefined ? `{${a[4]}}` : 'true');
    }
    parsed.components.push({ name: m[1]!, attributes, line: lineOf(m.index) });
  }
  return parsed;
}

const isCheck = (block: { info: string }) => block.info.split(/\s+/).includes('check');
const isShell = (block: { info: string }) => /^(sh|bash|shell)\b/.test(block.info) && /\b(run|check|wrong|undo|setup)\b/.test(block.info);

/** A block's code as the comparison sees it: shell code without comments; a check also without its messages. */
function comparable(block: { info: string; code: string }): string {
  if (!isShell(block)) return block.code;
  const code = stripShellComments(block.code);
  return isCheck(block) ? stripMessages(code) : code;
}

/** Shell code without its comments: `#` at the start of a word, outside quotes, to the end of the line; comment-only lines go. */
export function stripShellComments(code: string): string {
  const out: string[] = [];
  for (const line of code.split('\n')) {
    let quote: string | null = null;
    let cut = line.length;
    for (let i = 0; i < line.length; i++) {
      const c = line[i]!;
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) quote = null;
      } else if (c === '\\') i++;
      else if (c === '"' || c === "'") quote = c;
      else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) {
        cut = i;
        break;
      }
    }
    const kept = line.slice(0, cut).trimEnd();
    if (kept !== '' || cut === line.length) out.push(kept);
  }
  return out.join('\n');
}

/**
 * A check's code with the text of what it echoes or printf's replaced: those sentences are translated.
 * A double-quoted sentence may hold a command substitution with quotes of its own
 * (`echo "held by $(cat "/proc/$pid/comm")"`, chapter 06), which must not end the sentence.
 */
export function stripMessages(code: string): string {
  return code.replace(/\b(echo|printf)((?:\s+-[a-zA-Z]+)*)\s+("(?:[^"\\$]|\\.|\$\((?:[^()"']|"(?:[^"\\]|\\.)*"|'[^']*')*\)|\$)*"|'[^']*')/g, '$1$2 "…"');
}

/** Where an import points, with a translation's own diagrams counted as the English ones. */
function importTarget(file: string, from: string): string {
  if (!from.startsWith('.')) return from;
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), from));
  return resolved.replace(/^content\/[a-z]{2}\/diagrams\//, 'content/diagrams/');
}

function firstDifference<T>(a: T[], b: T[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

const formatAttributes = (attributes: Record<string, string>) =>
  Object.entries(attributes)
    .map(([k, v]) => `${k}="${v}"`)
    .join(' ');
