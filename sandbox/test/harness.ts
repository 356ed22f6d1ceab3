/**
 * Test harness for the runner's integration tests: a real runner process, real labs on the real
 * engine, and a terminal client that behaves like the browser's (binary frames, acks).
 * No Docker mocks: the runner under test talks to the engine tests run against.
 *
 * The runner process, the lab API client, the terminal client and the echo measure are the
 * tools' (sandbox/tools/), re-exported here; this module adds what only tests need: lessons
 * from MDX, thin request helpers that return any answer, counts of what a lab left on the
 * engine, commands in a lab host, raw bytes to the runner.
 */
import { connect, createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { compileLesson } from '../../src/markdown/lesson-steps.ts';
import { INSTRUCTOR_ROUTES, type HealthStatus, type LabCreated } from '../../contract/api.ts';
import { TerminalClient } from '../tools/terminal-client.ts';
import { LabClient, type Answer, type RequestOptions } from '../tools/lab-client.ts';
import { ROOT, fixtureSite, startRunner, uniqueInstance, type FixtureLesson, type RunningRunner } from '../tools/runner-process.ts';
import { LABELS } from '../src/names.ts';
import { execCollect } from '../src/labhost.ts';
export { PROMPT, TerminalClient, stripAnsi } from '../tools/terminal-client.ts';
export {
  ROOT, fixtureSite, removeInstance, startRunner, uniqueInstance, type FixtureLesson, type FixtureSite, type RunningRunner,
} from '../tools/runner-process.ts';
export { CLEAR_LINE, echoRoundTrips, percentile } from '../tools/measure.ts';

export const docker = new Docker();

/**
 * A fixture lesson written in MDX, turned into its manifest entry by the same plugin and
 * processor the site build uses (the test supplies the frontmatter's lab).
 */
export async function lessonFromMdx(file: string, hosts: string[] = ['host1']): Promise<FixtureLesson> {
  const { steps } = await compileLesson(readFileSync(file, 'utf8'), pathToFileURL(file), { lab: { hosts } });
  return { title: path.basename(file, '.mdx'), file: path.relative(ROOT, file), lab: { hosts }, ...steps };
}

/**
 * Any request to `runner`, whatever it answers (the lab client's raw form); `json` is loose so
 * tests can look into any answer, well-formed or not.
 */
export function api(runner: RunningRunner, method: string, pathname: string, opts: RequestOptions = {}): Promise<Answer<any>> {
  return runner.client.request(method, pathname, opts);
}

/**
 * Like `api`, but from another loopback address (e.g. 127.0.0.2), as a second client machine
 * would be seen: the runner charges per-address limits to the socket's address.
 */
export function apiFrom(localAddress: string, runner: RunningRunner, method: string, pathname: string, opts: RequestOptions = {}): Promise<Answer<any>> {
  return new LabClient(runner.url, { localAddress }).request(method, pathname, opts);
}

export function createLab(runner: RunningRunner, lesson: string, headers: Record<string, string> = {}): Promise<LabCreated> {
  return runner.client.create(lesson, { headers });
}

/**
 * After hostile input: the runner has not exited, health answers, and a new terminal on `lab`'s
 * first host echoes. Throws saying what failed.
 */
export async function assertStillServes(runner: RunningRunner, lab: LabCreated): Promise<void> {
  if (runner.proc.exitCode !== null || runner.proc.signalCode !== null) throw new Error(`the runner exited; its output:\n${runner.output().slice(-3000)}`);
  // Throws, with the runner's answer, unless health answers 200.
  await runner.client.health();
  const term = await TerminalClient.open(runner, lab, lab.hosts[0]!);
  try {
    await term.waitForPrompt();
    const out = await term.run('echo still-serving-$((40 + 2))');
    if (!out.includes('still-serving-42')) throw new Error(`the terminal did not echo; it showed:\n${out}`);
  } finally {
    term.close();
  }
}

/**
 * Open a terminal on every host of `lab` at once and wait for each prompt, as the lab page does.
 * A lab's later hosts start after its first one is up, so a test that reaches host2 from host1
 * must wait for host2 first, like a learner who sees its prompt.
 */
export async function openAll(runner: RunningRunner, lab: LabCreated): Promise<Record<string, TerminalClient>> {
  const terms = await Promise.all(lab.hosts.map(async (host) => {
    const term = await TerminalClient.open(runner, lab, host);
    await term.waitForPrompt();
    return [host, term] as const;
  }));
  return Object.fromEntries(terms);
}

/** Sign in to the instructor dashboard with `code`; the session cookie as a Cookie header value. Throws if refused. */
export async function signInInstructor(runner: RunningRunner, code: string): Promise<string> {
  const answer = await api(runner, 'POST', INSTRUCTOR_ROUTES.session.path(), { body: { code } });
  if (answer.status !== 204) throw new Error(`signing in answered ${answer.status}: ${answer.text}`);
  return String(answer.headers['set-cookie']).split(';')[0]!;
}

/** Wait until the runner's warm pool holds `ready` labs whose engines answer and none starting; resolves with its status. */
export async function poolReady(runner: RunningRunner, ready: number, timeoutMs = 60_000): Promise<HealthStatus['pool']> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { pool } = await runner.client.health();
    if (pool.ready >= ready && pool.starting === 0) return pool;
    if (Date.now() > deadline) throw new Error(`pool not ready after ${timeoutMs} ms: ${JSON.stringify(pool)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Everything on the engine that carries this lab's label. */
export async function labObjects(labId: string) {
  const filters = JSON.stringify({ label: [`${LABELS.lab}=${labId}`] });
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length, volumes: volumes.Volumes?.length ?? 0 };
}

export async function instanceObjects(instance: string) {
  const filters = JSON.stringify({ label: [`${LABELS.instance}=${instance}`] });
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  return { containers: containers.length, networks: networks.length };
}

/** Run a command in a lab host outside any terminal (with a TTY); returns exit code and output, or throws when it times out. */
export async function execIn(containerName: string, cmd: string[], timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  const { code, output, timedOut } = await execCollect(docker, containerName, cmd, { tty: true, timeoutMs });
  if (timedOut) throw new Error(`exec ${cmd.join(' ')} timed out; output: ${output}`);
  return { code, output };
}

/** Send raw bytes on a new connection; resolves with everything the runner answered before it closed. */
export function rawExchange(port: number, bytes: string | Buffer, timeoutMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const s = connect(port, '127.0.0.1', () => s.write(bytes));
    const done = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, timeoutMs);
    s.on('data', (d) => {
      answer += d.toString('latin1');
      // One full answer (headers and the body its length announces) is all these tests need.
      const head = answer.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(answer)?.[1] ?? NaN);
      if (head >= 0 && answer.length >= head + 4 + (Number.isNaN(length) ? 0 : length)) done();
    });
    s.on('error', done);
    s.on('close', done);
  });
}

/**
 * The lessons the runner's tests start labs of, by lab shape, from a lab manifest of their own
 * (labFixtures): what these tests check of the runner must not change when a lesson of the
 * course changes its text or its lab. The course's real pages are still what the runner serves.
 */
export const LESSONS = { oneHost: 'one-host', twoHosts: 'two-hosts' } as const;

let fixtureManifest: string | undefined;

/** Environment for startRunner: the fixture lessons above instead of the built course's manifest. */
export function labFixtures(): { LAB_MANIFEST: string } {
  const manifest = (fixtureManifest ??= fixtureSite({
    [LESSONS.oneHost]: { title: 'One host', lab: { hosts: ['host1'] } },
    [LESSONS.twoHosts]: { title: 'Two hosts', lab: { hosts: ['host1', 'host2'] } },
  }).LAB_MANIFEST);
  return { LAB_MANIFEST: manifest };
}

/** A port nobody listens on now (cells must know each other's ports before they start). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Runners on loopback as the cells of one workshop (LAB_CELL named as given, each knowing all
 * by LAB_CELL_PEERS, one secret, its own instance and subnet pool from 10.<firstSubnet + i>),
 * resolved once each has heard from all the others. `env` is added to every one.
 */
export async function startCells<C extends string>(cells: readonly C[], opts: { secret: string; firstSubnet: number; env?: Record<string, string> }): Promise<Record<C, RunningRunner>> {
  const ports = await Promise.all(cells.map(() => freePort()));
  const runners = {} as Record<C, RunningRunner>;
  await Promise.all(cells.map(async (cell, i) => {
    runners[cell] = await startRunner({
      PORT: String(ports[i]),
      LAB_INSTANCE: uniqueInstance(cell),
      LAB_CELL: cell,
      LAB_CELL_PEERS: ports.map((p) => `127.0.0.1:${p}`).join(','),
      LAB_CELL_SECRET: opts.secret,
      LAB_SUBNET_POOL: `10.${opts.firstSubnet + i}.0.0/16`,
      ...opts.env,
    });
  }));
  const deadline = Date.now() + 10_000;
  for (const cell of cells) {
    while ((await runners[cell].client.health()).cluster?.cells.filter((c) => c.reachable).length !== cells.length) {
      if (Date.now() > deadline) throw new Error(`cell ${cell} does not see all ${cells.length} cells`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return runners;
}
