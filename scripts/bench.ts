/**
 * `npm run bench`: how fast a lab is ready, how fast its terminal echoes, and how many labs this
 * machine holds, measured in one run against the real engine and printed as one table. Times are
 * compared with a baseline measured in the same run, so a busy or slow machine shows as such.
 *
 *   (a) baseline     `docker run` (Engine API) of a bare lab host (the plain image, privileges and
 *                    storage only, no limits), until its inner engine answers GET /info
 *   (b) cold lab     POST /api/labs with no warm pool, until every host's terminal shows its prompt
 *   (c) warm lab     the same with a warm pool (waited for before each run, as a learner would find it)
 *   (d) echo         a keystroke's round trip through the runner's WebSocket terminal, against
 *                    the same through `docker exec -i` from the docker CLI, and through the
 *                    Engine API's TTY exec of the same login shell (the runner's path without it)
 *   (e) memory       per idle lab host: its cgroup's usage less inactive page cache
 *   (f) capacity     idle 1-host labs (terminal open at a prompt) added 10 at a time until echo
 *                    p99 passes 50 ms, memory runs low, or a lab cannot start
 *
 * Runs alternate (a) and (b) so both see the same machine. Settings: BENCH_RUNS (20),
 * BENCH_ECHO_SAMPLES (300), BENCH_MAX_LABS (150; 0 skips f). It uses its own runner instance and
 * removes everything it made.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../sandbox/src/config.ts';
import { createDockerClient, detectPrivilegeMode, privilegeHostConfig, type PrivilegeMode } from '../sandbox/src/docker.ts';
import { execCollect, waitForEngine } from '../sandbox/src/labhost.ts';
import { IMAGES, LABELS, LAB_HOST_PATHS, dockerDataTmpfs, labHostContainerName } from '../sandbox/src/names.ts';
import type { LabCreated } from '../contract/api.ts';
import { execShell } from '../sandbox/src/terminal.ts';
import { CLEAR_LINE, ECHO_INTERVAL_MS, ECHO_LINE_CHARS, echoRoundTrips, hostMemory, percentile } from '../sandbox/tools/measure.ts';
import { fixtureSite, startRunner, uniqueInstance, type RunningRunner } from '../sandbox/tools/runner-process.ts';
import { TerminalClient } from '../sandbox/tools/terminal-client.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const ECHO_SAMPLES = Number(process.env.BENCH_ECHO_SAMPLES ?? 300);
const MAX_LABS = Number(process.env.BENCH_MAX_LABS ?? 150);
/** Labs added per capacity step, and how many of them are started at once. */
const CAPACITY_STEP = 10;
const CAPACITY_PARALLEL = 5;
/** Capacity ends where typing stops feeling instant: an echo slower than this at p99 is no longer "holds". */
const CAPACITY_ECHO_P99_MS = 50;
/** Echo samples per capacity step (fewer than (d): one step per ten labs). */
const CAPACITY_ECHO_SAMPLES = 100;
/** Memory the machine keeps free: below this, adding labs stops ("memory runs out"). */
const MEMORY_RESERVE_BYTES = 1024 ** 3;
/** Time for new lab hosts to finish starting before they count as idle (ms). */
const SETTLE_MS = 5_000;
/** Time between warm runs after the pool is full again, so a refill does not overlap the next run (ms). */
const POOL_QUIET_MS = 1_000;
/** How often the bench asks whether the warm pool is full again (ms). */
const POOL_POLL_MS = 100;
/** Keystrokes sent to `docker exec -i ... cat` before timing: the first one also pays for the exec starting. */
const CLI_WARMUP_SAMPLES = 5;
/** Labs removed at once after (f): enough to be quick, few enough not to queue the engine. */
const DELETE_PARALLEL = 10;
/** Longest wait for a new lab's prompt in (b) and (c) (ms): lab-shell itself gives up waiting for the engine after 30 s. */
const PROMPT_TIMEOUT_MS = 60_000;
/** Longest wait for an idle lab's prompt, and then its engine, in (f) (s): with many labs starting at once the engine is slow. */
const IDLE_LAB_TIMEOUT_S = 120;

