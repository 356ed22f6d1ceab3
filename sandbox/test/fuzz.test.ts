/**
 * Random requests at every HTTP route of a real runner: no input may crash it or earn a 5xx
 * (other than a 503 that says why), and it keeps serving afterwards. Seeded, so a failure
 * can be replayed: the seed is in the test's name.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_CODE_HEADER, checkPath } from '../src/protocol.ts';
import { api, createLab, startRunner, TerminalClient, type RunningRunner } from './harness.ts';

const SEED = 20261128;
const REQUESTS = 1500;

/** mulberry32: a small seeded generator, so every run sends the same requests. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe(`the runner's HTTP routes under ${REQUESTS} random requests (seed ${SEED})`, () => {
  let runner: RunningRunner;
  beforeAll(async () => {
    runner = await startRunner({ LAB_CREATE_RATE: '100000', LAB_ACCESS_CODE: 'fuzz-code-1' });
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it('answers every one without a 5xx other than 503, and keeps serving', async () => {
    const random = rng(SEED);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const junk = () => {
      const chars = ['a', '0', '%', '%2F', '%00', '..', '/', '?', '#', '\u00e9', '%ff', ' ', '"', "'", '<', '{', '}', '\\', '😀', 'Z'.repeat(300)];
      return Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(chars)).join('');
    };
    const id = () => pick(['0123456789ab', 'ffffffffffff', junk(), '', '../..', '%2e%2e']);
    const paths = [
      () => '/api/labs',
      () => `/api/labs/${id()}`,
      () => `/api/labs/${id()}/hosts/${junk()}/terminal?token=${junk()}`,
      () => checkPath(id(), junk()),
      () => `/api/labs/${id()}/checks/`,
      () => `/api/${junk()}`,
      () => '/api/health',
      () => `/lessons/${junk()}`,
      () => `/${junk()}`,
      () => '/lab-manifest.json',
    ];
    const bodies = [
      () => undefined,
      () => junk(),
      () => '{"lesson":',
      () => JSON.stringify({ lesson: junk(), client: junk() }),
      () => JSON.stringify({ lesson: 42, client: null }),
      () => JSON.stringify([1, 2, 3]),
      () => 'null',
      () => JSON.stringify({ lesson: 'x'.repeat(20_000) }),
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < REQUESTS; i++) {
      const method = pick(['GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'OPTIONS', 'HEAD']);
      const body = method === 'GET' || method === 'HEAD' ? undefined : pick(bodies)();
      const headers: Record<string, string> = {};
      // Header values must be bytes fetch can send: junk, percent-encoded where it isn't.
      const headerJunk = () => encodeURIComponent(junk()).replace(/%25/g, '%');
      if (random() < 0.3) headers.authorization = `Bearer ${headerJunk()}`;
      if (random() < 0.2) headers[ACCESS_CODE_HEADER] = pick(['fuzz-code-1', headerJunk()]);
      if (random() < 0.2) headers['content-type'] = pick(['application/json', 'text/plain', headerJunk()]);
      let path = pick(paths)();
      // fetch refuses some raw characters in a URL; encode what it would reject.
      try {
        new URL(path, runner.url);
      } catch {
        path = `/${encodeURIComponent(path)}`;
      }
      const res = await fetch(runner.url + path, { method, headers, body, redirect: 'manual' }).catch((e: Error) => ({ status: -1, text: async () => e.message }));
      const status = res.status;
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      if (status === -1 || (status >= 500 && status !== 503)) {
        throw new Error(`${method} ${path} with ${JSON.stringify(body)?.slice(0, 200)} gave ${status}: ${await res.text()}`);
      }
    }
    console.log(`statuses: ${[...statuses].sort((x, y) => x[0] - y[0]).map(([s, n]) => `${s}×${n}`).join(', ')}`);
    expect((await api(runner, 'GET', '/api/health')).json.labs).toBe(0);
  }, 300_000);

  it('survives raw garbage on the socket (not HTTP at all, half a request, a huge header), and a lab still works after', async () => {
    const raw = (bytes: string | Buffer) =>
      new Promise<void>((resolve) => {
        const s = connect(runner.port, '127.0.0.1', () => s.end(bytes));
        s.on('error', () => resolve());
        s.on('close', () => resolve());
        s.resume();
      });
    await raw(Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256)));
    await raw('GET /api/health HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n{');
    await raw(`GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
    await raw('GET /api/labs/x/hosts/y/terminal HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 99\r\n\r\n');
    // Malformed percent escapes in the ids, on the socket upgrade and on the check route.
    const upgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    await raw(`GET /api/labs/%zz/hosts/%/terminal?token=a HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`);
    // A request target no URL parser accepts ("//[" reads as an unclosed IPv6 host), plain and as an upgrade.
    await raw('GET //[ HTTP/1.1\r\nHost: x\r\n\r\n');
    await raw(`GET //[/api/labs/x/hosts/y/terminal HTTP/1.1\r\nHost: x\r\n${upgrade}\r\n`);
    const check = await api(runner, 'POST', '/api/labs/%zz/checks/%E0%A4%A', { token: 'x' });
    expect(check.status).toBe(404);
    const lab = await createLab(runner, '05-user-defined-bridges', { [ACCESS_CODE_HEADER]: 'fuzz-code-1' });
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    expect(await term.run('echo survived')).toContain('survived');
    term.close();
  });
});
