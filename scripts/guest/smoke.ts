/**
 * The smoke path, run inside the guest by job.sh (Node 24 from the clone, which the guest sees
 * read-only): start the runner itself against the guest's Docker Engine, then as a learner
 * would, through the lab API and a terminal: create a lab, `docker network ls`, an inner
 * bridge with two containers pinging each other by name, the lab host's memory and pids limits
 * holding, DELETE, and nothing left in the engine. That is the first pass, with
 * LAB_HOST_PRIVILEGES=auto; then the runner is stopped and started again with
 * LAB_HOST_PRIVILEGES=privileged for a shorter second pass in the same boot, and again with
 * LAB_OWN_ENGINE=1 (the sandboxed mode: labs in a lab engine of the runner's own that remaps
 * users) for a third, which proves the lab host's root is an unprivileged uid of the guest and
 * that removing the runner's instance leaves the guest's engine empty (results.ts PASSES says
 * which steps each runs). Writes result.json (results.ts) to the job folder given as its
 * argument, whatever happens; the machine decides pass or fail.
 *
 *   node scripts/guest/smoke.ts JOB_FOLDER
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { loadConfig } from '../../sandbox/src/config.ts';
import { createDockerClient } from '../../sandbox/src/docker.ts';
import { labEngineClient, labEngineName, labEngineSocket } from '../../sandbox/src/labengine.ts';
import { IMAGES } from '../../sandbox/src/names.ts';
import { stripAnsi, TerminalClient } from '../../sandbox/tools/terminal-client.ts';
import { fixtureSite, startRunner, type RunningRunner } from '../../sandbox/tools/runner-process.ts';
import type { LabCreated } from '../../contract/api.ts';
import { PASSES, type GuestResult, type PassName, type PassResult, type SmokeStep, type StepResult } from './results.ts';

const jobDir = process.argv[2];
if (!jobDir) {
  console.error('usage: node scripts/guest/smoke.ts JOB_FOLDER');
  process.exit(2);
}

/**
 * Emulation is ~20-40x slower than the machine (platform notes): every wait is sized for that. A
 * runner with LAB_OWN_ENGINE=1 copies the lab host image into its lab engine before it is ready:
 * it was ready in 490 s (394 s of copy) beside a CI run.
 */
const RUNNER_START_TIMEOUT_MS = 15 * 60_000;
/** A lab host's engine answered ~85 s into an emulated boot; its own dockerd inside takes as long again. */
const LAB_ENGINE_START_TIMEOUT_S = 300;
const LAB_READY_TIMEOUT_S = 600;
/** Each inner `docker run` took 8-12 s emulated; a step runs up to four of them. */
const STEP_TIMEOUT_MS = 5 * 60_000;
/** Small limits so the hog and the fork loop reach them quickly; the lab host's own dockerd fits well under both. */
const HOST_MEMORY_BYTES = 384 * 1024 ** 2;
const HOST_PIDS = 256;
const LESSON = 'guest-smoke';

const docker = createDockerClient();
const result: GuestResult = { engine: null, passes: [], error: null };
const save = () => writeFileSync(path.join(jobDir, 'result.json'), JSON.stringify(result, null, 2));

/**
 * What a pass's steps share: its runner, its lab engine's socket and a client for it
 * (LAB_OWN_ENGINE=1), its lab and the lab's terminal once open.
 */
interface Pass { result: PassResult; runner: RunningRunner; labEngine?: { socket: string; docker: Docker }; lab?: LabCreated; term?: TerminalClient }
/** The pass running now, for diagnose(). */
let current: Pass | undefined;

/** Run a shell command in the terminal; its output and exit status (printed after it as rc=N). */
async function shell(term: TerminalClient, command: string): Promise<{ out: string; rc: number }> {
  const out = await term.run(`${command}; echo "rc=$?"`, STEP_TIMEOUT_MS);
  const rc = /rc=(\d+)/.exec(out);
  if (!rc) throw new Error(`no exit status after "${command}"; output:\n${out.slice(-1500)}`);
  return { out, rc: Number(rc[1]) };
}

