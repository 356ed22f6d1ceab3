import { describe, expect, it } from 'vitest';
import { access, chmod, constants, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashTree } from './images.ts';
import { LAB_HOST_PATHS } from './names.ts';

const LABHOST_ROOTFS = fileURLToPath(new URL('../images/labhost/rootfs/', import.meta.url));

async function tree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dnl-hash-test-'));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

describe('the build context hash', () => {
  it('depends on paths, contents and exec bits only, not on where the tree lives', async () => {
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
