/**
 * `npm run verify:lessons`: replay every lesson with a lab in a real lab and prove its exercises
 * (see sandbox/tools/verifier.ts), on every Docker Engine the runner offers (LAB_ENGINES whose lab
 * host image is built), every engine and language from one queue (verifier.ts, nextJob). Needs the
 * built site (dist/ and .lab/lab-manifest.json), the lab images and a running Docker Engine;
 * starts its own runner on a free loopback port.
 *
 *   npm run verify:lessons                      all lessons on every engine, VERIFY_PARALLEL (default 4) at once
 *   npm run verify:lessons -- --engine 26       on Docker Engine 26.1.5 only (repeat --engine for more)
 *   npm run verify:lessons -- --parallel 1      one at a time
 *   npm run verify:lessons -- 05-user-defined-bridges   only that lesson
 *   npm run verify:lessons -- --lang zh         only the Chinese chapters (repeat --lang for more; en is English)
 *
 * Without --lang every language is verified: English on every engine, each translation on the first
 * engine (the runner's default). A translation has the same commands as its English chapter (the
 * build checks that), so engines don't tell its replay anything new; its checks, whose sentences
 * are translated, are what it proves, and those run the same on every engine.
 *
 * Before an engine's lessons it checks that a lab host of that engine runs it (`docker version`).
 * Prints a report per engine and language, then a summary line for each and the queue's wall
 * time. Exits 1 when any lesson fails, 2 when it could not run at all (no Docker, an --engine
 * that is unknown or not built, a lab host running another version).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../sandbox/src/config.ts';
import { ENGINES, LAB_MANIFEST_DEFAULT, engineById } from '../contract/labspec.ts';
import { createDockerClient, engineStatus } from '../sandbox/src/docker.ts';
import { loadManifest } from '../sandbox/src/manifest.ts';
import { createRunner } from '../sandbox/src/server.ts';
import { engineSummary, formatReport, proveEngine, totalLine, verifyLessons, type VerifyRun } from '../sandbox/tools/verifier.ts';
import { ROOT, siteIsStale } from './steps.ts';

/**
 * Lessons verified at once by default. Each lab host starts a dockerd (about 1 s of CPU) and
 * most of a lesson is waiting (DNS and wget timeouts the lessons demonstrate). On this project's
 * 2-core machine all 45 replays (two engines, two languages) took 452 s at 4 with lessons as long
 * as at 3 (05 39.6 s against 41.0 s), against 673 s for three queues of 3 one after another; at 6
 * the CPU was saturated, lessons took up to 60% longer, and a race in a lesson showed (chapter 04).
 */
const DEFAULT_PARALLEL = 4;
/**
 * Its own instance name, one per checkout: a verify run reaps only what an earlier verify run
 * of the same checkout left behind, never a dev server's labs or another checkout's run.
 */
const INSTANCE = `verify-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    parallel: { type: 'string' },
    engine: { type: 'string', multiple: true },
    lang: { type: 'string', multiple: true },
    verbose: { type: 'boolean', default: false },
  },
});
const asked = values.engine ?? [];
const unknownEngine = asked.find((id) => !engineById(id));
if (unknownEngine !== undefined) {
  console.error(`--engine ${unknownEngine}: there is no such engine; use ${ENGINES.map((e) => `${e.id} (Docker Engine ${e.version})`).join(' or ')}.`);
  process.exit(2);
}
const parallel = Number(values.parallel ?? process.env.VERIFY_PARALLEL ?? DEFAULT_PARALLEL);
if (!Number.isInteger(parallel) || parallel < 1) {
  console.error(`--parallel (or VERIFY_PARALLEL) must be a whole number of at least 1, not "${values.parallel ?? process.env.VERIFY_PARALLEL}".`);
  process.exit(2);
}

const siteDir = path.join(ROOT, 'dist');
if (siteIsStale()) console.warn('Note: the site sources changed since the last build; this verifies the built lessons in dist/. Run "npm run build" first to verify your edits.');
const config = loadConfig({
  ...process.env,
  // --engine: the runner offers those (whatever LAB_ENGINES or the deprecated LAB_SUITE say).
  ...(asked.length ? { LAB_ENGINES: asked.join(','), LAB_SUITE: undefined } : {}),
  HOST: '127.0.0.1', PORT: '0', LAB_INSTANCE: INSTANCE, LAB_SITE_DIR: siteDir, LAB_MANIFEST: path.join(ROOT, LAB_MANIFEST_DEFAULT),
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
const languages = ['en', ...Object.keys(manifest.translations)];
const unknownLang = (values.lang ?? []).find((l) => !languages.includes(l));
if (unknownLang !== undefined) {
  console.error(`--lang ${unknownLang}: the built course has no such language; use ${languages.join(' or ')}.`);
  process.exit(2);
}
const runner = createRunner(config, docker, log);
await runner.labs.reapAll();
await new Promise<void>((resolve) => runner.server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(runner.server.address() as { port: number }).port}`;
const interrupted = () => void runner.close({ removeLabs: true }).then(() => process.exit(130));
process.once('SIGINT', interrupted);
process.once('SIGTERM', interrupted);

// The lab hosts' engines (the machine's own engine only runs them): those the runner offers.
const offers = await runner.labs.engineOffers();
const engines = config.engines.filter((e) => offers.some((o) => o.id === e.id && o.state === 'ready'));
for (const e of config.engines.filter((e) => !engines.includes(e))) {
  console.log(`Docker Engine ${e.version} is not verified: its lab host image is not built (npm run build:images -- --suite ${e.suite}).`);
}
// An engine asked for by name (npm test asks for all) must be verified, not skipped.
let code = asked.length > 0 && engines.length < config.engines.length ? 2 : 0;
const summaries: string[] = [];
try {
  const runs: VerifyRun[] = [];
  for (const [i, labEngine] of (code === 0 ? engines : []).entries()) {
    await proveEngine(url, positionals[0] ?? Object.keys(manifest.lessons)[0]!, labEngine);
    // English on every engine; a translation on the first (see the header).
    for (const lang of values.lang ?? (i === 0 ? languages : ['en'])) runs.push({ engine: labEngine, lang: lang === 'en' ? undefined : lang });
  }
  const name = (run: VerifyRun) => `${run.lang ? ` in ${run.lang}` : ''} on Docker Engine ${run.engine.version}`;
  if (runs.length > 0) {
    console.log(`\nVerifying lessons in real labs (the machine's engine: ${engine.version}), up to ${parallel} at once from one queue:${runs.map((r) => `\n  lessons${name(r)}`).join('')}\n`);
    const started = performance.now();
    const reports = await verifyLessons({ url, manifest, runs, parallel, only: positionals, log: (line) => console.log(line) });
    const wall = performance.now() - started;
    for (const [i, run] of runs.entries()) console.log(`\nLessons${name(run)}:\n${formatReport(reports[i]!)}`);
    summaries.push(...runs.map((run, i) => engineSummary(run.engine, reports[i]!, run.lang)), totalLine(reports, wall, parallel));
    if (!reports.flat().every((r) => r.ok)) code = 1;
  }
} catch (err) {
  console.error(`Lesson verification could not run: ${(err as Error).message}`);
  code = 2;
} finally {
  if (summaries.length) console.log(`\n${summaries.join('\n')}`);
  await runner.close({ removeLabs: true });
}
process.exit(code);
