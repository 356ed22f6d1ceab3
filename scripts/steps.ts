/**
 * Steps `npm start` and `npm test` share: building the site when its sources changed, and
 * building the lab images when Docker is there. Each prints what it does and why.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_MANIFEST_DEFAULT } from '../contract/labspec.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/**
 * The build's lab manifest, outside dist/: written near the end of every build, `npm run build`
 * as much as buildSite(), so its mtime is "when the site was last built".
 */
const MANIFEST = path.join(ROOT, LAB_MANIFEST_DEFAULT);
/** What the built site depends on. */
const SITE_INPUTS = ['content', 'src', 'public', 'astro.config.mjs', 'package-lock.json', 'contract'];

export function step(title: string): void {
  console.log(`\n==> ${title}`);
}

/** Run a command with inherited output; throws with its name if it fails. */
export function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  const result = spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

/**
 * Run a command beside others: each line it prints, prefixed so interleaved output stays
 * readable; rejects with its name if it fails.
 */
export function runBeside(prefix: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const child = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  for (const stream of [child.stdout, child.stderr]) createInterface({ input: stream }).on('line', (line) => console.log(`${prefix} ${line}`));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} failed (exit ${code ?? signal})`))));
  });
}

function newestMtime(p: string): number {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(p).reduce((max, name) => Math.max(max, newestMtime(path.join(p, name))), st.mtimeMs);
}

export function siteIsStale(): boolean {
  if (!existsSync(MANIFEST)) return true;
  const built = statSync(MANIFEST).mtimeMs;
  return SITE_INPUTS.some((p) => newestMtime(path.join(ROOT, p)) > built);
}

export function buildSite(): void {
  run('npm', ['run', '--silent', 'build']);
}
