/**
 * Takes the lab manifest out of the build output. src/pages/[manifest].ts emits it into dist/
 * (a route is what can read the lessons' content collection); once the build is done, this
 * moves it to .lab/lab-manifest.json at the project root, where the runner reads it
 * (LAB_MANIFEST) and no server of dist/ can hand it out: it holds every exercise's check, which the pages leave out.
 * Runs before `pagefind --site dist`, which never sees it. It doesn't write or check the manifest.
 */
import { copyFileSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AstroIntegration } from 'astro';
import { LAB_MANIFEST_DEFAULT, LAB_MANIFEST_FILE } from '../../contract/labspec.ts';

export function labManifestOutsideSite(): AstroIntegration {
  let root = process.cwd();
  return {
    name: 'lab-manifest-outside-site',
    hooks: {
      'astro:config:done': ({ config }) => {
        root = fileURLToPath(config.root);
      },
      'astro:build:done': ({ dir, logger }) => {
        const from = path.join(fileURLToPath(dir), LAB_MANIFEST_FILE);
        const to = path.join(root, LAB_MANIFEST_DEFAULT);
        if (!existsSync(from)) {
          throw new Error(`The build wrote no ${from} (src/pages/[manifest].ts emits it), so the runner would find no lab for any lesson.`);
        }
        mkdirSync(path.dirname(to), { recursive: true });
        try {
          // A rename replaces the old manifest in one step: a runner starting meanwhile reads one whole file.
          renameSync(from, to);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
          copyFileSync(from, to);
          rmSync(from);
        }
        logger.info(`lab manifest moved out of the site, to ${path.relative(root, to)}`);
      },
    },
  };
}