/** The containers, networks other than the default ones and volumes on `engine`, by name, but those named `kept`. */
async function leftovers(engine: Docker, kept?: string): Promise<{ containers: string[]; networks: string[]; volumes: string[] }> {
  const keep = (name: string) => name !== kept;
  return {
    containers: (await engine.listContainers({ all: true })).map((c) => c.Names[0]!.replace(/^\//, '')).filter(keep),
    networks: (await engine.listNetworks()).map((n) => n.Name).filter((n) => !['bridge', 'host', 'none'].includes(n)).filter(keep),
    volumes: ((await engine.listVolumes()).Volumes ?? []).map((v) => v.Name).filter(keep),
  };
}

/** The uids the guest's dockerd processes run as (its own, the lab engine's and any lab host's), from the guest's /proc. */
function dockerdUids(): number[] {
  const uids = new Set<number>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      if (/^Name:\s+dockerd$/m.test(status)) uids.add(Number(/^Uid:\s+(\d+)/m.exec(status)![1]));
    } catch {} // it ended meanwhile
  }
  return [...uids].sort((a, b) => a - b);
}

/** Each step, by name: it returns [ok, detail]. */
const STEPS: Record<SmokeStep, (p: Pass) => Promise<[boolean, string]>> = {
  'create lab': async (p) => {
    p.lab = await p.runner.client.create(LESSON);
    return [true, `lab ${p.lab.id}`];
  },
  'open terminal': async (p) => {
    p.term = await TerminalClient.open(p.runner, p.lab!, 'host1');
    await p.term.waitForPrompt(LAB_READY_TIMEOUT_S * 1000);
    // How often the inner dockerd had to wait again for its containerd (lab-entrypoint's retry).
    const { out } = await shell(p.term, 'grep -c "timeout waiting for containerd" /var/log/dockerd.log');
    return [true, `prompt shown; the inner dockerd waited again for containerd ${/^(\d+)\s*$/m.exec(out)?.[1] ?? '?'} time(s)`];
  },
  'docker network ls': async (p) => {
    const { out, rc } = await shell(p.term!, 'docker network ls');
    const ok = rc === 0 && ['bridge', 'host', 'none'].every((n) => new RegExp(`\\s${n}\\s`).test(out));
    return [ok, ok ? 'bridge, host and none listed' : `rc=${rc}; output:\n${out.slice(-1500)}`];
  },
  'bridge ping by name': async (p) => {
    const { out, rc } = await shell(p.term!, 'docker network create smoke >/dev/null && docker run -d --name ping-a --network smoke busybox sleep 600 >/dev/null'
      + ' && docker run -d --name ping-b --network smoke busybox sleep 600 >/dev/null && docker exec ping-a ping -c 2 ping-b && docker exec ping-b ping -c 2 ping-a');
    await shell(p.term!, 'docker rm -f ping-a ping-b >/dev/null; docker network rm smoke >/dev/null');
    const replies = out.match(/2 packets received/g)?.length ?? 0;
    return [rc === 0 && replies === 2, `rc=${rc}, ${replies} of 2 pings answered by name${rc === 0 && replies === 2 ? '' : `; output:\n${out.slice(-1500)}`}`];
  },
  'lab host cgroup v2': async (p) => {
    const { out, rc } = await shell(p.term!, 'stat -fc %T /sys/fs/cgroup');
    const ok = rc === 0 && /^cgroup2fs\s*$/m.test(out);
    return [ok, ok ? '/sys/fs/cgroup in the lab host is cgroup2fs' : `rc=${rc}; output:\n${out.slice(-1500)}`];
  },
  'memory limit': async (p) => {
    // No -m on the inner container: only the lab host's own limit can stop the hog (ash doubling a string).
    const { out, rc } = await shell(p.term!, 'cat /sys/fs/cgroup/memory.max; docker run --rm busybox sh -c \'x=0123456789; while :; do x=$x$x; done\'');
    const limit = new RegExp(`^${HOST_MEMORY_BYTES}\\s*$`, 'm').test(out);
    return [limit && rc === 137, `memory.max ${limit ? `is ${HOST_MEMORY_BYTES}` : 'is not the configured limit'}; the hog ended with ${rc}${rc === 137 ? ' (killed at the limit)' : `; output:\n${out.slice(-1500)}`}`];
  },
  'pids limit': async (p) => {
    // The loop's shell kills its own process group (itself and its sleeps) when it exits, as dash
    // does at the first fork refused: nothing else could start a process (pkill) until they end.
    const { out } = await shell(p.term!, `cat /sys/fs/cgroup/pids.max; sh -c 'trap "kill 0" EXIT; i=0; while [ $i -lt ${HOST_PIDS * 2} ]; do sleep 120 & i=$((i+1)); done; echo spawned-all'`
      + ' >/tmp/forks.log 2>&1; tail -n 2 /tmp/forks.log');
    const limit = new RegExp(`^${HOST_PIDS}\\s*$`, 'm').test(out);
    const stopped = /Cannot fork|can't fork|Resource temporarily unavailable/i.test(out) && !/^spawned-all/m.test(out);
    return [limit && stopped, `pids.max ${limit ? `is ${HOST_PIDS}` : 'is not the configured limit'}; a loop of ${HOST_PIDS * 2} processes ${stopped ? 'was stopped by it' : `was not stopped; output:\n${out.slice(-1500)}`}`];
  },
  sandboxed: async (p) => {
    // The lab host's user namespace as the guest's init namespace sees it (the lab engine itself is not remapped).
    const { out, rc } = await shell(p.term!, 'cat /proc/self/uid_map');
    const map = /^\s*0\s+(\d+)\s+(\d+)\s*$/m.exec(stripAnsi(out));
    const root = map ? Number(map[1]) : undefined;
    const uids = dockerdUids();
    const isolation = (await p.runner.client.health()).isolation;
    const ok = rc === 0 && !!root && uids.includes(root) && isolation?.sandboxed === true;
    return [ok, `the lab host's root is uid ${root ?? '?'} on the guest (its uid_map: ${map ? map[0].trim().replace(/\s+/g, ' ') : 'not read'}); the guest's dockerd processes run as uid ${uids.join(', ')}; `
      + `health: sandboxed ${isolation?.sandboxed}, "${isolation?.sentence}"${ok ? '' : `; output:\n${out.slice(-1500)}`}`];
  },
  'delete lab': async (p) => {
    p.term?.close();
    await p.runner.client.delete(p.lab!);
    return [true, `lab ${p.lab!.id} deleted`];
  },
  'nothing left': async (p) => {
    // With LAB_OWN_ENGINE=1 the guest's engine keeps the lab engine and its volume (of one name) until
    // the instance is removed; the lab was inside it.
    const guest = await leftovers(docker, p.labEngine && labEngineName(p.runner.env.LAB_INSTANCE!));
    const inside = p.labEngine ? await leftovers(p.labEngine.docker) : { containers: [], networks: [], volumes: [] };
    const count = (k: keyof typeof guest) => guest[k].length + inside[k].length;
    p.result.leftovers = { containers: count('containers'), networks: count('networks'), volumes: count('volumes') };
    const names = [...guest.containers, ...guest.networks, ...guest.volumes, ...[...inside.containers, ...inside.networks, ...inside.volumes].map((n) => `${n} (in the lab engine)`)];
    const where = p.labEngine ? 'the guest\'s engine (but the lab engine) or the lab engine' : 'the guest\'s engine';
    return [names.length === 0, names.length === 0 ? `no container, network or volume in ${where}` : `left: ${names.join(', ')}`];
  },
  'lab engine removed': async (p) => {
    // As `npm run labs:remove-all` does after the runner stops: its instance's containers, networks and lab engine with its volume and socket.
    await p.runner.stop();
    const left = await leftovers(docker);
    const names = [...left.containers, ...left.networks, ...left.volumes];
    const socketLeft = existsSync(p.labEngine!.socket);
    return [names.length === 0 && !socketLeft, names.length === 0 && !socketLeft ? `the runner stopped and its instance removed: no container, network or volume in the guest's engine, no socket at ${p.labEngine!.socket}`
      : `left: ${[...names, ...(socketLeft ? [p.labEngine!.socket] : [])].join(', ')}`];
  },
};

