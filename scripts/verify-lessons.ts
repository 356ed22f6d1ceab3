/**
 * `npm run verify:lessons`: replay every lesson with a lab in a real lab and prove its exercises
 * (see sandbox/tools/verifier.ts). Needs the built site (dist/ and .lab/lab-manifest.json), the lab
 * images and a running Docker Engine; starts its own runner on a free loopback port.
 *
 *   npm run verify:lessons                      all lessons, VERIFY_PARALLEL (default 3) at once
 *   npm run verify:lessons -- --parallel 1      one at a time
 *   npm run verify:lessons -- 05-user-defined-bridges   only that lesson
 *
 * Exits 1 when any lesson fails, 2 when it could not run at all.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../sandbox/src/config.ts';
import { LAB_MANIFEST_DEFAULT } from '../contract/labspec.ts';
import { createDockerClient, engineStatus } from '../sandbox/src/docker.ts';
import { loadManifest } from '../sandbox/src/manifest.ts';
import { createRunner } from '../sandbox/src/server.ts';
import { formatReport, verifyLessons } from '../sandbox/tools/verifier.ts';
import { ROOT, siteIsStale } from './steps.ts';

/**
 * Lessons verified at once by default. Each lab host starts a dockerd (about 1 s of CPU) and
 * most of a lesson is waiting (DNS and wget timeouts the lessons demonstrate), so 3 keeps a
 * 2-core machine busy without starving the labs' own timing.
 */
const DEFAULT_PARALLEL = 3;
/**
 * Its own instance name, one per checkout: a verify run reaps only what an earlier verify run
 * of the same checkout left behind, never a dev server's labs or another checkout's run.
 */
const INSTANCE = `verify-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { parallel: { type: 'string' }, verbose: { type: 'boolean', default: false } },
});
const parallel = Number(values.parallel ?? process.env.VERIFY_PARALLEL ?? DEFAULT_PARALLEL);
if (!Number.isInteger(parallel) || parallel < 1) {
  console.error(`--parallel (or VERIFY_PARALLEL) must be a whole number of at least 1, not "${values.parallel ?? process.env.VERIFY_PARALLEL}".`);
  process.exit(2);
}

const siteDir = path.join(ROOT, 'dist');
if (siteIsStale()) console.warn('Note: the site sources changed since the last build; this verifies the built lessons in dist/. Run "npm run build" first to verify your edits.');
const config = loadConfig({
  ...process.env, HOST: '127.0.0.1', PORT: '0', LAB_INSTANCE: INSTANCE, LAB_SITE_DIR: siteDir, LAB_MANIFEST: path.join(ROOT, LAB_MANIFEST_DEFAULT),
  // Every lab comes from this process (127.0.0.1): per-address limits would only cap --parallel.
  LAB_MAX_LABS_PER_ADDRESS: '1000', LAB_CREATE_RATE: '1000', LAB_MAX_CONNECTIONS_PER_ADDRESS: '100000',
});
const docker = createDockerClient();
const engine = await engineStatus(docker);
if (!engine.available) {
  console.error(`${engine.message}\nLesson verification runs every lesson in a real lab, so it needs Docker.`);
  process.exit(2);
}
const log = (line: string) => {
  if (values.verbose) console.log(`[runner] ${line}`);
};
const manifest = loadManifest(config.manifestFile, (line) => console.error(line));
const runner = createRunner(config, docker, log);
await runner.labs.reapAll();
await new Promise<void>((resolve) => runner.server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(runner.server.address() as { port: number }).port}`;
const interrupted = () => void runner.close({ removeLabs: true }).then(() => process.exit(130));
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

// The lab hosts' engine (the machine's own engine only runs them).
const labEngine = config.engines[0]!;
console.log(`Verifying lessons in real labs (lab hosts: Docker Engine ${labEngine.version}; the machine's engine: ${engine.version}), up to ${parallel} at once:`);
const started = performance.now();
let code = 0;
try {
  const reports = await verifyLessons({ url, manifest, engine: labEngine, parallel, only: positionals, log: (line) => console.log(line) });
  console.log(`\n${formatReport(reports, performance.now() - started, parallel)}`);
  code = reports.every((r) => r.ok) ? 0 : 1;
} catch (err) {
  console.error(`Lesson verification could not run: ${(err as Error).message}`);
  code = 2;
} finally {
  await runner.close({ removeLabs: true });
}
process.exit(code);
