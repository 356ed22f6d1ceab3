/**
 * Where the guest test keeps what it builds, outside the clone so a new clone (CI) reuses it:
 * one folder per cached disk, named by a key, written under a temporary name and renamed when
 * complete (an interrupted build is never taken for a finished one). Also the commands the
 * builders run, and disk sizes for the figures.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Overridable for a machine whose /var/cache is small or not writable. */
export const CACHE_ENV = 'DNL_GUEST_CACHE';
export const DEFAULT_CACHE_DIR = '/var/cache/dnl-guest';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env[CACHE_ENV] || DEFAULT_CACHE_DIR);
}

/** A short key for a recipe: anything that changes what is built changes the key. */
export function recipeKey(recipe: unknown): string {
  return createHash('sha256').update(JSON.stringify(recipe)).digest('hex').slice(0, 16);
}

/**
 * The folder for `name`-`key` under the cache: when it exists it is complete and returned as
 * cached; otherwise `build` fills a temporary folder that is renamed into place, and the
 * folders of older keys (and interrupted builds) of `name` are removed: a disk is gigabytes.
 */
export async function cached(root: string, name: string, key: string, build: (dir: string) => Promise<void>): Promise<{ dir: string; built: boolean }> {
  const dir = path.join(root, `${name}-${key}`);
  if (existsSync(dir)) return { dir, built: false };
  await mkdir(root, { recursive: true });
  for (const old of await readdir(root)) {
    if (old.startsWith(`${name}-`)) await rm(path.join(root, old), { recursive: true, force: true });
  }
  const tmp = `${dir}.partial-${process.pid}`;
  await mkdir(tmp);
  try {
    await build(tmp);
    await rename(tmp, dir);
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => {});
    throw err;
  }
  return { dir, built: true };
}

/** A disk image's apparent size and the space it takes (sparse files take less). */
export function diskSize(file: string): { apparentBytes: number; onDiskBytes: number } {
  const st = statSync(file);
  return { apparentBytes: st.size, onDiskBytes: st.blocks * 512 };
}

/** Most of a failed command's output an error quotes. */
const QUOTED_OUTPUT_CHARS = 3000;

/**
 * Run a command; resolves with its output, rejects with a sentence and the output's tail.
 * `input` is piped to stdin; `quiet` keeps the output out of the console (it is still quoted on failure).
 */
export function sh(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; quiet?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer) => {
      out += d.toString();
      if (!opts.quiet) process.stdout.write(d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => reject(new Error(`${command} could not start (${err.message}).`)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} failed (exit ${code ?? signal}); its output ends:\n${out.slice(-QUOTED_OUTPUT_CHARS)}`));
    });
  });
}
