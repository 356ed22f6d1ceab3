/**
 * Test harness for the runner's integration tests: a real runner process, real labs on the real
 * engine, and a terminal client that behaves like the browser's (binary frames, acks).
 * No Docker mocks: the runner under test talks to the engine tests run against.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Docker from 'dockerode';
import { compileLesson } from '../../src/markdown/lesson-steps.ts';
import type { LabCreated } from '../../contract/api.ts';
export { PROMPT, TerminalClient, stripAnsi } from '../tools/terminal-client.ts';
import { TerminalClient } from '../tools/terminal-client.ts';
import { LabClient, type Answer, type RequestOptions } from '../tools/lab-client.ts';
import { LABELS } from '../src/names.ts';
import { execCollect } from '../src/labhost.ts';
import { LAB_MANIFEST_DEFAULT, labManifestSchema, type LabManifest, type ManifestLesson } from '../../contract/labspec.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const docker = new Docker();

/** How long a runner may take to print that it listens (it reaps and probes the engine first). */
const RUNNER_START_TIMEOUT_MS = 30_000;

export interface RunningRunner {
  url: string;
  port: number;
  proc: ChildProcess;
  /** The environment it was started with (instance, state folder, port): start it again with this. */
  env: Record<string, string>;
  output: () => string;
  /**
   * SIGTERM and wait for exit, then remove what it kept (its labs, which a runner keeps across
   * a stop, and its state folder): a test leaves nothing behind. Resolves with the exit code.
   */
  stop(): Promise<number | null>;
  /** SIGTERM (or another signal) and wait for exit, keeping its labs and state for a successor. */
  signal(signal?: NodeJS.Signals): Promise<number | null>;
  /** RSS of the runner process in bytes, from /proc. */
  rss(): number;
  /** File descriptors the runner process holds open, from /proc. */
  openFiles(): number;
}