/** Typed at a new lab's first prompt: the lab is usable once its own engine answers this. */
const DOCKER_ANSWERS_COMMAND = "docker info --format '{{.ServerVersion}}'";

const SHAPES = {
  'one-host': { title: 'One host', lab: { hosts: ['host1'] } },
  'two-hosts': { title: 'Two hosts', lab: { hosts: ['host1', 'host2'] } },
};
const INSTANCE = uniqueInstance('bench');
const BASELINE_NETWORK = `dnl-bench-${INSTANCE}`;
const config = loadConfig({ ...process.env, LAB_INSTANCE: INSTANCE });
const docker = createDockerClient();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MiB = 2 ** 20;

interface Row {
  measure: string;
  median: string;
  p95: string;
  ratio: string;
  target: string;
  samples: string;
}

/** Summarise timings (ms) against a baseline's timings, with a target on the p95 or median. */
function timingRow(measure: string, xs: number[], base: number[] | undefined, target = '', unit = 'ms', digits = 0): Row {
  const m = percentile(xs, 50);
  const p = percentile(xs, 95);
  const ratio = base ? `${(m / percentile(base, 50)).toFixed(2)} / ${(p / percentile(base, 95)).toFixed(2)}` : '1';
  return { measure, median: `${m.toFixed(digits)} ${unit}`, p95: `${p.toFixed(digits)} ${unit}`, ratio, target, samples: String(xs.length) };
}

const verdict = (ok: boolean, text: string) => `${text} ${ok ? 'met' : 'NOT met'}`;

// --- (a) baseline ---------------------------------------------------------------------------------

/** One bare lab host: created and started like the runner does, timed until its engine answers GET /info. */
async function baselineRun(network: string, mode: PrivilegeMode, i: number): Promise<number> {
  const name = `dnl-bench-${INSTANCE}-${i}`;
  const t0 = performance.now();
  const container = await docker.createContainer({
    name,
    Image: IMAGES.labHostPlain(config.engines[0]!.suite),
    Labels: { [LABELS.instance]: INSTANCE },
    // Bare: what its dockerd needs (privileges, a tmpfs for its storage), none of a lab's limits.
    HostConfig: {
      ...privilegeHostConfig(mode),
      Tmpfs: { [LAB_HOST_PATHS.dockerData]: dockerDataTmpfs(config.LAB_HOST_DOCKER_SIZE) },
      NetworkMode: network,
    },
  });
  try {
    await container.start();
    // `docker info` is GET /info; curl asks it without the CLI's own ~100 ms start-up.
    const { code } = await execCollect(docker, name, [
      'sh', '-c', 'n=0; until curl -sf --unix-socket /var/run/docker.sock http://docker/info >/dev/null 2>&1; do n=$((n+1)); [ $n -gt 3000 ] && exit 1; sleep 0.02; done',
    ]);
    if (code !== 0) throw new Error(`the bare lab host's engine did not answer`);
    return performance.now() - t0;
  } finally {
    await container.remove({ force: true, v: true });
  }
}

// --- (b), (c) first prompt ---------------------------------------------------------------------------

/**
 * From the POST to its answer (201), to the first prompt (in any host's terminal), to a prompt
 * in every host's terminal (the page opens them all at once), and to the first host's answer to
 * `docker info` typed at its prompt: what a learner waits for before the lab does anything, in ms.
 */
async function firstPrompt(runner: RunningRunner, lesson: string): Promise<{ answered: number; first: number; all: number; docker: number }> {
  const t0 = performance.now();
  const lab = await runner.client.create(lesson);
  const answered = performance.now() - t0;
  const terms = await Promise.all(lab.hosts.map((h) => TerminalClient.open(runner, lab, h)));
  const prompts = terms.map((t) => t.waitForPrompt(PROMPT_TIMEOUT_MS).then(() => performance.now() - t0));
  const first = await Promise.race(prompts);
  const all = Math.max(...(await Promise.all(prompts)));
  await terms[0]!.run(DOCKER_ANSWERS_COMMAND, PROMPT_TIMEOUT_MS);
  const docker = performance.now() - t0;
  for (const t of terms) t.close();
  await runner.client.delete(lab);
  return { answered, first, all, docker };
}

