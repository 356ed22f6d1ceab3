/**
 * Random requests at every HTTP route of a real runner: no input may crash it or earn a 5xx
 * (other than a 503 that says why), and it keeps serving afterwards. Seeded, so a failure
 * can be replayed: the seed is in the test's name. Then a corpus of known-bad inputs at the
 * doors a client can knock on: malformed request lines, bad Range headers, multibyte and
 * absurd control messages, and a thousand refused socket upgrades (no descriptor left behind).
 */
import { connect } from 'node:net';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_CODES } from '../../contract/protocol.ts';
import { ACCESS_CODE_HEADER, ROUTES, type LabCreated } from '../../contract/api.ts';
import { FILE_ROUTES } from '../../contract/files.ts';
import { api, assertStillServes, createLab, rawExchange, ROOT, startRunner, TerminalClient, type RunningRunner, LESSONS, labFixtures } from './harness.ts';

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
    runner = await startRunner({ ...labFixtures(), LAB_CREATE_RATE: '100000', LAB_ACCESS_CODE: 'fuzz-code-1' });
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
      () => ROUTES.check.path(id(), junk()),
      () => `/api/labs/${id()}/checks/`,
      () => `${FILE_ROUTES.files.path(id(), junk())}?path=${junk()}`,
      () => `${FILE_ROUTES.fileContent.path(id(), junk(), junk())}&download=${junk()}`,
      () => FILE_ROUTES.folders.path(id(), 'host1'),
      () => FILE_ROUTES.moves.path(id(), junk()),
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
    const lab = await createLab(runner, LESSONS.oneHost, { [ACCESS_CODE_HEADER]: 'fuzz-code-1' });
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    expect(await term.run('echo survived')).toContain('survived');
    term.close();
  });
});

/** Refused socket upgrades tried in total, and at once. */
const REFUSED_UPGRADES = 1000;
const UPGRADES_AT_ONCE = 50;
/** Descriptors the runner may hold more after them than before: its engine connection pool. */
const FD_SLACK = 8;
const UPGRADE = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';

