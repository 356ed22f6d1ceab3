/**
 * The rules that keep a translation the same lesson as its English chapter (translations.ts),
 * on the course's own chapters and on made-up drifts of one chapter, one per rule.
 * The build runs the same rules (src/lib/lessons.ts), so a drift that fails here fails `npm run build`.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { LOCALES, DEFAULT_LOCALE } from '../i18n/locales.ts';
import { chapterProblems, stripMessages, stripShellComments, translationProblems, type ChapterSource } from './translations.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function chapter(file: string, text = readFileSync(path.join(ROOT, file), 'utf8')): ChapterSource {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(text);
  return { file, text, data: parseYaml(m![1]!) };
}

const english = readdirSync(path.join(ROOT, 'content'))
  .filter((f) => f.endsWith('.mdx'))
  .sort()
  .map((f) => chapter(`content/${f}`));

describe('the course translations', () => {
  for (const locale of LOCALES.filter((l) => l !== DEFAULT_LOCALE)) {
    const dir = path.join(ROOT, 'content', locale);
    const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.mdx')).sort() : [];
    it(`${locale}: every translated chapter keeps its English chapter's lab, sections, code and exercises`, () => {
      expect(translationProblems(english, files.map((f) => chapter(`content/${locale}/${f}`)), locale)).toEqual([]);
    });
  }
});

/** A small chapter in both languages, and ways to break the translation. */
const EN = `---
title: Bridges
description: D.
order: 5
goals:
  - Make a bridge.
lab:
  hosts: [host1, host2]
---

import Aside from '../src/components/Aside.astro';
import Diagram from './diagrams/bridges.svg';

## Make one

Text with \`docker network create\`.

\`\`\`sh run
# make the network
docker network create backend
\`\`\`

\`\`\`text
NETWORK ID   NAME
\`\`\`

<Exercise id="bridges-make" title="Make it" timeout="20">
  Do it.

  \`\`\`sh check
  docker network inspect backend >/dev/null 2>&1 || { echo "There is no network called backend."; exit 1; }
  \`\`\`

  <Solution>
  \`\`\`sh run
  docker network create backend
  \`\`\`
  </Solution>
</Exercise>

See [the next chapter](/lessons/06-next/).
`;

const ZH = `---
title: 网桥
description: 说明。
order: 5
goals:
  - 创建一个网桥。
lab:
  hosts: [host1, host2]
---

import Aside from '../../src/components/Aside.astro';
import Diagram from './diagrams/bridges.svg';

## 创建一个

正文里有 \`docker network create\`。

\`\`\`sh run
# 创建网络
docker network create backend
\`\`\`

\`\`\`text
NETWORK ID   NAME
\`\`\`

<Exercise id="bridges-make" title="创建它" timeout="20">
  动手做。

  \`\`\`sh check
  docker network inspect backend >/dev/null 2>&1 || { echo "还没有名为 backend 的网络。"; exit 1; }
  \`\`\`

  <Solution>
  \`\`\`sh run
  docker network create backend
  \`\`\`
  </Solution>
</Exercise>

参见[下一章](/zh/lessons/06-next/)。
`;

const en = chapter('content/05-bridges.mdx', EN);
const zh = (text: string) => chapter('content/zh/05-bridges.mdx', text);

