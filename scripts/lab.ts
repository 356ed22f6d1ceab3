/**
 * For lesson authors: start a lesson's lab without the web server, to try commands and copy
 * real output into the text; the containers stay until `down`.
 *
 *   node scripts/lab.ts up 05-user-defined-bridges    waits until the hosts are ready, prints their names
 *   docker exec -it <container> bash -l                a shell on a lab host (as a learner gets)
 *   node scripts/lab.ts down                           removes every lab this checkout's `up` made
 *
 * Reads the lab spec from the built site (dist/lab-manifest.json): run `npm run build` after
 * changing a lesson's `lab:`.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { loadConfig } from '../sandbox/src/config.ts';
import { createDockerClient } from '../sandbox/src/docker.ts';
import { LabManager } from '../sandbox/src/labs.ts';
import { LAB_HOST_PATHS } from '../sandbox/src/names.ts';
import { loadManifest } from '../sandbox/src/server.ts';
import { ROOT } from './steps.ts';

/** One instance name per checkout, apart from the server's and the verifier's. */
const INSTANCE = `author-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`;

const [command, lesson] = process.argv.slice(2);
const siteDir = path.join(ROOT, 'dist');
const config = loadConfig({ ...process.env, LAB_INSTANCE: INSTANCE, LAB_SITE_DIR: siteDir });
const docker = createDockerClient();
const labs = new LabManager(docker, config, loadManifest(siteDir, (line) => console.error(line)));

/** How long `up` waits for every lab host's engine and images (lab-shell waits 30 s; busy machines need more). */
const READY_TIMEOUT_MS = 90_000;

/** Wait until the lab host's entrypoint says its engine runs and the images are loaded. */
async function waitReady(containerName: string): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const exec = await docker.getContainer(containerName).exec({ Cmd: ['test', '-e', LAB_HOST_PATHS.ready] });
    await exec.start({ Detach: true });
    for (let i = 0; i < 20 && (await exec.inspect()).Running; i++) await new Promise((r) => setTimeout(r, 50));
    if ((await exec.inspect()).ExitCode === 0) return;
    if (Date.now() > deadline) throw new Error(`${containerName} is not ready after ${READY_TIMEOUT_MS / 1000} s; see docker exec ${containerName} cat /var/log/dockerd.log`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

if (command === 'up' && lesson) {
  const { lab } = await labs.create(lesson);
  await Promise.all(lab.hosts.map((h) => waitReady(h.containerName)));
  console.log(`Lab ${lab.id} for ${lesson} (subnet ${lab.subnet}${lab.env.length ? `; ${lab.env.join(' ')}` : ''}):`);
  for (const host of lab.hosts) console.log(`  ${host.name}: docker exec -it ${host.containerName} bash -l`);
} else if (command === 'down') {
  const { containers, networks } = await labs.reapAll();
  console.log(`Removed ${containers} container(s) and ${networks} network(s).`);
} else {
  console.error('Usage: node scripts/lab.ts up <lesson> | down');
  process.exit(2);
}
