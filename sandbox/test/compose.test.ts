/**
 * The runner as a container (compose.yaml, sandbox/images/runner): `docker compose up` on the
 * machine's engine serves the course and starts labs whose terminals answer, on the lab engine the
 * runner starts itself (LAB_OWN_ENGINE=1, labengine.ts: the sandboxed mode, its socket folder a
 * bind mount the runner finds by inspecting its own container); `docker compose restart`, a new
 * container (as after a new image), and `down` then `up` cost the learner nothing but a reconnect
 * and keep the same lab engine; `labs:remove-all` run in the image ends the labs with their engine,
 * and `down --volumes` then leaves nothing. The image is brought up to date first, as `npm test` does.
 * Needs the Compose v2 plugin (`docker compose`; .ci/install-compose installs it): without it the
 * test is skipped, saying so.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { labManifestSchema } from '../../contract/labspec.ts';
import { ISOLATION } from '../../contract/isolation.ts';
import { CLOSE_CODES } from '../../contract/protocol.ts';
import { loadConfig } from '../src/config.ts';
import { ensureImages } from '../src/images.ts';
import { labEngineName } from '../src/labengine.ts';
import { LABELS } from '../src/names.ts';
import { LabClient } from '../tools/lab-client.ts';
import { docker, instanceObjects, removeInstance, ROOT, TerminalClient, uniqueInstance } from './harness.ts';

const COMPOSE_FILE = path.join(ROOT, 'compose.yaml');
/** The runner's SIGTERM takes at most 15 s (main.ts), compose.yaml grants 20: a stop never needs more. */
const STOP_TIMEOUT_MS = 60_000;
/** From `up` or `restart` to an answering runner: it starts in about a second, adopting labs first. */
const START_TIMEOUT_MS = 60_000;

const version = spawnSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8' });
const composeMissing = version.status === 0 ? undefined
  : `docker compose (the Compose v2 plugin) is not installed here (${(version.stderr || version.error?.message || '').trim().split('\n')[0]}); .ci/install-compose installs it`;
if (composeMissing) console.warn(`sandbox/test/compose.test.ts is skipped: ${composeMissing}`);

/** A port nothing listens on now, for the runner (it shares the machine's network). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** The first lesson of the built course whose lab is one host. */
function oneHostLesson(): string {
  const manifest = labManifestSchema.parse(JSON.parse(readFileSync(path.join(ROOT, '.lab/lab-manifest.json'), 'utf8')));
  const found = Object.entries(manifest.lessons).find(([, lesson]) => lesson.lab?.hosts.length === 1 && !lesson.lab.macvlan);
  if (!found) throw new Error('no lesson of the built course has a one-host lab');
  return found[0];
}