/** Run the step `name` of pass `p`, timed. A throw is a failed step and ends the path. */
async function step(p: Pass, name: SmokeStep): Promise<void> {
  const started = Date.now();
  let s: StepResult;
  try {
    const [ok, detail] = await STEPS[name](p);
    s = { name, ok, seconds: (Date.now() - started) / 1000, detail };
  } catch (err) {
    s = { name, ok: false, seconds: (Date.now() - started) / 1000, detail: (err as Error).message };
  }
  p.result.steps.push(s);
  console.log(`[smoke ${p.result.pass}] ${name}: ${s.ok ? 'ok' : 'FAILED'} in ${s.seconds.toFixed(1)} s; ${s.detail.split('\n')[0]}`);
  save();
  if (!s.ok) throw new Error(`the step "${name}" (the ${p.result.pass} pass) failed: ${s.detail}`);
}

/**
 * One pass: a runner with the pass's environment (its own instance and state folder), the pass's
 * steps, then the form its log says it chose, its log (runner-PASS.log) and its stop.
 */
async function runPass(name: PassName): Promise<void> {
  current = undefined;
  const pr: PassResult = { pass: name, privilegeMode: null, sandboxed: null, imageCopySeconds: null, runnerStartSeconds: null, steps: [], leftovers: null };
  result.passes.push(pr);
  const runnerStarted = Date.now();
  const runner = await startRunner({
    ...fixtureSite({ [LESSON]: { title: 'Guest smoke', lab: { hosts: ['host1'] } } }),
    // The default engine only: the one image on the data disk, and the one a lab engine copies.
    LAB_ENGINES: '28',
    ...PASSES[name].env,
    LAB_ENGINE_START_TIMEOUT: String(LAB_ENGINE_START_TIMEOUT_S),
    LAB_READY_TIMEOUT: String(LAB_READY_TIMEOUT_S),
    LAB_HOST_MEMORY: String(HOST_MEMORY_BYTES),
    LAB_HOST_PIDS: String(HOST_PIDS),
  }, { startTimeoutMs: RUNNER_START_TIMEOUT_MS });
  pr.runnerStartSeconds = (Date.now() - runnerStarted) / 1000;
  const copied = /copied \S+ into the lab engine in ([\d.]+) s/.exec(runner.output());
  pr.imageCopySeconds = copied ? Number(copied[1]) : null;
  pr.sandboxed = (await runner.client.health()).isolation?.sandboxed ?? null;
  console.log(`[smoke ${name}] runner (${Object.entries(PASSES[name].env).map(([k, v]) => `${k}=${v}`).join(' ')}) ready in ${pr.runnerStartSeconds.toFixed(1)} s at ${runner.url}`
    + `${copied ? `; it copied the lab host image into its lab engine in ${copied[1]} s` : ''}`);
  current = { result: pr, runner };
  const config = loadConfig(runner.env);
  if (config.LAB_OWN_ENGINE) current.labEngine = { socket: labEngineSocket(config), docker: labEngineClient(config) };
  try {
    for (const stepName of PASSES[name].steps) await step(current, stepName);
  } finally {
    const log = runner.output();
    pr.privilegeMode = /lab hosts run with --privileged/.test(log) ? 'privileged' : /lab hosts run with the capabilities form/.test(log) ? 'capabilities' : null;
    writeFileSync(path.join(jobDir, `runner-${name}.log`), log);
    save();
  }
  current.term?.close();
  await runner.stop();
}

