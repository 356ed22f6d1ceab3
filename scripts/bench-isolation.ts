/**
 * `node scripts/bench-isolation.ts`: what the sandboxed mode costs (README, "Security"), measured
 * in one run: a runner on the machine's engine (today's form) and one on a second engine that
 * remaps user namespaces (sandbox/tools/userns-engine.ts, started if absent and stopped after),
 * taking turns, BENCH_RUNS (5) times each:
 *
 *   cold start   POST /api/labs of a one-host lab with no warm pool, until its terminal shows the prompt
 *   idle memory  that lab host's cgroup usage less inactive page cache, SETTLE_MS after its engine is ready
 *
 * Prints the median and the range of each. Needs root (the second engine) and the lab host image.
 */
import Docker from 'dockerode';
import { ENGINES } from '../contract/labspec.ts';
import { waitForEngine } from '../sandbox/src/labhost.ts';
import { IMAGES, labHostContainerName } from '../sandbox/src/names.ts';
import { hostMemory, percentile } from '../sandbox/tools/measure.ts';
import { fixtureSite, startRunner, type RunningRunner } from '../sandbox/tools/runner-process.ts';
import { TerminalClient } from '../sandbox/tools/terminal-client.ts';
import { startUsernsEngine, USERNS_ENGINE } from '../sandbox/tools/userns-engine.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
/** Time after a lab host's engine is ready before its memory counts as idle (ms), as in scripts/bench.ts (e). */
const SETTLE_MS = 5_000;
const PROMPT_TIMEOUT_MS = 60_000;

interface Mode {
  name: string;
  docker: Docker;
  runner: RunningRunner;
  startS: number[];
  memoryMiB: number[];
}

async function once(mode: Mode): Promise<void> {
  const started = performance.now();
  const lab = await mode.runner.client.create('one-host');
  const term = await TerminalClient.open(mode.runner, lab, 'host1');
  await term.waitForPrompt(PROMPT_TIMEOUT_MS);
  mode.startS.push((performance.now() - started) / 1000);
  await waitForEngine(mode.docker, labHostContainerName(lab.id, 'host1'));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  mode.memoryMiB.push((await hostMemory(mode.docker, labHostContainerName(lab.id, 'host1'))) / 2 ** 20);
  term.close();
  await mode.runner.client.delete(lab);
}

const engine = await startUsernsEngine([IMAGES.labHost(ENGINES[0]!.suite)], (line) => console.log(line));
const site = fixtureSite({ 'one-host': { title: 'One host', lab: { hosts: ['host1'] } } });
const common = { ...site, LAB_ENGINES: ENGINES[0]!.id };
const modes: Mode[] = [];
try {
  modes.push({ name: "today's form (machine's engine)", docker: new Docker(), runner: await startRunner(common), startS: [], memoryMiB: [] });
  modes.push({ name: 'sandboxed (--userns-remap)', docker: new Docker({ socketPath: USERNS_ENGINE.socket }), runner: await startRunner({ ...common, DOCKER_HOST: engine.host }), startS: [], memoryMiB: [] });
  // The privilege probe and the first image read are paid once per runner, not by a learner: one unmeasured lab each.
  for (const mode of modes) await once({ ...mode, startS: [], memoryMiB: [] });
  for (let i = 0; i < RUNS; i++) for (const mode of modes) await once(mode);
  const fmt = (xs: number[], digits: number) => `${percentile(xs, 50).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}-${Math.max(...xs).toFixed(digits)})`;
  console.log(`\n| mode | cold start, POST to prompt (s), median (range) of ${RUNS} | idle lab host memory (MiB), median (range) |`);
  console.log('|---|---|---|');
  for (const m of modes) console.log(`| ${m.name} | ${fmt(m.startS, 2)} | ${fmt(m.memoryMiB, 1)} |`);
} finally {
  for (const m of modes) await m.runner.stop();
  await engine.stop();
}