describe.skipIf(composeMissing)('the runner as a container (docker compose)', () => {
  it('serves the course and a sandboxed lab whose terminal answers, keeps the lab and its engine across a restart, a new container and down/up, and ends them with labs:remove-all', async () => {
    const engine = loadConfig().engines[0]!;
    await ensureImages(docker, { suite: engine.suite, runner: true, log: () => {} });
    const project = uniqueInstance('compose');
    /** compose.yaml's socket folder for the lab engine, LAB_OWN_ENGINE_DIR's default for this instance. */
    const socketDir = `/run/dnl-lab-engine/${project}`;
    const port = await freePort();
    const env = {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      LAB_INSTANCE: project,
      LAB_POOL_SIZE: '0',
      // One lab host image to copy into the lab engine (~20 s), not every engine's.
      LAB_ENGINES: engine.id,
    };
    // No .env: a workshop's settings in the checkout (an access code, say) are not this test's.
    const compose = (...args: string[]) =>
      promisify(execFile)('docker', ['compose', '-f', COMPOSE_FILE, '-p', project, '--env-file', '/dev/null', ...args], { env, timeout: STOP_TIMEOUT_MS });
    const client = new LabClient(`http://127.0.0.1:${port}`);
    const answering = () => expect.poll(() => client.health().then((h) => h.engine.available, () => false), { timeout: START_TIMEOUT_MS, interval: 250 }).toBe(true);
    const down = () => compose('down', '--volumes', '--timeout', '20');
    const leftovers = async () => ({
      ...(await instanceObjects(project)),
      composeContainers: (await docker.listContainers({ all: true, filters: JSON.stringify({ label: [`com.docker.compose.project=${project}`] }) })).length,
      volumes: ((await docker.listVolumes({ filters: JSON.stringify({ name: [project] }) })).Volumes ?? []).length,
      instanceVolumes: ((await docker.listVolumes({ filters: JSON.stringify({ label: [`${LABELS.instance}=${project}`] }) })).Volumes ?? []).length,
      socketDir: existsSync(socketDir),
    });
    const labEngineId = async () => (await docker.getContainer(labEngineName(project)).inspect()).Id;
    let term: TerminalClient | undefined;
    try {
      await compose('up', '--detach');
      await answering();
      expect((await client.health()).isolation).toEqual({ sandboxed: true, sentence: ISOLATION.sandboxed });
      const engineId = await labEngineId();

      const page = `/lessons/${oneHostLesson()}/`;
      const served = await fetch(client.url + page);
      expect(served.status).toBe(200);
      expect(await served.text()).toBe(readFileSync(path.join(ROOT, 'dist', page, 'index.html'), 'utf8'));

      const lab = await client.create(oneHostLesson());
      term = await TerminalClient.open(client, lab, lab.hosts[0]!);
      await term.waitForPrompt();
      expect(await term.run('echo from-the-container-$((6 * 7))')).toContain('from-the-container-42');
      expect(await term.run('docker run --rm busybox echo inner-engine-answers')).toContain('inner-engine-answers');
      // Its root is another uid of the machine: uid_map's second field, seen from the lab engine,
      // whose user namespace is the machine's (0 there for a lab host on the machine's engine).
      expect(await term.run('echo "root-is-$(awk \'{print $2}\' /proc/self/uid_map)"')).toMatch(/root-is-[1-9]\d*/);
      await term.run('echo kept-across-the-restart > /root/notes.txt');

      // A restart keeps the container; recreating it (what `up` does after a new image) keeps
      // only the state volume; `down` and `up` remove the runner's container and make a new
      // one. Each time the learner's page reconnects to the same lab on the same lab engine.
      for (const action of [['restart'], ['up', '--detach', '--force-recreate'], ['down']]) {
        await compose(...action);
        if (action[0] === 'down') await compose('up', '--detach');
        expect(await term.waitClosed()).toBe(CLOSE_CODES.goingAway);
        await answering();
        expect((await compose('logs', 'runner')).stdout).toMatch(/took over 1 lab\(s\)/);
        term = await TerminalClient.open(client, lab, lab.hosts[0]!);
        await term.waitForPrompt();
        expect(await term.run('cat /root/notes.txt')).toContain('kept-across-the-restart');
        expect(await labEngineId()).toBe(engineId);
      }
      term.close();

      // The image's health check has run by now (every 10 s) and says what health says.
      await expect.poll(async () => (await docker.getContainer(`${project}-runner-1`).inspect()).State.Health?.Status, { timeout: 30_000, interval: 1_000 }).toBe('healthy');

      // `down` keeps the labs: on the machine's engine only their lab engine is of the instance.
      // Ending them all is the documented command, run in the image.
      await compose('down');
      expect(await instanceObjects(project)).toEqual({ containers: 1, networks: 0 });
      expect((await compose('run', '--rm', 'runner', 'node', 'scripts/lab.ts', 'remove-all')).stdout).toMatch(/Removed 1 container\(s\) and 0 network\(s\) .*\(one of them its lab engine/);
      await down();
      expect(await leftovers()).toEqual({ containers: 0, networks: 0, composeContainers: 0, volumes: 0, instanceVolumes: 0, socketDir: false });
    } finally {
      term?.close();
      await down().catch(() => {});
      await removeInstance(project, undefined, socketDir);
    }
  }, 420_000);
});
