/**
 * `npm test`: type checks, a fresh site build, the lab images of every engine (built if
 * missing), every test suite (unit, integration against the real Docker Engine, browser), then
 * lesson verification on every engine.
 * Extra arguments go to vitest (e.g. `npm test -- sandbox/test/input.test.ts`).
 */
import { buildSite, run, step } from './steps.ts';
import { createDockerClient, engineStatus } from '../sandbox/src/docker.ts';
import { ensureImages } from '../sandbox/src/images.ts';
import { ENGINES } from '../contract/labspec.ts';

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
    step('Lesson verification: every lesson replayed in a real lab on every engine, every exercise proven');
    // Every engine by name: one whose lab host image is missing fails the run instead of being skipped.
    run('node', ['scripts/verify-lessons.ts', ...ENGINES.flatMap((e) => ['--engine', e.id])]);
  }
} catch (err) {
  console.error(`\nnpm test failed: ${(err as Error).message}`);
  process.exit(1);
}
