/**
 * `npm test`: type checks, a fresh site build, the lab images (built if missing), every test
 * suite (unit, integration against the real Docker Engine, browser), then lesson verification.
 * Extra arguments go to vitest (e.g. `npm test -- sandbox/test/input.test.ts`).
 */
import { buildSite, run, step } from './steps.ts';
import { createDockerClient, engineStatus } from '../sandbox/src/docker.ts';
import { ensureImages } from '../sandbox/src/images.ts';
import { loadConfig } from '../sandbox/src/config.ts';

try {
  step('Type checking (astro check, tsc for sandbox/ and e2e/)');
  run('npm', ['run', '--silent', 'check']);

  step('Building the course site');
  buildSite();

  const docker = createDockerClient();
  const engine = await engineStatus(docker);
  if (!engine.available) throw new Error(`${engine.message}\nThe integration and browser tests need a running Docker Engine.`);
  step(`Lab images (Docker Engine ${engine.version})`);
  // The runner image too (from the site just built): sandbox/test/compose.test.ts runs it.
  await ensureImages(docker, { suite: loadConfig().LAB_SUITE, runner: true, log: (line) => console.log(line) });

  step('Tests');
  run('npx', ['vitest', 'run', ...process.argv.slice(2)]);

  // Only for a full run: `npm test -- some.test.ts` means just that file.
  if (process.argv.length <= 2) {
    step('Lesson verification: every lesson replayed in a real lab, every exercise proven');
    run('node', ['scripts/verify-lessons.ts']);
  }
} catch (err) {
  console.error(`\nnpm test failed: ${(err as Error).message}`);
  process.exit(1);
}
