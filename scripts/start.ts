/**
 * `npm start`: build what is missing (the site when its sources changed, the lab images when
 * Docker is reachable), then run the server. Without Docker it still serves the lessons.
 */
import { buildSite, siteIsStale, step } from './steps.ts';
import { createDockerClient, engineStatus } from '../sandbox/src/docker.ts';
import { ensureImages } from '../sandbox/src/images.ts';
import { loadConfig } from '../sandbox/src/config.ts';

const config = loadConfig();
if (siteIsStale()) {
  step('Building the course site (its sources changed since the last build)');
  buildSite();
}

const docker = createDockerClient();
const engine = await engineStatus(docker);
if (engine.available) {
  step(`Checking the lab images (Docker Engine ${engine.version})`);
  try {
    const { built } = await ensureImages(docker, { suite: config.LAB_SUITE, log: (line) => console.log(line) });
    console.log(built.length ? `Built ${built.join(', ')}.` : 'All lab images are up to date.');
  } catch (err) {
    console.error(`The lab images could not be built: ${(err as Error).message}\nThe lessons are still served; labs will say what is missing.`);
  }
} else {
  console.log(`\n${engine.message}\nThe lessons are still served; labs are unavailable until Docker runs.`);
}

step('Starting the server');
await import('../sandbox/src/main.ts');
