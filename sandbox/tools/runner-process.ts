/**
 * A runner as a child process, for the integration tests and the benchmark: start one with its
 * own instance name and state folder (or a successor of one), stop it and remove all it made, and
 * lay out a fixture site (a lab manifest of made-up lessons) for labs no real lesson needs.
 *
 * It does not drive labs (lab-client.ts and terminal-client.ts do) and writes no lesson from MDX
 * (the test harness does, with the site's own compiler, which the bench does not need).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LAB_MANIFEST_DEFAULT, labManifestSchema, type LabManifest, type ManifestLesson } from '../../contract/labspec.ts';
import Docker from 'dockerode';
import { loadConfig } from '../src/config.ts';
import { createDockerClient } from '../src/docker.ts';
import { removeLabEngine } from '../src/labengine.ts';
import { LABELS } from '../src/names.ts';
import { LabClient } from './lab-client.ts';

/** The checkout's root folder, where a runner process starts. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** How long a runner may take to print that it listens (it reaps and probes the engine first). */
const RUNNER_START_TIMEOUT_MS = 30_000;

export interface RunningRunner {
  url: string;
  port: number;
  /** The lab API of this runner. */
  client: LabClient;
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

/**
 * Remove every container and network of a runner instance, as `npm run labs:remove-all` does, on
 * the engine at `dockerHost` (a DOCKER_HOST such as unix:///run/x.sock; the default engine unset),
 * its own lab engine (LAB_OWN_ENGINE=1) included, with its volume and its socket in `ownEngineDir`.
 */
export async function removeInstance(instance: string, dockerHost?: string, ownEngineDir?: string): Promise<void> {
  const docker = dockerHost ? new Docker({ socketPath: dockerHost.replace(/^unix:\/\//, '') }) : createDockerClient();
  const filters = JSON.stringify({ label: [`${LABELS.instance}=${instance}`] });
  // A runner pointed at an engine that is not there (labs.test.ts) made nothing to remove.
  const containers = await docker.listContainers({ all: true, filters }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') return null;
    throw err;
  });
  if (containers === null) return;
  await removeLabEngine(docker, instance, ownEngineDir);
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => {})));
  const networks = await docker.listNetworks({ filters });
  await Promise.all(networks.map((n) => docker.getNetwork(n.Id).remove().catch(() => {})));
}

/** The runner's LAB_OWN_ENGINE_DIR as it read it; none if its settings were not valid (it did not start). */
function ownEngineDirOf(env: Record<string, string>): string | undefined {
  try {
    return loadConfig(env).ownEngineDir;
  } catch {
    return undefined;
  }
}

/**
 * Start a runner process. Each gets an instance name and a state folder of its own unless the
 * caller passes them (to start a successor of a runner: `startRunner(first.env)`).
 * `startTimeoutMs`: longer for a slow machine (the emulated guest of scripts/guest.ts).
 */
export async function startRunner(env: Record<string, string> = {}, opts: { startTimeoutMs?: number } = {}): Promise<RunningRunner> {
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
    const timer = setTimeout(() => reject(new Error(`runner did not start:\n${out}`)), opts.startTimeoutMs ?? RUNNER_START_TIMEOUT_MS);
    const check = () => {
      const m = /ready on (http:\/\/[^\s]+?)\/?\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
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
    client: new LabClient(url),
    proc,
    // PORT as it turned out, so a successor listens where the pages and clients look.
    env: { ...runnerEnv, PORT: String(port) },
    output: () => out,
    rss: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) * 1024,
    openFiles: () => readdirSync(`/proc/${proc.pid}/fd`).length,
    signal,
    stop: async () => {
      const code = await signal('SIGTERM');
      await removeInstance(runnerEnv.LAB_INSTANCE!, runnerEnv.DOCKER_HOST, ownEngineDirOf(runnerEnv));
      rmSync(runnerEnv.LAB_STATE_DIR!, { recursive: true, force: true });
      return code;
    },
  };
}

export type FixtureLesson = Omit<ManifestLesson, 'exercises' | 'blocks'> & Partial<Pick<ManifestLesson, 'exercises' | 'blocks'>>;

/** Environment that points a runner at a fixture site: spread it into startRunner's. */
export interface FixtureSite {
  LAB_SITE_DIR: string;
  LAB_MANIFEST: string;
}

/**
 * An empty site and a lab manifest beside it, laid out as a build lays them out (dist/ and
 * .lab/lab-manifest.json), for labs whose shape no lesson needs yet; `translations` by locale then slug.
 */
export function fixtureSite(lessons: Record<string, FixtureLesson>, translations: Record<string, Record<string, FixtureLesson>> = {}): FixtureSite {
  const dir = mkdtempSync(path.join(tmpdir(), 'dnl-site-'));
  const site = { LAB_SITE_DIR: path.join(dir, 'dist'), LAB_MANIFEST: path.join(dir, LAB_MANIFEST_DEFAULT) };
  mkdirSync(site.LAB_SITE_DIR);
  mkdirSync(path.dirname(site.LAB_MANIFEST));
  const full = (set: Record<string, FixtureLesson>) => Object.fromEntries(Object.entries(set).map(([slug, l]) => [slug, { exercises: [], blocks: [], ...l }]));
  const manifest: LabManifest = {
    lessons: full(lessons),
    translations: Object.fromEntries(Object.entries(translations).map(([locale, set]) => [locale, full(set)])),
  };
  writeFileSync(site.LAB_MANIFEST, JSON.stringify(labManifestSchema.parse(manifest)));
  return site;
}