export function uniqueInstance(name: string): string {
  return `test-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Remove every container and network of a runner instance, as `npm run labs:remove-all` does. */
export async function removeInstance(instance: string): Promise<void> {
  const filters = JSON.stringify({ label: [`${LABELS.instance}=${instance}`] });
  const containers = await docker.listContainers({ all: true, filters });
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
  const networks = await docker.listNetworks({ filters });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => {})));
}

/**
 * Start a runner process. Each gets an instance name and a state folder of its own unless the
 * test passes them (to start a successor of a runner: `startRunner(first.env)`).
 */
export async function startRunner(env: Record<string, string> = {}): Promise<RunningRunner> {
  const runnerEnv: Record<string, string> = {
    PORT: '0',
    HOST: '127.0.0.1',
    LAB_INSTANCE: uniqueInstance('runner'),
    LAB_STATE_DIR: mkdtempSync(path.join(tmpdir(), 'dnl-state-')),
    // No warm pool unless a test asks for one: tests that count a runner's containers, or
    // its engine load, would otherwise see the pool filling in the background.
    LAB_POOL_SIZE: '0',
    // Tests start many labs from 127.0.0.1; the ones about these limits set them lower.
    LAB_MAX_LABS_PER_ADDRESS: '1000',
    LAB_CREATE_RATE: '1000',
    ...env,
  };
  const proc = spawn(process.execPath, [path.join(ROOT, 'sandbox/src/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, ...runnerEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner did not start:\n${out}`)), RUNNER_START_TIMEOUT_MS);
    const check = () => {
      const m = /ready on (http:\/\/[^\s]+?)\/?\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runner exited with ${code}:\n${out}`));
    });
  });
  const port = Number(new URL(url).port);
  const signal = (sig: NodeJS.Signals = 'SIGTERM') =>
    new Promise<number | null>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
      proc.once('exit', (code) => resolve(code));
      proc.kill(sig);
    });
  return {
    url,
    port,
    proc,
    // PORT as it turned out, so a successor listens where the pages and clients look.
    env: { ...runnerEnv, PORT: String(port) },
    output: () => out,
    rss: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) * 1024,
    openFiles: () => readdirSync(`/proc/${proc.pid}/fd`).length,
    signal,
    stop: async () => {
      const code = await signal('SIGTERM');
      await removeInstance(runnerEnv.LAB_INSTANCE!);
      rmSync(runnerEnv.LAB_STATE_DIR!, { recursive: true, force: true });
      return code;
    },
  };
}

export type FixtureLesson = Omit<ManifestLesson, 'exercises' | 'blocks'> & Partial<Pick<ManifestLesson, 'exercises' | 'blocks'>>;

/**
 * A fixture lesson written in MDX, turned into its manifest entry by the same plugin and
 * processor the site build uses (the test supplies the frontmatter's lab).
 */
export async function lessonFromMdx(file: string, hosts: string[] = ['host1']): Promise<FixtureLesson> {
  const { steps } = await compileLesson(readFileSync(file, 'utf8'), pathToFileURL(file), { lab: { hosts } });
  return { title: path.basename(file, '.mdx'), file: path.relative(ROOT, file), lab: { hosts }, ...steps };
}

/** Environment that points a runner at a fixture site: spread it into startRunner's. */
export interface FixtureSite {
  LAB_SITE_DIR: string;
  LAB_MANIFEST: string;
}

/**
 * An empty site and a lab manifest beside it, laid out as a build lays them out (dist/ and
 * .lab/lab-manifest.json), for labs whose shape no lesson needs yet.
 */
export function fixtureSite(lessons: Record<string, FixtureLesson>): FixtureSite {
  const dir = mkdtempSync(path.join(tmpdir(), 'dnl-site-'));
  const site = { LAB_SITE_DIR: path.join(dir, 'dist'), LAB_MANIFEST: path.join(dir, LAB_MANIFEST_DEFAULT) };
  mkdirSync(site.LAB_SITE_DIR);
  mkdirSync(path.dirname(site.LAB_MANIFEST));
  const manifest: LabManifest = {
    lessons: Object.fromEntries(Object.entries(lessons).map(([slug, l]) => [slug, { exercises: [], blocks: [], ...l }])),
  };
  writeFileSync(site.LAB_MANIFEST, JSON.stringify(labManifestSchema.parse(manifest)));
  return site;
}

/**
 * Any request to `runner`, whatever it answers (the lab client's raw form); `json` is loose so
 * tests can look into any answer, well-formed or not.
 */
export function api(runner: RunningRunner, method: string, pathname: string, opts: RequestOptions = {}): Promise<Answer<any>> {
  return new LabClient(runner.url).request(method, pathname, opts);
}

/**
 * Like `api`, but from another loopback address (e.g. 127.0.0.2), as a second client machine
 * would be seen: the runner charges per-address limits to the socket's address.
 */
export function apiFrom(localAddress: string, runner: RunningRunner, method: string, pathname: string, opts: RequestOptions = {}): Promise<Answer<any>> {
  return new LabClient(runner.url, { localAddress }).request(method, pathname, opts);
}

export function createLab(runner: RunningRunner, lesson: string, headers: Record<string, string> = {}): Promise<LabCreated> {
  return new LabClient(runner.url).create(lesson, { headers });
}

/**
 * After hostile input: the runner has not exited, health answers, and a new terminal on `lab`'s
 * first host echoes. Throws saying what failed.
 */
export async function assertStillServes(runner: RunningRunner, lab: LabCreated): Promise<void> {
  if (runner.proc.exitCode !== null || runner.proc.signalCode !== null) throw new Error(`the runner exited; its output:\n${runner.output().slice(-3000)}`);
  // Throws, with the runner's answer, unless health answers 200.
  await new LabClient(runner.url).health();
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

/** The p-th percentile (nearest rank) of some samples. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Pause between echo samples (ms): a fast typist's pace, so samples do not queue behind each other. */
const ECHO_INTERVAL_MS = 40;

/**
 * Type one character at a time at a shell prompt and time how long its echo takes to come back
 * (ms); Ctrl-U clears the line every 40 characters and at the end.
 */
export async function echoRoundTrips(term: TerminalClient, samples: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const from = term.position;
    const started = performance.now();
    term.type('x');
    await term.waitFor(/x/, 5_000, from);
    times.push(performance.now() - started);
    if (i % 40 === 39) term.type('\x15');
    await new Promise((r) => setTimeout(r, ECHO_INTERVAL_MS));
  }
  term.type('\x15');
  return times;
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
