/**
 * docs/glossary.md gives each idea one Chinese name; its 避免 column lists the variants a
 * Chinese chapter or the Chinese UI must not use (so 覆盖网络 is never also 叠加网络). This reads
 * the table and looks for them in content/zh/ and src/i18n/zh.ts, outside code.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The glossary's rows: English, 中文, and the variants to avoid. */
export function glossaryTerms(markdown: string): { english: string; chinese: string; avoid: string[] }[] {
  const section = markdown.slice(markdown.indexOf('## Terms'));
  const end = section.indexOf('\n## ', 1);
  return (end > 0 ? section.slice(0, end) : section)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()))
    .filter(([english]) => english !== 'English' && !english!.startsWith('---'))
    .map(([english, chinese, avoid]) => ({ english: english!, chinese: chinese ?? '', avoid: (avoid ?? '').split(/[,，]/).map((a) => a.trim()).filter(Boolean) }));
}

/** The text a reader reads in an MDX file: without fenced code and inline code. */
const prose = (text: string) => text.replace(/^(\s*)(`{3,}|~{3,})[\s\S]*?^\1\2\s*$/gm, '').replace(/`[^`\n]*`/g, '');

const terms = glossaryTerms(readFileSync(path.join(ROOT, 'docs/glossary.md'), 'utf8'));
const zhDir = path.join(ROOT, 'content/zh');
const sources = [
  ...(existsSync(zhDir) ? readdirSync(zhDir).filter((f) => f.endsWith('.mdx')).map((f) => `content/zh/${f}`) : []),
  'src/i18n/zh.ts',
];

describe('the glossary', () => {
  it('has terms, each with a Chinese name, and variants to avoid for some', () => {
    expect(terms.length).toBeGreaterThan(80);
    expect(terms.every((t) => t.chinese.length > 0)).toBe(true);
    expect(terms.filter((t) => t.avoid.length > 0).length).toBeGreaterThan(10);
  });

  for (const file of sources) {
    it(`${file} uses none of the variants the glossary says to avoid`, () => {
      const text = prose(readFileSync(path.join(ROOT, file), 'utf8'));
      const found = terms.flatMap((t) => t.avoid.filter((a) => text.includes(a)).map((a) => `${a} (write ${t.chinese})`));
      expect(found).toEqual([]);
    });
  }
});
