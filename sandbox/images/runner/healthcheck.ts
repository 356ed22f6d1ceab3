/**
 * The runner image's health check: exits 0 when the runner in this container answers
 * `GET /api/health` and reaches the Docker Engine, 1 otherwise (saying why). It asks where the
 * runner listens, from the same settings (loopback when the runner listens on every address).
 */
import { ROUTES, type HealthStatus } from '../../../contract/api.ts';
import { loadConfig } from '../../src/config.ts';

/** The check runs next to the runner: one that takes longer than this to answer is unhealthy. */
const TIMEOUT_MS = 4_000;

const { HOST, PORT } = loadConfig();
const host = HOST === '0.0.0.0' ? '127.0.0.1' : HOST === '::' ? '::1' : HOST;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${PORT}${ROUTES.health.path()}`;
try {
  const answer = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (answer.status !== 200) throw new Error(`answered ${answer.status}`);
  const health = (await answer.json()) as HealthStatus;
  if (!health.engine.available) throw new Error(health.engine.message ?? 'the Docker Engine is not reachable');
  console.log(`healthy: Docker Engine ${health.engine.version}, ${health.labs} lab(s)`);
} catch (err) {
  console.log(`unhealthy: ${url}: ${(err as Error).message}`);
  process.exit(1);
}
