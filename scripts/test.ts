/**
 * `npm test`: type checks, a fresh site build, the lab images of every engine (built if
 * missing), every test suite (unit, integration against the real Docker Engine, browser), then
 * lesson verification on every engine and, beside it, of the networking chapters under a second
 * engine that remaps user namespaces (sandbox/tools/userns-engine.ts starts it, as
 * sandbox/test/userns.test.ts does).
 * Extra arguments go to vitest (e.g. `npm test -- sandbox/test/input.test.ts`).
 */
import { buildSite, run, runBeside, step } from './steps.ts';
import { createDockerClient, engineStatus } from '../sandbox/src/docker.ts';
import { ensureImages } from '../sandbox/src/images.ts';
import { ENGINES } from '../contract/labspec.ts';
import { IMAGES } from '../sandbox/src/names.ts';
import { startUsernsEngine } from '../sandbox/tools/userns-engine.ts';

/** The chapters verified again under the remapped engine: those issue 21 names. */
const SANDBOXED_LESSONS = ['05-user-defined-bridges', '06-host-none-container-modes', '10-overlay-networks', '11-macvlan'];

try {
  step('Type checking (astro check, tsc for sandbox/ and e2e/)');
  run('npm', ['run', '--silent', 'check']);

  step('Building the course site');
  buildSite();

  const docker = createDockerClient();
  const engine = await engineStatus(docker);
  if (!engine.available) throw new Error(`${engine.message}\nThe integration and browser tests need a running Docker Engine.`);
  // Every engine's: the tests and the lesson verification run labs on each.
  for (const [i, e] of ENGINES.entries()) {
    step(`Lab images for Docker Engine ${e.version} (the machine's Docker Engine ${engine.version})`);
    // The runner image too, once (from the site just built): sandbox/test/compose.test.ts runs it.
    await ensureImages(docker, { suite: e.suite, runner: i === 0, log: (line) => console.log(line) });
  }

  step('Tests');
  run('npx', ['vitest', 'run', ...process.argv.slice(2)]);

  // Only for a full run: `npm test -- some.test.ts` means just that file.
  if (process.argv.length <= 2) {
    // Two at once, each in its own process and runner: every lesson on every engine and language
    // (one queue, VERIFY_PARALLEL at once), and beside it the sandboxed mode (README, "Security"):
    // the chapters whose networking a remapped engine could break (bridges, host/none, overlay
    // with swarm, macvlan), in English on the default engine, one at a time under a second engine
    // started with --userns-remap. One after the other they took 452 s and ~100 s (starting that
    // engine, then 60 s of lessons at 3 at once); side by side, on a machine busy with other
    // tests too, 547 s for both, the sandboxed chapters done after 170 s.
    step('Lesson verification: every lesson replayed in a real lab on every engine, every exercise proven; beside it, the networking chapters under a Docker Engine that remaps user namespaces (the sandboxed mode)');
    const everyEngine = runBeside('[verify]', 'node', ['scripts/verify-lessons.ts', ...ENGINES.flatMap((e) => ['--engine', e.id])]);
    const sandboxed = (async () => {
      const say = (line: string) => console.log(`[sandboxed] ${line}`);
      const remapped = await startUsernsEngine([IMAGES.labHost(ENGINES[0]!.suite)], say);
      try {
        await runBeside('[sandboxed]', 'node', ['scripts/verify-lessons.ts', '--engine', ENGINES[0]!.id, '--lang', 'en', '--parallel', '1', ...SANDBOXED_LESSONS], { ...process.env, DOCKER_HOST: remapped.host });
      } finally {
        await remapped.stop();
      }
    })();
    // Both finish (and clean up their labs) before a failure of either ends the run.
    const failed = (await Promise.allSettled([everyEngine, sandboxed])).find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
} catch (err) {
  console.error(`\nnpm test failed: ${(err as Error).message}`);
  process.exit(1);
}
