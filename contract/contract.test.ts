/**
 * The contract compiles without Node: a `node:` import or a Node global in it fails its type
 * check (contract/tsconfig.json has `types: []`), so nothing the browser imports from it can
 * pull Node in. Shown with the TypeScript compiler itself on a probe file compiled under the
 * contract's options, against the same probe with Node's types allowed (the control).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const CONTRACT = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(CONTRACT, '..');

/** The contract's compiler options, as tsc -p contract reads them. */
function contractOptions(): ts.CompilerOptions {
  const file = path.join(CONTRACT, 'tsconfig.json');
  const { config } = ts.readConfigFile(file, ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, CONTRACT);
  // Where Node's types are, so that only `types: []` keeps them out (the control puts them back).
  return { ...parsed.options, typeRoots: [path.join(ROOT, 'node_modules/@types')] };
}

describe('the contract', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'dnl-contract-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Type errors of `source` compiled with the contract's modules under `options`. */
  function errorsOf(source: string, options: ts.CompilerOptions): string[] {
    // .mts: an ES module wherever it is (the temporary folder has no package.json saying "module").
    const probe = path.join(dir, `probe-${Math.random().toString(36).slice(2)}.mts`);
    writeFileSync(probe, `import { ROUTES } from '${path.join(CONTRACT, 'api.ts')}';\nexport const route = ROUTES.health.path();\n${source}\n`);
    const program = ts.createProgram([probe], options);
    return ts.getPreEmitDiagnostics(program).map((d) => `TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  }

  it('fails its type check on a node: import or a Node global, and passes without them', () => {
    const options = contractOptions();
    expect(errorsOf('', options)).toEqual([]);
    expect(errorsOf("import { readFileSync } from 'node:fs';\nexport const read = readFileSync;", options).join('\n')).toMatch(/TS2(307|591) Cannot find (module|name) 'node:fs'/);
    expect(errorsOf("export const bytes = Buffer.from('x');", options).join('\n')).toMatch(/TS2\d{3} Cannot find name 'Buffer'/);
    // The control: the same probes compile once Node's types are allowed.
    const withNode = { ...options, types: ['node'] };
    expect(errorsOf("import { readFileSync } from 'node:fs';\nexport const read = readFileSync;", withNode)).toEqual([]);
  }, 60_000);
});
