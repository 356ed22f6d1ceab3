/**
 * `npm start`: build what is missing (the site when its sources changed, the lab images when
 * Docker is reachable), then run the server. Without Docker it still serves the lessons.
 *
 * The default engine's lab host images are built before the server starts; the other engines'
 * (LAB_ENGINES) while it serves, one after another. A first start builds a Debian base and a lab
 * host per suite, minutes each on a small machine: building them all first would double the wait
 * for the first page for an engine most learners never choose. Until its images are built an
 * engine is offered as `preparing` (sandbox/src/preparing.ts): health says so and the lab panel
 * offers it once it is ready (with LAB_OWN_ENGINE=1 once it is copied into the lab engine too).
 * On later starts every image is up to date in seconds.
 */
import { buildSite, siteIsStale, step } from './steps.ts';
import { createDockerClient, engineStatus } from '../sandbox/src/docker.ts';
import { ensureImages } from '../sandbox/src/images.ts';
import { copyImages, labEngineClient } from '../sandbox/src/labengine.ts';
import { IMAGES } from '../sandbox/src/names.ts';
import { loadConfig } from '../sandbox/src/config.ts';
import { listenProblem } from '../sandbox/src/listen.ts';
import { setPreparing } from '../sandbox/src/preparing.ts';
import type { Engine } from '../contract/labspec.ts';

const config = loadConfig();
// Before the builds, which can take minutes: a port in use is said now, not after them.
const taken = await listenProblem(config.HOST, config.PORT);
if (taken) {
  console.error(taken);
  process.exit(1);
}
if (siteIsStale()) {
  step('Building the course site (its sources changed since the last build)');
  buildSite();
}

/** Build one engine's lab images, or say why they could not be (the lessons are served anyway). */
async function buildImages(engine: Engine, log: (line: string) => void): Promise<void> {
  try {
    const { built } = await ensureImages(docker, { suite: engine.suite, log });
    log(built.length ? `Built ${built.join(', ')}.` : `The lab images for Docker Engine ${engine.version} are up to date.`);
  } catch (err) {
    console.error(`The lab images for Docker Engine ${engine.version} could not be built: ${(err as Error).message}\nThe lessons are still served; labs on that engine say what is missing.`);
  }
}

const docker = createDockerClient();
const engine = await engineStatus(docker);
const [first, ...others] = config.engines;
if (engine.available) {
  step(`Checking the lab images for Docker Engine ${first!.version} (the machine's Docker Engine ${engine.version})`);
  await buildImages(first!, (line) => console.log(line));
  for (const e of others) setPreparing(e.suite, true);
} else {
  console.log(`\n${engine.message}\nThe lessons are still served; labs are unavailable until the runner can reach Docker.`);
}

step('Starting the server');
await import('../sandbox/src/main.ts');

if (engine.available && others.length > 0) {
  void (async () => {
    for (const e of others) {
      const log = (line: string) => console.log(`[images ${e.suite}] ${line}`);
      log(`checking the lab images for Docker Engine ${e.version} while the server runs`);
      await buildImages(e, log);
      // The lab engine (LAB_OWN_ENGINE=1) got the images there were when it started: this one too.
      if (config.LAB_OWN_ENGINE) await copyImages(docker, labEngineClient(config), [IMAGES.labHost(e.suite)], log).catch((err: Error) => log(`not copied into the lab engine: ${err.message}`));
      setPreparing(e.suite, false);
    }
  })();
}
