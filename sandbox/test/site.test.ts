/**
 * The built site as a real runner serves it (npm run build first): the manifest, which holds
 * every exercise's check (pages leave them out), comes back under no spelling of its path; byte ranges
 * that used to take the process down get their proper answer; hashed assets are cached for a year.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { labManifestSchema } from '../src/labspec.ts';
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

  it('lets browsers keep hashed assets for a year and revalidate pages', async () => {
    const html = await (await fetch(runner.url + LESSON)).text();
    const asset = /src="(\/_astro\/[^"]+\.js)"/.exec(html)![1]!;
    const res = await fetch(runner.url + asset);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const page = await fetch(runner.url + LESSON);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    // Not with fetch: it adds "Cache-Control: no-cache" to a conditional request, which asks for a full answer.
    const revalidated = await raw(runner, LESSON, { 'if-none-match': page.headers.get('etag')! });
    expect(revalidated.status).toBe(304);
  });
});
