/**
 * For lesson authors: start a lesson's lab without the web server, to try commands and copy
 * real output into the text; the containers stay until `down`.
 *
 *   node scripts/lab.ts up 05-user-defined-bridges    waits until the hosts are ready, prints their names
 *   docker exec -it <container> bash -l                a shell on a lab host (as a learner gets)
 *   node scripts/lab.ts down                           removes every lab this checkout's `up` made
 *
 * And for a workshop's organiser, `npm run labs:remove-all` (node scripts/lab.ts remove-all):
 * removes every lab of the runner instance LAB_INSTANCE names (default "default") and forgets
 * them. Stopping the runner keeps labs (a restart adopts them); this is how to end them all.
 * It also removes the instance's own lab engine (LAB_OWN_ENGINE=1) with its volume.
 * Stop the runner first, or its learners' terminals only learn it on its next sweep.
 *
 * Reads the lab spec from the build's lab manifest (.lab/lab-manifest.json): run `npm run build` after
 * changing a lesson's `lab:`.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { loadConfig } from '../sandbox/src/config.ts';
import { createDockerClient } from '../sandbox/src/docker.ts';
import { removeLabEngine } from '../sandbox/src/labengine.ts';
import { LabManager } from '../sandbox/src/labs.ts';
import { LAB_MANIFEST_DEFAULT } from '../contract/labspec.ts';
import { loadManifest } from '../sandbox/src/manifest.ts';
import { ROOT } from './steps.ts';

/** One instance name per checkout, apart from the server's and the verifier's. */
const INSTANCE = `author-${createHash('sha256').update(ROOT).digest('hex').slice(0, 8)}`;

const [command, lesson] = process.argv.slice(2);
const docker = createDockerClient();
const managerFor = (env: NodeJS.ProcessEnv) => {
  const config = loadConfig(env);
  return new LabManager(docker, config, loadManifest(config.manifestFile, (line) => console.error(line)));
};

if (command === 'remove-all') {
  const labs = managerFor(process.env);
  const config = loadConfig();
  // The lab engine (LAB_OWN_ENGINE=1) is one of the instance's containers: every lab in it goes
  // with it. Its volume and socket go whether the setting is on now or was on before.
  const engine = await removeLabEngine(docker, config.LAB_INSTANCE, config.ownEngineDir);
  const { containers, networks } = await labs.reapAll();
  console.log(`Removed ${containers + Number(engine)} container(s) and ${networks} network(s) of runner instance "${config.LAB_INSTANCE}"${engine ? ' (one of them its lab engine, with every lab in it; its volume went too)' : ''}, and forgot its labs.`);
  process.exit(0);
}
const labs = managerFor({ ...process.env, LAB_INSTANCE: INSTANCE, LAB_SITE_DIR: path.join(ROOT, 'dist'), LAB_MANIFEST: path.join(ROOT, LAB_MANIFEST_DEFAULT) });

if (command === 'up' && lesson) {
  const { lab } = await labs.create(lesson);
  await labs.waitReady(lab);
  console.log(`Lab ${lab.id} for ${lesson} (subnet ${lab.subnet}${lab.env.length ? `; ${lab.env.join(' ')}` : ''}):`);
  for (const host of lab.hosts) console.log(`  ${host.name}: docker exec -it ${host.containerName} bash -l`);
} else if (command === 'down') {
  const { containers, networks } = await labs.reapAll();
  console.log(`Removed ${containers} container(s) and ${networks} network(s).`);
} else {
  console.error('Usage: node scripts/lab.ts up <lesson> | down | remove-all');
  process.exit(2);
}
