import { describe, expect, it } from 'vitest';
import { access, chmod, constants, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { hashTree, imagesReady } from './images.ts';
import { IMAGES, LAB_HOST_PATHS } from './names.ts';

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

describe('imagesReady', () => {
  const fakeDocker = (present: string[]) =>
    ({
      getImage: (ref: string) => ({
        inspect: async () => {
          if (present.includes(ref)) return { Id: `sha256:${ref}` };
          throw Object.assign(new Error(`No such image: ${ref}`), { statusCode: 404 });
        },
      }),
    }) as unknown as Docker;

  it('is true only when the base, both inner images and the lab host of that suite exist', async () => {
    const all = [IMAGES.base('forky'), IMAGES.innerBusybox, IMAGES.innerWeb, IMAGES.labHost('forky')];
    expect(await imagesReady(fakeDocker(all), 'forky')).toBe(true);
    expect(await imagesReady(fakeDocker(all), 'trixie')).toBe(false);
    expect(await imagesReady(fakeDocker(all.filter((tag) => tag !== IMAGES.innerWeb)), 'forky')).toBe(false);
  });

  it('lets other Docker errors through instead of answering false', async () => {
    const broken = { getImage: () => ({ inspect: async () => Promise.reject(new Error('connect ENOENT')) }) } as unknown as Docker;
    await expect(imagesReady(broken, 'forky')).rejects.toThrow('ENOENT');
  });
});