/**
 * After a failure, into the job's log: the terminal's output and each lab host's log and inner
 * engine's log, on the guest's engine (the lab engine's own among them) and in the lab engine.
 */
function diagnose(): void {
  if (current?.term) console.log(`[smoke] the terminal's output ends:\n${stripAnsi(current.term.since(0)).slice(-3000)}`);
  const engines = [[], ...(current?.labEngine && existsSync(current.labEngine.socket) ? [['-H', `unix://${current.labEngine.socket}`]] : [])];
  for (const host of engines) {
    const ids = spawnSync('docker', [...host, 'ps', '-aq'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
    for (const id of ids) {
      for (const args of [[...host, 'logs', '--tail', '40', id], [...host, 'exec', id, 'tail', '-n', '40', '/var/log/dockerd.log']]) {
        const r = spawnSync('docker', args, { encoding: 'utf8' });
        console.log(`[smoke] docker ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
      }
    }
  }
}

try {
  const info = await docker.info();
  result.engine = { version: info.ServerVersion, cgroupVersion: String(info.CgroupVersion), cgroupDriver: info.CgroupDriver };
  console.log(`[smoke] guest engine ${info.ServerVersion}, cgroup v${info.CgroupVersion} (${info.CgroupDriver} driver)`);
  const image = IMAGES.labHost('forky');
  await docker.getImage(image).inspect().catch(() => {
    throw new Error(`The guest's engine does not have ${image}: the data disk was not mounted at /var/lib/docker or its image store was not read.`);
  });
  for (const name of Object.keys(PASSES) as PassName[]) await runPass(name);
} catch (err) {
  result.error = (err as Error).message;
  diagnose();
  await current?.runner.stop().catch(() => {});
} finally {
  save();
}
process.exit(result.error ? 1 : 0);
