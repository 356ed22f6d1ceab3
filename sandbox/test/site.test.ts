/**
 * The built site as a real runner serves it (npm run build first): the manifest, which holds
 * every exercise's check (pages leave them out), comes back under no spelling of its path; byte ranges
 * that used to take the process down get their proper answer; and every kind of answer, page,
 * asset, API JSON or error, carries the security headers.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labManifestSchema } from '../../contract/labspec.ts';
import { api, ROOT, startRunner, type RunningRunner } from './harness.ts';

const MANIFEST_FILE = path.join(ROOT, '.lab/lab-manifest.json');
const LESSON = '/lessons/05-user-defined-bridges/';

/** One request with the path sent exactly as given (fetch would tidy "/./" and "/../" away). */
function raw(runner: RunningRunner, rawPath: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: runner.port, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
  });
}

function expectSecurityHeaders(what: string, headers: Headers | http.IncomingHttpHeaders) {
  const get = (name: string) => (headers instanceof Headers ? headers.get(name) : (headers[name] as string | undefined)) ?? undefined;
  const csp = get('content-security-policy') ?? '';
  expect({ what, csp }).toEqual({ what, csp: expect.stringContaining("frame-ancestors 'self'") });
  for (const directive of ["object-src 'none'", "base-uri 'self'", "default-src 'self'"]) expect(csp).toContain(directive);
  expect({ what, nosniff: get('x-content-type-options'), referrer: get('referrer-policy') }).toEqual({ what, nosniff: 'nosniff', referrer: 'same-origin' });
}

describe('the built site through the runner', () => {
  let runner: RunningRunner;
  let secrets: string[];

  beforeAll(async () => {
    const manifest = labManifestSchema.parse(JSON.parse(readFileSync(MANIFEST_FILE, 'utf8')));
    // Lines of real checks: what a learner must never be able to read.
    secrets = Object.values(manifest.lessons).flatMap((l) => l.exercises.map((e) => e.check.split('\n')[0]!)).filter((line) => line.length > 20);
    expect(secrets.length).toBeGreaterThan(0);
    runner = await startRunner();
  });
  afterAll(async () => {
    await runner?.stop();
  });

  it('serves the manifest under no spelling of its path', async () => {
    const spellings = [
      '/lab-manifest.json', '/lab-manifest.json/', '/lab-manifest%2ejson', '/lab-manifest%2Ejson', '/%6Cab-manifest.json',
      '/LAB-MANIFEST.JSON', '/./lab-manifest.json', '//lab-manifest.json', '/lessons/../lab-manifest.json', '/lab-manifest',
      '/.lab/lab-manifest.json', '/%2elab/lab-manifest.json', '/../.lab/lab-manifest.json', '/%2e%2e/.lab/lab-manifest.json',
      '/..%2f.lab%2flab-manifest.json', '/lessons/..%2f..%2f.lab/lab-manifest.json', '/lab-manifest.json?x=1', '/lab-manifest.json%00',
      '/api/../lab-manifest.json', '/api/%2e%2e/lab-manifest.json',
    ];
    for (const spelling of spellings) {
      const res = await raw(runner, spelling);
      const leaked = res.body.includes('"exercises"') || secrets.some((s) => res.body.includes(s));
      expect({ spelling, status: res.status, leaked }).toEqual({ spelling, status: expect.toSatisfy((s: number) => s >= 400), leaked: false });
    }
  });

  it('answers byte ranges that used to crash the process, and keeps serving', async () => {
    const size = Number((await raw(runner, '/favicon.svg')).headers['content-length']);
    expect(size).toBeGreaterThan(5);
    const backwards = await raw(runner, '/favicon.svg', { range: 'bytes=5-2' });
    expect(backwards.status).toBe(416);
    expect(backwards.headers['content-range']).toBe(`bytes */${size}`);
    const huge = await raw(runner, '/favicon.svg', { range: 'bytes=0-99999999999999999999' });
    expect([200, 206]).toContain(huge.status);
    expect(huge.body.length).toBe(size);
    expect((await raw(runner, LESSON, { range: 'bytes=99999999999999999999-' })).status).toBe(416);
    expect((await api(runner, 'GET', '/api/health')).status).toBe(200);
    expect(runner.proc.exitCode).toBeNull();
  });

  it('puts the security headers on pages, assets, the 404 page and API answers, errors included', async () => {
    const answers: Array<[string, Promise<Response>]> = [
      ['a lesson page', fetch(runner.url + LESSON)],
      ['the 404 page', fetch(`${runner.url}/no-such-page`)],
      ['GET /api/health', fetch(`${runner.url}/api/health`)],
      ['an unknown API', fetch(`${runner.url}/api/nothing`)],
      ['a body that is not JSON', fetch(`${runner.url}/api/labs`, { method: 'POST', body: '{not json', headers: { 'content-type': 'application/json' } })],
      ['a lab that does not exist', fetch(`${runner.url}/api/labs/0123456789ab`, { headers: { authorization: 'Bearer x' } })],
    ];
    const expected: Record<string, number> = { 'a lesson page': 200, 'the 404 page': 404, 'GET /api/health': 200, 'an unknown API': 404, 'a body that is not JSON': 400, 'a lab that does not exist': 404 };
    for (const [what, pending] of answers) {
      const res = await pending;
      expect({ what, status: res.status }).toEqual({ what, status: expected[what] });
      expectSecurityHeaders(what, res.headers);
    }
  });

  it('allows exactly the inline scripts the page has, by hash, and no other inline script', async () => {
    const res = await fetch(runner.url + LESSON);
    const html = await res.text();
    const scriptSrc = /(?:^|;)\s*script-src ([^;]*)/.exec(res.headers.get('content-security-policy')!)![1]!;
    expect(scriptSrc).not.toContain("'unsafe-inline'");
    const inline = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)].filter((m) => !/\bsrc=/.test(m[1]!)).map((m) => m[2]!);
    expect(inline.length).toBeGreaterThan(0);
    for (const body of inline) expect(scriptSrc).toContain(`'sha256-${createHash('sha256').update(body).digest('base64')}'`);
  });

  it('lets browsers keep hashed assets for a year and revalidate pages', async () => {
    const html = await (await fetch(runner.url + LESSON)).text();
    const asset = /src="(\/_astro\/[^"]+\.js)"/.exec(html)![1]!;
    const res = await fetch(runner.url + asset);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expectSecurityHeaders(asset, res.headers);
    const page = await fetch(runner.url + LESSON);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    // Not with fetch: it adds "Cache-Control: no-cache" to a conditional request, which asks for a full answer.
    const revalidated = await raw(runner, LESSON, { 'if-none-match': page.headers.get('etag')! });
    expect(revalidated.status).toBe(304);
    expectSecurityHeaders('a 304', revalidated.headers);
  });
});
