import { describe, expect, it } from 'vitest';
import { access, chmod, constants, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { configSchema } from './config.ts';
import { hashTree, importedPackages, packageClosure, runnerPackages } from './images.ts';
import { IMAGES, LAB_HOST_PATHS } from './names.ts';

const LABHOST_ROOTFS = fileURLToPath(new URL('../images/labhost/rootfs/', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dnl-hash-test-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

describe('the build context hash', () => {
  it('depends on paths, contents and exec bits only, not on where the tree lives or on what is left out', async () => {
    const a = await tree({ Dockerfile: 'FROM scratch\n', 'bin/run': 'echo hi\n' });
    const b = await tree({ Dockerfile: 'FROM scratch\n', 'bin/run': 'echo hi\n' });
    try {
      const original = await hashTree(a);
      expect(await hashTree(b)).toBe(original);

      await writeFile(join(b, 'bin/run'), 'echo ho\n');
      expect(await hashTree(b)).not.toBe(original);

      await writeFile(join(b, 'bin/run'), 'echo hi\n');
      await chmod(join(b, 'bin/run'), 0o755);
      expect(await hashTree(b)).not.toBe(original);

      await chmod(join(b, 'bin/run'), 0o644);
      await rename(join(b, 'bin/run'), join(b, 'bin/start'));
      expect(await hashTree(b)).not.toBe(original);

      // What the caller leaves out does not count, files or whole folders.
      await rename(join(b, 'bin/start'), join(b, 'bin/run'));
      await writeFile(join(b, 'run.test.ts'), 'test');
      await mkdir(join(b, 'node_modules/x'), { recursive: true });
      await writeFile(join(b, 'node_modules/x/index.js'), 'x');
      expect(await hashTree(b, (path) => path.endsWith('.test.ts') || path === 'node_modules')).toBe(original);
    } finally {
      await rm(a, { recursive: true, force: true });
      await rm(b, { recursive: true, force: true });
    }
  });
});

describe('the lab host image context', () => {
  it('ships the commands the runner relies on, executable, at the paths in names.ts', async () => {
    for (const path of [LAB_HOST_PATHS.shell, LAB_HOST_PATHS.endTerminal, '/usr/local/bin/lab-entrypoint']) {
      await expect(access(join(LABHOST_ROOTFS, path), constants.X_OK)).resolves.toBeUndefined();
    }
  });
});

describe('the runner image', () => {
  it('finds the packages a module imports: static, multi-line, re-exported, dynamic, scoped, by package name, without Node\'s own or relative ones', () => {
    const source = [
      "import Docker from 'dockerode';",
      "import type { WebSocket } from 'ws';",
      'import {',
      '  z,',
      "} from 'zod/v4';",
      "import '@scope/side-effect/register';",
      "export { thing } from '@scope/pkg';",
      "import { readFile } from 'node:fs/promises';",
      "import path from 'path';",
      "import { local } from './local.ts';",
      "const lazy = await import('send');",
      " * a comment that says: import it from 'nowhere'",
    ].join('\n');
    expect(importedPackages(source)).toEqual(['@scope/pkg', '@scope/side-effect', 'dockerode', 'send', 'ws', 'zod']);
  });

  it('takes each package from where Node would load it, with what it depends on, and the optional ones only when present', async () => {
    const manifest = (name: string, deps: Record<string, string> = {}, optional: Record<string, string> = {}) =>
      JSON.stringify({ name, dependencies: deps, optionalDependencies: optional });
    const root = await tree({
      'node_modules/a/package.json': manifest('a', { b: '2', c: '1' }, { 'not-installed': '1' }),
      // a needs b@2, hoisted is b@1: a gets its own copy, as npm lays it out.
      'node_modules/a/node_modules/b/package.json': manifest('b'),
      'node_modules/b/package.json': manifest('b'),
      'node_modules/c/package.json': manifest('c', { '@s/d': '1' }),
      'node_modules/@s/d/package.json': manifest('@s/d'),
      'node_modules/unused/package.json': manifest('unused'),
      'node_modules/broken/package.json': manifest('broken', { missing: '1' }),
    });
    try {
      expect(await packageClosure(root, ['a'])).toEqual(['node_modules/@s/d', 'node_modules/a', 'node_modules/a/node_modules/b', 'node_modules/c']);
      await expect(packageClosure(root, ['broken'])).rejects.toThrow(/needs the package missing \(for node_modules\/broken\).*run `npm install`/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('carries the packages the runner imports, not the site build\'s or the tests\'', async () => {
    const packages = (await runnerPackages()).map((dir) => dir.replace(/^.*node_modules\//, ''));
    expect(packages).toEqual(expect.arrayContaining(['dockerode', 'send', 'ws', 'zod']));
    for (const other of ['astro', 'vitest', 'typescript', 'playwright-core', 'pagefind', 'shiki', '@xterm/xterm']) expect(packages).not.toContain(other);
  });

  it('is run by compose.yaml with every setting of the runner passed through, and lab state on a volume where the image keeps it', async () => {
    const compose = parse(await readFile(join(ROOT, 'compose.yaml'), 'utf8'));
    const runner = compose.services.runner;
    expect(runner.image).toBe(IMAGES.runner);
    expect(runner.pull_policy).toBe('never');
    // Paths inside the image are the image's to set.
    const inImage = ['LAB_SITE_DIR', 'LAB_MANIFEST', 'LAB_STATE_DIR'];
    const passed = (runner.environment as string[]).map((entry) => entry.split('=')[0]);
    expect(passed).toEqual(expect.arrayContaining(Object.keys(configSchema.shape).filter((name) => !inImage.includes(name))));
    // Labs on the runner's own engine unless .env says 0, its socket folder (LAB_OWN_ENGINE_DIR's
    // default is below it) shared with the machine, so that the lab engine can be given it.
    expect(runner.environment).toContain('LAB_OWN_ENGINE=${LAB_OWN_ENGINE:-1}');
    expect(runner.volumes).toContain('/run/dnl-lab-engine:/run/dnl-lab-engine');

    const dockerfile = await readFile(join(ROOT, 'sandbox/images/runner/Dockerfile'), 'utf8');
    const stateDir = /^ENV .*\bLAB_STATE_DIR=(\S+)/m.exec(dockerfile)?.[1];
    const volume = (runner.volumes as string[]).find((mount) => mount.split(':')[0] in compose.volumes);
    expect(volume?.split(':')[1]).toBe(stateDir);
  });
});