describe('a translated chapter', () => {
  it('may translate prose, titles, goals, comments and the sentences a check echoes', () => {
    expect(chapterProblems(en, zh(ZH))).toEqual([]);
  });

  it('fails when a run block command differs', () => {
    expect(chapterProblems(en, zh(ZH.replace('# 创建网络\ndocker network create backend', '# 创建网络\ndocker network create back')))).toEqual([
      expect.stringMatching(/^content\/zh\/05-bridges\.mdx:18: code block 1 \(```sh run\) differs from content\/05-bridges\.mdx:18 in its code; only comments may be translated\.$/),
    ]);
  });

  it('fails when a check differs in more than its messages', () => {
    const changed = ZH.replace('inspect backend >/dev/null', 'inspect frontend >/dev/null');
    expect(chapterProblems(en, zh(changed))).toEqual([expect.stringContaining('code block 3 (```sh check) differs from content/05-bridges.mdx:30 in its code; only comments and the sentences it echoes may be translated.')]);
  });

  it('fails when an output block is translated', () => {
    expect(chapterProblems(en, zh(ZH.replace('NETWORK ID   NAME', '网络 ID   名称')))).toEqual([expect.stringContaining('code block 2 (```text) differs')]);
  });

  it('fails when a block is missing or its fence line differs', () => {
    expect(chapterProblems(en, zh(ZH.replace('```text\nNETWORK ID   NAME\n```\n', '')))).toContainEqual(expect.stringContaining('3 code blocks, the English chapter has 4'));
    expect(chapterProblems(en, zh(ZH.replace('```sh run\n# 创建网络', '```sh run host=host2\n# 创建网络')))).toEqual([
      expect.stringContaining('code block 1 opens with ```sh run host=host2; the English one (content/05-bridges.mdx:18) with ```sh run.'),
    ]);
  });

  it('fails when an exercise id or timeout differs, but not its title', () => {
    expect(chapterProblems(en, zh(ZH.replace('id="bridges-make"', 'id="bridges-make-zh"')))).toEqual([expect.stringContaining('<Exercise id="bridges-make-zh" timeout="20"> differs from the English')]);
    expect(chapterProblems(en, zh(ZH.replace('timeout="20"', 'timeout="30"')))).toEqual([expect.stringContaining('timeout="30"')]);
  });

  it('fails when a component is missing', () => {
    expect(chapterProblems(en, zh(ZH.replace(/<Solution>[\s\S]*<\/Solution>/, '')))).toContainEqual(
      expect.stringContaining('components differ from the English chapter\'s from the 2th on (<Solution> there, <end> here)'),
    );
  });

  it('fails when the lab, the order or the number of goals differs', () => {
    expect(chapterProblems(en, zh(ZH.replace('hosts: [host1, host2]', 'hosts: [host1]')))).toEqual([expect.stringContaining('its lab: {"hosts":["host1"]} differs')]);
    expect(chapterProblems(en, zh(ZH.replace('order: 5', 'order: 6')))).toEqual([expect.stringContaining('order is 6, the English chapter\'s is 5')]);
    expect(chapterProblems(en, zh(ZH.replace('  - 创建一个网桥。', '  - 创建一个网桥。\n  - 再来一个。')))).toEqual([expect.stringContaining('2 goals, the English chapter has 1')]);
  });

  it('fails when a heading is missing or at another level', () => {
    expect(chapterProblems(en, zh(ZH.replace('## 创建一个', '### 创建一个')))).toEqual([expect.stringContaining('headings differ from the English chapter\'s from heading 1 on')]);
  });

  it('fails when it imports something else than its English chapter', () => {
    expect(chapterProblems(en, zh(ZH.replace("'../../src/components/Aside.astro'", "'../src/components/Aside.astro'")))).toEqual([expect.stringContaining('imports Aside from src/components/Aside.astro')]);
  });

  it('fails when it links to an English chapter', () => {
    expect(chapterProblems(en, zh(ZH.replace('(/zh/lessons/06-next/)', '(/lessons/06-next/)')))).toEqual([
      'content/zh/05-bridges.mdx:41: links to the English chapter /lessons/06-next/; link to /zh/lessons/06-next/ instead.',
    ]);
  });

  it('fails for a translation without an English chapter', () => {
    expect(translationProblems([en], [chapter('content/zh/07-other.mdx', ZH)], 'zh')).toEqual([
      'content/zh/07-other.mdx has no English chapter content/07-other.mdx; a translation has the English chapter\'s file name.',
      'content/05-bridges.mdx has no translation content/zh/05-bridges.mdx; every chapter exists in every language.',
    ]);
  });

  it('fails for an English chapter without a translation', () => {
    expect(translationProblems([en], [], 'zh')).toEqual(['content/05-bridges.mdx has no translation content/zh/05-bridges.mdx; every chapter exists in every language.']);
  });
});

describe('the comparison of shell code', () => {
  it('drops comments but not a # inside quotes or a word', () => {
    expect(stripShellComments('# only a comment\necho "a # b" # trailing\nx=${#list} y=$#')).toBe('echo "a # b"\nx=${#list} y=$#');
  });

  it('drops what echo and printf print, keeping the command', () => {
    expect(stripMessages(`echo -e "it is on: $nets" >&2; printf '%s\\n' x`)).toBe(`echo -e "…" >&2; printf "…" x`);
    expect(stripMessages(`echo "held by $(cat "/proc/$pid/comm" 2>/dev/null) (pid $pid)."; exit 1`)).toBe(`echo "…"; exit 1`);
  });
});
