/**
 * Starts the runner: configuration, adopting the labs an earlier process of this instance left
 * (and removing what no valid lab owns), the HTTP server with the site, the lab API and
 * terminals. SIGTERM/SIGINT stop it without ending any lab, so an upgrade or a restart costs
 * nobody their lab; `npm run labs:remove-all` removes them all. With LAB_OWN_ENGINE=1 it first
 * starts or adopts its own engine for the labs (labengine.ts) and runs every lab there.
 * `npm start` (scripts/start.ts) builds what is missing first and then runs this.
 */
import { ConfigError, loadConfig } from './config.ts';
import { ISOLATION } from '../../contract/isolation.ts';
import { createDockerClient, describeDockerError, engineAddress, engineStatus, withTimeout } from './docker.ts';
import { oneLine } from './http-io.ts';
import { describeListenError, listenProblem } from './listen.ts';
import { createRunner } from './server.ts';
import { startLabEngine } from './labengine.ts';
import { isolationOf } from './userns.ts';

/** Longest a shutdown may take before the process exits anyway (the next start adopts the labs). */
const SHUTDOWN_TIMEOUT_MS = 15_000;
/** How long a stopping cell waits to learn whether its node is being drained (ms); past it, it stops as usual. */
const DRAIN_QUESTION_TIMEOUT_MS = 5_000;

const log = (line: string) => console.log(`[runner] ${line}`);

// The last line of defence: an error no boundary caught must not end the process, which holds
// every learner's terminals. Log it and carry on; the boundaries in server.ts are the real fix.
process.on('uncaughtException', (err) => log(`unexpected error, kept running: ${oneLine(err)}`));
process.on('unhandledRejection', (reason) => log(`unexpected rejection, kept running: ${oneLine(reason)}`));

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  for (const warning of config.warnings) log(warning);
  const taken = await listenProblem(config.HOST, config.PORT);
  if (taken) {
    console.error(taken);
    process.exit(1);
  }
  // With LAB_OWN_ENGINE=1 the machine's engine runs the lab engine, and labs run in that.
  const machine = createDockerClient();
  const docker = config.LAB_OWN_ENGINE ? await startLabEngine(machine, config, log).catch((err: Error) => {
    console.error(`The runner did not start: its own engine for the labs (LAB_OWN_ENGINE=1) could not be started on the Docker Engine at ${engineAddress(machine)}: ${'statusCode' in err || 'code' in err ? describeDockerError(err, machine) : err.message}`);
    process.exit(1);
  }) : machine;
  const runner = createRunner(config, docker, log);

  const engine = await engineStatus(docker);
  const isolation = engine.available ? isolationOf(engine.remapsUsers === true) : null;
  if (config.LAB_REQUIRE_SANDBOX && !isolation?.sandboxed) {
    console.error(isolation
      ? `LAB_REQUIRE_SANDBOX=1, but the Docker Engine at ${engineAddress(docker)} does not remap user namespaces, so ${ISOLATION.rootEquivalent}. Set LAB_OWN_ENGINE=1 (the runner starts such an engine itself), or point the runner (DOCKER_HOST) at an engine started with --userns-remap=default (README, "Security"), or unset LAB_REQUIRE_SANDBOX; the runner did not start.`
      : `LAB_REQUIRE_SANDBOX=1, but whether labs would run as an unprivileged user cannot be told: ${engine.message} The runner did not start.`);
    process.exit(1);
  }
  if (engine.available) {
    // Known from here on for the instructor's dashboard, and before the first lab host starts.
    await runner.labs.remapsUsers().catch(() => {});
    const found = await runner.labs.adopt();
    if (found.adopted || found.expired || found.broken) {
      log(`took over ${found.adopted} lab(s) from an earlier run; removed ${found.expired} that expired meanwhile and ${found.broken} that broke`);
    }
    if (found.orphans.containers || found.orphans.networks) {
      log(`removed ${found.orphans.containers} container(s) and ${found.orphans.networks} network(s) no lab owns (pooled or half-built labs of an earlier run)`);
    }
    log(`Docker Engine ${engine.version} (cgroup ${engine.cgroupVersion}): ${isolation!.sentence}`);
    const offers = await runner.labs.engineOffers();
    for (const e of config.engines) {
      const offer = offers.find((o) => o.id === e.id);
      const image = runner.labs.imageOf(e);
      log(!offer ? `labs cannot run Docker Engine ${e.version}: its lab host image ${image} is not built (npm run build:images -- --suite ${e.suite})`
        : `labs can run Docker Engine ${e.version}${offer === offers[0] ? ' (the default)' : ''} from ${image}${offer.state === 'preparing' ? ', once it is built' : ''}`);
    }
  } else {
    log(`Labs are unavailable: ${engine.message} The lessons are still served.`);
  }
  runner.labs.startSweeper();
  // Without an engine yet, the pool retries quietly until there is one.
  runner.labs.startPool();

  await new Promise<void>((resolve, reject) => {
    runner.server.once('error', (err) => reject(new Error(describeListenError(err, config.HOST, config.PORT))));
    runner.server.listen(config.PORT, config.HOST, () => resolve());
  });
  const { port } = runner.server.address() as { port: number };
  const shownHost = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  log(`Docker Networking Lab is ready on http://${shownHost}:${port}/`);

  const stop = (signal: string, removeLabs = false) => {
    log(removeLabs ? `${signal}: no lab is left here; removing the warm pool's and stopping` : `${signal}: stopping; labs are kept for the next start (npm run labs:remove-all removes them)`);
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
    runner.close({ removeLabs }).then(() => process.exit(0), () => process.exit(1));
  };
  // A cell whose Swarm node is being drained moves out instead: no new labs, its labs served
  // until they end (the stack's stop_grace_period bounds it), then it exits having none left.
  const drainOrStop = async () => {
    const { cells } = runner;
    const drain = cells ? await withTimeout(cells.drainRequested(), DRAIN_QUESTION_TIMEOUT_MS, 'asking whether this node is being drained').catch(() => false) : false;
    if (!cells || !drain) return stop('SIGTERM');
    log(`SIGTERM while this node is being drained: taking no new labs, serving the ${runner.labs.size} lab(s) here until they end`);
    await cells.drain(config.LAB_SWEEP_INTERVAL * 1000);
    // Nothing is left to adopt: the warm pool's labs go too, so the drained machine runs none.
    stop('drained', true);
  };
  process.once('SIGTERM', () => void drainOrStop());
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(`The lab server could not start: ${(err as Error).message}`);
  process.exit(1);
});