/** Resolves once the warm pool holds a ready lab of every shape, and none is starting. */
async function poolFull(runner: RunningRunner): Promise<void> {
  for (;;) {
    const { pool } = await runner.client.health();
    if (pool.ready >= pool.size * Object.keys(SHAPES).length && pool.starting === 0) return;
    await sleep(POOL_POLL_MS);
  }
}

// --- (d) echo through the docker CLI -----------------------------------------------------------------

/** Keystroke round trips through `docker exec -i <host> cat`: the CLI's own stream, no runner. */
async function cliEchoRoundTrips(containerName: string, samples: number): Promise<number[]> {
  const proc = spawn('docker', ['exec', '-i', containerName, 'cat'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let seen = 0;
  let waiter: (() => void) | undefined;
  proc.stdout.on('data', (d: Buffer) => {
    seen += d.length;
    waiter?.();
  });
  const times: number[] = [];
  try {
    // `cat` echoes whole writes; the first ones also pay for the exec starting.
    for (let i = 0; i < samples + CLI_WARMUP_SAMPLES; i++) {
      const before = seen;
      const t0 = performance.now();
      await new Promise<void>((resolve) => {
        waiter = () => seen > before && resolve();
        proc.stdin.write('x');
      });
      if (i >= CLI_WARMUP_SAMPLES) times.push(performance.now() - t0);
      await sleep(ECHO_INTERVAL_MS);
    }
  } finally {
    proc.stdin.end();
    proc.kill();
  }
  return times;
}

/**
 * Keystroke round trips through an Engine API exec of the lab's login shell with a TTY, straight
 * from this process: the runner's own path to the shell with the runner and its WebSocket taken
 * out, so the difference between this and (d) is what the runner adds.
 */
async function apiTtyEchoRoundTrips(containerName: string, samples: number): Promise<number[]> {
  const { stream } = await execShell(docker, containerName, `bench-${process.pid}`);
  let text = '';
  let waiter: (() => void) | undefined;
  stream.on('data', (d: Buffer) => {
    text += d.toString('utf8');
    waiter?.();
  });
  const until = (test: () => boolean, ms: number) => new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no echo from the API exec; output: ${text.slice(-300)}`)), ms);
    waiter = () => test() && (clearTimeout(t), resolve());
    waiter();
  });
  const times: number[] = [];
  try {
    await until(() => /# $/.test(text), 30_000);
    await sleep(SETTLE_MS);
    for (let i = 0; i < samples; i++) {
      const from = text.length;
      const t0 = performance.now();
      const echoed = until(() => text.indexOf('x', from) >= 0, 5_000);
      stream.write('x');
      await echoed;
      times.push(performance.now() - t0);
      if (i % ECHO_LINE_CHARS === ECHO_LINE_CHARS - 1) stream.write(CLEAR_LINE);
      await sleep(ECHO_INTERVAL_MS);
    }
  } finally {
    stream.destroy();
  }
  return times;
}

// --- (e), (f) idle labs ---------------------------------------------------------------------------------

function memAvailable(): number {
  return Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) * 1024;
}

interface IdleLab {
  lab: LabCreated;
  term: TerminalClient;
}

async function startIdleLab(runner: RunningRunner): Promise<IdleLab> {
  const lab = await runner.client.create('one-host');
  const term = await TerminalClient.open(runner, lab, 'host1');
  await term.waitForPrompt(IDLE_LAB_TIMEOUT_S * 1000);
  // The prompt comes even when the engine failed (lab-shell says why and opens the shell anyway).
  await waitForEngine(docker, labHostContainerName(lab.id, 'host1'), IDLE_LAB_TIMEOUT_S);
  return { lab, term };
}


/**
 * Start idle labs `step` at a time, CAPACITY_PARALLEL at once, adding those that started to
 * `idle`; resolves with why the first one that could not start failed, if one could not.
 */
async function addIdleLabs(runner: RunningRunner, idle: IdleLab[], step: number): Promise<string | undefined> {
  let failed: string | undefined;
  for (let started = 0; started < step; started += CAPACITY_PARALLEL) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(CAPACITY_PARALLEL, step - started) }, () => startIdleLab(runner)));
    for (const r of batch) r.status === 'fulfilled' ? idle.push(r.value) : (failed ??= String((r.reason as Error).message ?? r.reason));
  }
  return failed;
}

/** What (e) and (f) found: labs held, why adding stopped, memory per lab host and per lab, echo p99 per step. */
interface Capacity {
  labs: number;
  why: string;
  perHost: number[];
  perLabMachine: number;
  echo: string[];
}

/**
 * (f) and (e): idle 1-host labs, added CAPACITY_STEP at a time, with an echo measure after each
 * step, until echo p99 passes CAPACITY_ECHO_P99_MS, memory runs low, a lab cannot start, or
 * MAX_LABS; the first step's lab hosts give the memory per host.
 */
async function measureCapacity(runner: RunningRunner): Promise<Capacity> {
  const capacity: Capacity = { labs: 0, why: 'skipped (BENCH_MAX_LABS=0)', perHost: [], perLabMachine: 0, echo: [] };
  const idle: IdleLab[] = [];
  const memBefore = memAvailable();
  if (MAX_LABS > 0) capacity.why = `reached BENCH_MAX_LABS=${MAX_LABS}`;
  while (idle.length < MAX_LABS) {
    const step = Math.min(CAPACITY_STEP, MAX_LABS - idle.length);
    const failed = await addIdleLabs(runner, idle, step);
    if (failed) {
      capacity.why = `a lab could not start at ${idle.length + 1}: ${failed.slice(0, 200)}`;
      break;
    }
    await sleep(SETTLE_MS);
    const rtt = await echoRoundTrips(idle[0]!.term, CAPACITY_ECHO_SAMPLES);
    const p99 = percentile(rtt, 99);
    capacity.echo.push(`${idle.length}: ${p99.toFixed(1)}`);
    console.log(`  (f) ${idle.length} idle labs: echo p50 ${percentile(rtt, 50).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; MemAvailable ${(memAvailable() / 2 ** 30).toFixed(1)} GiB`);
    if (idle.length === CAPACITY_STEP || idle.length === MAX_LABS) {
      capacity.perHost = await Promise.all(idle.slice(0, CAPACITY_STEP).map((l) => hostMemory(docker, labHostContainerName(l.lab.id, 'host1'))));
    }
    if (p99 > CAPACITY_ECHO_P99_MS) {
      capacity.why = `echo p99 ${p99.toFixed(1)} ms passed ${CAPACITY_ECHO_P99_MS} ms at ${idle.length}`;
      idle.splice(-step).forEach((l) => l.term.close());
      break;
    }
    capacity.labs = idle.length;
    if (memAvailable() < MEMORY_RESERVE_BYTES) {
      capacity.why = `memory available fell below ${MEMORY_RESERVE_BYTES / 2 ** 30} GiB`;
      break;
    }
  }
  capacity.labs = Math.min(capacity.labs, idle.length);
  capacity.perLabMachine = idle.length ? (memBefore - memAvailable()) / idle.length : 0;
  for (const l of idle) l.term.close();
  for (let i = 0; i < idle.length; i += DELETE_PARALLEL) {
    await Promise.all(idle.slice(i, i + DELETE_PARALLEL).map((l) => runner.client.delete(l.lab)));
  }
  return capacity;
}

// --- the run --------------------------------------------------------------------------------------

/** Timings (ms) of (a), (b) and (c), one sample per run of each. */
interface StartTimes {
  baseline: number[];
  /** Cold 1-host labs: POST to its answer, and to `docker info` answering at the prompt. */
  cold1Answered: number[];
  cold1Docker: number[];
  cold1: number[];
  cold2first: number[];
  cold2: number[];
  warm1: number[];
  warm2first: number[];
  warm2: number[];
}

/** (d)'s keystroke round trips (ms): through the runner's WebSocket, the docker CLI, and an Engine API TTY exec. */
interface EchoTimes {
  ws: number[];
  cli: number[];
  api: number[];
}

/** (a) and (b), alternating so both see the same machine. */
async function measureColdStarts(runner: RunningRunner, mode: PrivilegeMode, times: StartTimes): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    times.baseline.push(await baselineRun(BASELINE_NETWORK, mode, i));
    const one = await firstPrompt(runner, 'one-host');
    times.cold1.push(one.first);
    times.cold1Answered.push(one.answered);
    times.cold1Docker.push(one.docker);
    const two = await firstPrompt(runner, 'two-hosts');
    times.cold2first.push(two.first);
    times.cold2.push(two.all);
  }
}

/** (c): each run finds the warm pool full and quiet, as a learner would. */
async function measureWarmStarts(runner: RunningRunner, times: StartTimes): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    await poolFull(runner);
    await sleep(POOL_QUIET_MS);
    times.warm1.push((await firstPrompt(runner, 'one-host')).first);
    await poolFull(runner);
    await sleep(POOL_QUIET_MS);
    const two = await firstPrompt(runner, 'two-hosts');
    times.warm2first.push(two.first);
    times.warm2.push(two.all);
  }
}

/** (d): one quiet lab, its terminal through the runner, then the same host through the CLI and the Engine API. */
async function measureEcho(runner: RunningRunner): Promise<EchoTimes> {
  await poolFull(runner);
  await sleep(POOL_QUIET_MS);
  const lab = await runner.client.create('one-host');
  const term = await TerminalClient.open(runner, lab, 'host1');
  await term.waitForPrompt();
  await sleep(SETTLE_MS);
  const hostName = labHostContainerName(lab.id, 'host1');
  const echo = {
    ws: await echoRoundTrips(term, ECHO_SAMPLES),
    cli: await cliEchoRoundTrips(hostName, ECHO_SAMPLES),
    api: await apiTtyEchoRoundTrips(hostName, ECHO_SAMPLES),
  };
  term.close();
  await runner.client.delete(lab);
  return echo;
}

/** (a), (b), (e) and (f) on a runner with no warm pool, then (c) and (d) on one with a pool; prints the table. */
async function main(): Promise<void> {
  const mode = await detectPrivilegeMode(docker, IMAGES.labHostPlain(config.engines[0]!.suite), INSTANCE);
  const site = fixtureSite(SHAPES);
  const times: StartTimes = { baseline: [], cold1Answered: [], cold1Docker: [], cold1: [], cold2first: [], cold2: [], warm1: [], warm2first: [], warm2: [] };
  // Set in the try below; the report is printed only when every measure ran.
  let capacity!: Capacity;
  let echo!: EchoTimes;
  console.log(`Benchmarking on Docker ${(await docker.version()).Version}, ${RUNS} runs per lab measure (instance ${INSTANCE})...`);
  try {
    // Every lab and terminal of the bench comes from 127.0.0.1: lift the per-address limits.
    const cold = await startRunner({ LAB_INSTANCE: INSTANCE, ...site, LAB_POOL_SIZE: '0', LAB_MAX_LABS: '1000', LAB_CREATE_RATE: '100000', LAB_MAX_CONNECTIONS_PER_ADDRESS: '100000' });
    // After the runner started: it reaps everything labelled with its instance when it starts.
    await docker.createNetwork({ Name: BASELINE_NETWORK, Internal: true, Labels: { [LABELS.instance]: INSTANCE } });
    try {
      await measureColdStarts(cold, mode, times);
      console.log('  (a), (b) done');
      capacity = await measureCapacity(cold);
      console.log('  (e), (f) done');
    } finally {
      await cold.stop();
    }

    const warm = await startRunner({ LAB_INSTANCE: INSTANCE, ...site, LAB_POOL_SIZE: '1', LAB_CREATE_RATE: '100000' });
    try {
      await measureWarmStarts(warm, times);
      console.log('  (c) done');
      echo = await measureEcho(warm);
      console.log('  (d) done');
    } finally {
      await warm.stop();
    }
  } finally {
    await docker.getNetwork(BASELINE_NETWORK).remove().catch(() => {});
  }
  await printReport(reportRows(times, capacity, echo), times, capacity);
}

// --- the table ------------------------------------------------------------------------------------

/** The table's rows: (a) to (c) against the baseline, (d) against the CLI's echo, then (e) and (f). */
function reportRows(times: StartTimes, capacity: Capacity, echo: EchoTimes): Row[] {
  const base = times.baseline;
  const cli = echo.cli;
  /** An echo row: median, p95 and p99 in ms, as ratios to the CLI's echo. */
  const echoRow = (measure: string, xs: number[], target = ''): Row => ({
    measure,
    median: `${percentile(xs, 50).toFixed(2)} ms`,
    p95: `${percentile(xs, 95).toFixed(2)} ms (p99 ${percentile(xs, 99).toFixed(2)})`,
    ratio: `${(percentile(xs, 50) / percentile(cli, 50)).toFixed(2)} / ${(percentile(xs, 95) / percentile(cli, 95)).toFixed(2)}`,
    target,
    samples: String(xs.length),
  });
  const rows: Row[] = [
    timingRow('(a) baseline: bare lab host, docker run until its engine answers', base, undefined),
    timingRow('(b) cold lab, 1 host: POST to its answer (network and lab host created and started)', times.cold1Answered, base),
    timingRow('(b) cold lab, 1 host: POST to prompt', times.cold1, base, verdict(percentile(times.cold1, 50) <= 1.1 * percentile(base, 50), '<= 1.1 x baseline')),
    timingRow('(b) cold lab, 1 host: POST to `docker info` answering at the prompt (what a learner waits for)', times.cold1Docker, base),
    timingRow('(b) cold lab, 2 hosts: POST to first prompt', times.cold2first, base, verdict(percentile(times.cold2first, 50) <= 1.1 * percentile(base, 50), '<= 1.1 x baseline')),
    timingRow('(b) cold lab, 2 hosts: POST to both prompts', times.cold2, base),
    timingRow('(c) warm lab, 1 host: POST to prompt', times.warm1, base, verdict(percentile(times.warm1, 95) <= 150, 'p95 <= 150 ms')),
    timingRow('(c) warm lab, 2 hosts: POST to first prompt', times.warm2first, base, verdict(percentile(times.warm2first, 95) <= 150, 'p95 <= 150 ms')),
    timingRow('(c) warm lab, 2 hosts: POST to both prompts', times.warm2, base, verdict(percentile(times.warm2, 95) <= 150, 'p95 <= 150 ms')),
    echoRow('(d) echo through the runner (WebSocket); ratio to `docker exec -i` from the CLI', echo.ws,
      verdict(percentile(echo.ws, 50) <= 2 && percentile(echo.ws, 99) <= 10, 'p50 <= 2, p99 <= 10 ms')),
    echoRow('(d) echo through `docker exec -i` from the CLI', cli),
    echoRow('(d) echo through an Engine API TTY exec of the same login shell (the runner\'s path, no runner)', echo.api),
  ];
  if (capacity.perHost.length) {
    rows.push({
      measure: '(e) memory per idle lab host (cgroup, less inactive cache)',
      median: `${(percentile(capacity.perHost, 50) / MiB).toFixed(1)} MiB`,
      p95: `${(percentile(capacity.perHost, 95) / MiB).toFixed(1)} MiB`,
      ratio: '',
      target: `machine: ${(capacity.perLabMachine / MiB).toFixed(0)} MiB of MemAvailable per lab`,
      samples: String(capacity.perHost.length),
    });
  }
  rows.push({
    measure: '(f) idle 1-host labs held (terminal open at a prompt)',
    median: String(capacity.labs),
    p95: '',
    ratio: '',
    target: verdict(capacity.labs >= 100, '>= 100'),
    samples: `stopped: ${capacity.why}`,
  });
  return rows;
}

/** The machine, the echo per capacity step, the warm p95, then the table in Markdown. */
async function printReport(rows: Row[], times: StartTimes, capacity: Capacity): Promise<void> {
  const info = await docker.info();
  const warmP95 = Math.max(percentile(times.warm1, 95), percentile(times.warm2, 95));
  console.log(`\nmachine: ${info.NCPU} CPUs, ${(info.MemTotal / 2 ** 30).toFixed(1)} GiB; echo p99 per step (labs: ms): ${capacity.echo.join(', ') || 'n/a'}`);
  console.log(`warm p95 overall ${warmP95.toFixed(0)} ms\n`);
  console.log('| measure | median | p95 | ratio to baseline (median / p95) | target | samples |');
  console.log('|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.measure} | ${r.median} | ${r.p95} | ${r.ratio} | ${r.target} | ${r.samples} |`);
}

await main();
