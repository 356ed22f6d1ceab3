/**
 * The site build refuses translations that drift from their English chapters: a copy of the
 * project with one Chinese run block changed and one Chinese chapter missing fails `astro build`
 * with a sentence for each (src/lib/lessons.ts runs src/lib/translations.ts's rules; the unit
 * test there covers each rule on its own). In the suite of the built site because it builds one.
 */
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../sandbox/test/harness.ts';

const run = promisify(execFile);
/** What a build needs from the project; node_modules is linked, not copied. */
const PROJECT = ['astro.config.mjs', 'package.json', 'tsconfig.json', 'src', 'contract', 'content', 'public'];

describe('the site build', () => {
  const copy = mkdtempSync(path.join(tmpdir(), 'dnl-drift-'));
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('fails, naming file, line and rule, when a translation changes a command or a chapter has no translation', async () => {
    for (const entry of PROJECT) cpSync(path.join(ROOT, entry), path.join(copy, entry), { recursive: true });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(copy, 'node_modules'));
    const chapter = path.join(copy, 'content/zh/05-user-defined-bridges.mdx');
    const text = readFileSync(chapter, 'utf8');
    const command = '```sh run\ndocker network ls\n';
    expect(text).toContain(command);
    writeFileSync(chapter, text.replace(command, '```sh run\ndocker network ls -q\n'));
    const line = text.slice(0, text.indexOf(command)).split('\n').length;
    rmSync(path.join(copy, 'content/zh/11-macvlan.mdx'));

    const build = await run(process.execPath, ['node_modules/astro/bin/astro.mjs', 'build'], { cwd: copy, env: { ...process.env, ASTRO_TELEMETRY_DISABLED: '1' } }).then(
      () => ({ failed: false, output: '' }),
      (err: { stdout: string; stderr: string }) => ({ failed: true, output: `${err.stdout}\n${err.stderr}` }),
    );
    expect(build.failed, build.output.slice(-2000)).toBe(true);
    expect(build.output).toContain('The translations differ from the English chapters');
    expect(build.output).toMatch(new RegExp(`content/zh/05-user-defined-bridges\\.mdx:${line}: code block \\d+ \\(\`\`\`sh run\\) differs from content/05-user-defined-bridges\\.mdx:\\d+ in its code`));
    expect(build.output).toContain('content/11-macvlan.mdx has no translation content/zh/11-macvlan.mdx; every chapter exists in every language.');
  }, 180_000);
});