describe('known-bad input at every door of the runner', () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  beforeAll(async () => {
    runner = await startRunner(labFixtures());
    lab = await createLab(runner, LESSONS.oneHost);
  });
  afterAll(async () => {
    await runner?.stop();
  });

  const stillServes = () => assertStillServes(runner, lab);
  const statusOf = (answer: string) => Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1] ?? NaN);

  it('answers malformed request lines with a 4xx or closes that connection', async () => {
    const lines = [
      'GET //% HTTP/1.1', 'GET % HTTP/1.1', 'GET /%zz HTTP/1.1', 'GET //%/api/labs HTTP/1.1', 'POST //% HTTP/1.1',
      'GET /%E0%A4%A HTTP/1.1', 'GET http://[::1 HTTP/1.1', 'GET / HTTP/9.9', 'GET  / HTTP/1.1', 'GET /', 'GET * HTTP/1.1',
      'OPTIONS * HTTP/1.1', 'CONNECT 127.0.0.1:22 HTTP/1.1', '\x00\x01\x02 / HTTP/1.1', 'GET /\x7f HTTP/1.1',
      `GET /${'a'.repeat(100_000)} HTTP/1.1`, 'GET /?q=%ff%fe%00 HTTP/1.1', 'GET /api/labs/%00/hosts/%00/terminal HTTP/1.1',
      'G\u00c9T / HTTP/1.1', 'GET /\u718a HTTP/1.1',
    ];
    const seen = new Map<number, number>();
    for (const line of lines) {
      for (const upgrade of [false, true]) {
        const answer = await rawExchange(runner.port, Buffer.from(`${line}\r\nHost: x\r\n${upgrade ? UPGRADE : ''}\r\n`, 'latin1'));
        const status = statusOf(answer);
        seen.set(status, (seen.get(status) ?? 0) + 1);
        // A 4xx, a closed connection (NaN), or for the few lines that are valid after all, 200/404.
        if (!Number.isNaN(status) && status >= 500) throw new Error(`${JSON.stringify(line)} (upgrade ${upgrade}) got ${status}: ${answer.slice(0, 300)}`);
      }
    }
    console.log(`malformed request lines: ${[...seen].map(([s, n]) => `${Number.isNaN(s) ? 'closed' : s}×${n}`).join(', ')}`);
    await stillServes();
  });

  it('answers bad Range headers on pages, assets and the API with 200, 206 or 416', async () => {
    const asset = `/_astro/${readdirSync(path.join(ROOT, 'dist/_astro')).find((f) => f.endsWith('.js'))}`;
    const ranges = [
      'bytes=5-2', 'bytes=0-99999999999999999999', 'bytes=99999999999999999999-', 'bytes=-0', 'bytes=-99999999999999999999',
      'bytes=abc', 'bytes=--1', 'bytes=0-0,-1', 'bytes=1-1,0-0,5-2', `bytes=${Array.from({ length: 200 }, (_, i) => `${i}-${i}`).join(',')}`,
      'items=0-1', 'bytes=\u718a-1', 'bytes=0x10-0x20', 'bytes= 1 - 2 ', 'bytes=1e3-2e3', 'bytes=-', '',
    ];
    const seen = new Map<number, number>();
    for (const target of ['/', '/lessons/05-user-defined-bridges/', asset, '/api/health', '/no-such-page']) {
      for (const range of ranges) {
        const res = await fetch(runner.url + target, { headers: { range: encodeURI(range) } });
        await res.arrayBuffer();
        seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
        expect([200, 206, 404, 416], `${target} with Range ${range}`).toContain(res.status);
      }
    }
    console.log(`bad ranges: ${[...seen].map(([s, n]) => `${s}×${n}`).join(', ')}`);
    await stillServes();
  });

  it('closes terminals that send multibyte, absurd or misshapen control messages, one socket each', async () => {
    const frames = [
      JSON.stringify({ type: '\u718a'.repeat(120) }), JSON.stringify({ type: '\u{1F600}'.repeat(100) }), JSON.stringify({ type: 'e\u0301'.repeat(80) }),
      JSON.stringify({ type: 'ack', bytes: '1e15' }), '{"type":"ack","bytes":1e400}', JSON.stringify({ type: 'ack', bytes: -1 }),
      JSON.stringify({ type: 'resize', cols: 'x'.repeat(1000), rows: 1 }), JSON.stringify({ type: { toString: 1 } }),
      '\ud800', 'null', '[]', '"ack"', '{'.repeat(10_000),
    ];
    for (const frame of frames) {
      const term = await TerminalClient.open(runner, lab, 'host1');
      await term.waitForPrompt();
      term.ws.send(frame);
      expect([CLOSE_CODES.policy, CLOSE_CODES.normal], frame.slice(0, 60)).toContain(await term.waitClosed());
    }
    // Absurd but well-formed: a client acking far more than it got, then typing on.
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    for (const bytes of [1e15, Number.MAX_SAFE_INTEGER, 1.7e308, 0]) term.ws.send(JSON.stringify({ type: 'ack', bytes }));
    term.ws.send('{"type":"resize","cols":100,"rows":30,"__proto__":{"polluted":1}}');
    expect(await term.run('echo acks-ignored; stty size')).toMatch(/acks-ignored\s+30 100/);
    term.close();
    await stillServes();
  });

  it(`refuses ${REFUSED_UPGRADES} socket upgrades (no token, wrong token, foreign origin, no route, bad key) and holds no descriptor more afterwards`, async () => {
    // Warm up: one of each kind, so the baseline counts what the runner keeps open anyway.
    const kinds = [
      `GET /api/labs/${lab.id}/hosts/host1/terminal HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`,
      `GET ${ROUTES.terminal.path(lab.id, 'host1', 'wrong-token')} HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`,
      `GET ${ROUTES.terminal.path(lab.id, 'host1', 'x')} HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n${UPGRADE}\r\n`,
      `GET /api/nowhere HTTP/1.1\r\nHost: x\r\n${UPGRADE}\r\n`,
      `GET /api/labs/${lab.id}/hosts/host1/terminal?token=x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: !!\r\n\r\n`,
    ];
    for (const k of kinds) await rawExchange(runner.port, k);
    await new Promise((r) => setTimeout(r, 500));
    const before = runner.openFiles();
    const statuses = new Map<number, number>();
    for (let i = 0; i < REFUSED_UPGRADES; i += UPGRADES_AT_ONCE) {
      const answers = await Promise.all(Array.from({ length: UPGRADES_AT_ONCE }, (_, j) => rawExchange(runner.port, kinds[(i + j) % kinds.length]!)));
      for (const a of answers) statuses.set(statusOf(a), (statuses.get(statusOf(a)) ?? 0) + 1);
    }
    // Sockets the runner ended close on its side at once; give the last ones a moment.
    await expect.poll(() => runner.openFiles(), { timeout: 10_000 }).toBeLessThanOrEqual(before + FD_SLACK);
    const after = runner.openFiles();
    console.log(`${REFUSED_UPGRADES} refused upgrades: ${[...statuses].map(([s, n]) => `${s}×${n}`).join(', ')}; runner descriptors ${before} before, ${after} after`);
    expect([...statuses.keys()].every((s) => s >= 400 && s < 500)).toBe(true);
    await stillServes();
  }, 120_000);
});
