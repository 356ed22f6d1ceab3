/**
 * Starts the runner: configuration, reaping what an earlier process left, the HTTP server with
 * the site, the lab API and terminals, and a clean shutdown on SIGTERM/SIGINT.
 * `npm start` (scripts/start.ts) builds what is missing first and then runs this.
 */
import { ConfigError, loadConfig } from './config.ts';
import { createDockerClient, engineStatus } from './docker.ts';
import { createRunner } from './server.ts';

/** Longest a shutdown may take before the process exits anyway (labs are reaped at next start). */
const SHUTDOWN_TIMEOUT_MS = 15_000;

const log = (line: string) => console.log(`[runner] ${line}`);

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
  const docker = createDockerClient();
  const runner = createRunner(config, docker, log);

  const engine = await engineStatus(docker);
  if (engine.available) {
    const reaped = await runner.labs.reapAll();
    if (reaped.containers || reaped.networks) {
      log(`removed ${reaped.containers} container(s) and ${reaped.networks} network(s) left by an earlier run`);
    }
    log(`Docker Engine ${engine.version} (cgroup ${engine.cgroupVersion}); lab hosts from ${runner.labs.image}`);
  } else {
    log(`Labs are unavailable: ${engine.message} The lessons are still served.`);
  }
  runner.labs.startSweeper();
  // Without an engine yet, the pool retries quietly until there is one.
  runner.labs.startPool();

  await new Promise<void>((resolve, reject) => {
    runner.server.once('error', reject);
    runner.server.listen(config.PORT, config.HOST, () => resolve());
  });
  const { port } = runner.server.address() as { port: number };
  const shownHost = config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST;
  log(`Docker Networking Lab is ready on http://${shownHost}:${port}/`);

  const stop = (signal: string) => {
    log(`${signal}: removing labs and stopping`);
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
    runner.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err) => {
  console.error(`The lab server could not start: ${(err as Error).message}`);
  process.exit(1);
});
