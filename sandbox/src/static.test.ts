/**
 * The static site server against a real directory and a real HTTP server on a free loopback
 * port, composed as server.ts composes it (security headers first, then the file): byte ranges
 * that are wrong in every way a client can make them, conditional GETs, HEAD, paths that try to
 * leave the root, dotfiles, and the cache and security headers of each kind of answer.
 * Requests go out with http.request, not fetch: fetch would tidy "/../" away before sending.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySecurityHeaders, inlineScriptHashes, securityHeaders } from './security-headers.ts';
import { CACHE_CONTROL, createStaticSite } from './static.ts';

const TEXT = '0123456789abcdefghij';
const INLINE_SCRIPT = 'document.documentElement.dataset.theme = "dark";';
const OUTSIDE_SECRET = 'outside-the-site-root';

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request with the path sent exactly as given. */
function request(port: number, rawPath: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: rawPath, method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function writeSite(): { root: string; parent: string } {
  const parent = mkdtempSync(path.join(tmpdir(), 'dnl-static-'));
  const root = path.join(parent, 'dist');
  const file = (rel: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), text);
  };
  file('index.html', `<!doctype html><title>Home</title><script>${INLINE_SCRIPT}</script><script type="module" src="/_astro/app.D0Zqj8cx.js"></script>`);
  file('lessons/x/index.html', '<!doctype html><title>Lesson x</title>');
  file('about.html', '<!doctype html><title>About</title>');
  file('text.txt', TEXT);
  file('_astro/app.D0Zqj8cx.js', 'console.log(1);');
  file('pagefind/pagefind.js', 'export {};');
  file('pagefind/pagefind-entry.json', '{}');
  file('pagefind/wasm.en.pagefind', 'wasm');
  file('pagefind/pagefind.en_aa1d2c871c.pf_meta', 'meta');
  file('pagefind/fragment/en_16e2375.pf_fragment', 'fragment');
  file('pagefind/index/en_2d3a80f.pf_index', 'index');
  file('.build-stamp', 'secret stamp');
  file('.hidden/file.txt', 'secret hidden');
  file('404.html', '<!doctype html><title>Not here</title><p>This page does not exist.');
  writeFileSync(path.join(parent, 'package.json'), OUTSIDE_SECRET);
  mkdirSync(path.join(parent, '.lab'));
  writeFileSync(path.join(parent, '.lab/lab-manifest.json'), OUTSIDE_SECRET);
  return { root, parent };
}

function listen(handler: http.RequestListener): Promise<http.Server> {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('the static site server', () => {
  let server: http.Server;
  let port: number;
  const get = (p: string, headers: Record<string, string> = {}) => request(port, p, { headers });
  const range = (p: string, value: string) => get(p, { range: value });

  beforeAll(async () => {
    const { root } = writeSite();
    const headers = securityHeaders(root);
    const serve = createStaticSite(root);
    server = await listen((req, res) => {
      applySecurityHeaders(res, headers);
      serve(req, res);
    });
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  describe('byte ranges', () => {
    it('answers a satisfiable range with 206 and just those bytes', async () => {
      const res = await range('/text.txt', 'bytes=0-4');
      expect(res.status).toBe(206);
      expect(res.body).toBe('01234');
      expect(res.headers['content-range']).toBe(`bytes 0-4/${TEXT.length}`);
      expect(res.headers['content-length']).toBe('5');
    });

    it('answers a range whose last byte is before its first (5-2) with 416 and the size, and keeps serving', async () => {
      const res = await range('/text.txt', 'bytes=5-2');
      expect(res.status).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${TEXT.length}`);
      expect((await get('/text.txt')).status).toBe(200);
    });

    it('clamps a last byte far past the end (0-99999999999999999999) to the file', async () => {
      const res = await range('/text.txt', 'bytes=0-99999999999999999999');
      expect([200, 206]).toContain(res.status);
      expect(res.body).toBe(TEXT);
      if (res.status === 206) expect(res.headers['content-range']).toBe(`bytes 0-${TEXT.length - 1}/${TEXT.length}`);
    });

    it('answers a first byte past the end (99999999999999999999-) with 416', async () => {
      const res = await range('/text.txt', 'bytes=99999999999999999999-');
      expect(res.status).toBe(416);
      expect(res.headers['content-range']).toBe(`bytes */${TEXT.length}`);
    });

    it('serves a suffix range (-3) as the last bytes, and one longer than the file as all of it', async () => {
      const res = await range('/text.txt', 'bytes=-3');
      expect(res.status).toBe(206);
      expect(res.body).toBe('hij');
      for (const value of ['bytes=-100', 'bytes=-99999999999999999999', 'bytes=-20']) {
        const whole = await range('/text.txt', value);
        expect({ value, status: whole.status, body: whole.body, range: whole.headers['content-range'] }).toEqual({ value, status: 206, body: TEXT, range: `bytes 0-19/${TEXT.length}` });
      }
      expect((await range('/text.txt', 'bytes=-0')).status).toBe(416);
    });

    it('ignores a Range it cannot read (bytes=abc, bytes=5x-7, no unit) and sends the whole file', async () => {
      for (const value of ['bytes=abc', 'bytes=5x-7', 'bytes=-', 'bytes=', '0-4', 'lines=0-4']) {
        const res = await range('/text.txt', value);
        expect({ value, status: res.status, body: res.body }).toEqual({ value, status: 200, body: TEXT });
      }
    });

    it('answers several ranges either correctly or with the whole file, never an error', async () => {
      for (const value of ['bytes=0-1,4-5', 'bytes=0-4,2-8', 'bytes=0-1,99999999999999999999-']) {
        const res = await range('/text.txt', value);
        expect([200, 206]).toContain(res.status);
        if (res.status === 200) expect(res.body).toBe(TEXT);
        else expect(res.headers['content-range']).toMatch(/^bytes \d+-\d+\/20$/);
      }
      expect((await range('/text.txt', 'bytes=0-4,2-8')).body).toBe(TEXT.slice(0, 9));
    });

    it('ignores Range on HEAD (ranges are defined for GET only)', async () => {
      const res = await request(port, '/text.txt', { method: 'HEAD', headers: { range: 'bytes=5-2' } });
      expect(res.status).toBe(200);
      expect(res.headers['content-length']).toBe(String(TEXT.length));
    });
  });

  describe('caching', () => {
    it('answers HEAD with the headers of GET and no body', async () => {
      const res = await request(port, '/text.txt', { method: 'HEAD' });
      expect(res.status).toBe(200);
      expect(res.body).toBe('');
      expect(res.headers['content-length']).toBe(String(TEXT.length));
      expect(res.headers.etag).toBeTruthy();
    });

    it('answers If-None-Match with the current ETag with 304 and no body', async () => {
      const { headers } = await get('/text.txt');
      const res = await get('/text.txt', { 'if-none-match': headers.etag! });
      expect(res.status).toBe(304);
      expect(res.body).toBe('');
      expect((await get('/text.txt', { 'if-none-match': '"something-else"' })).status).toBe(200);
    });

    it('lets browsers keep hashed files for a year and makes them revalidate everything else', async () => {
      const immutable = ['/_astro/app.D0Zqj8cx.js', '/pagefind/pagefind.en_aa1d2c871c.pf_meta', '/pagefind/fragment/en_16e2375.pf_fragment', '/pagefind/index/en_2d3a80f.pf_index'];
      const revalidate = ['/', '/lessons/x/', '/about', '/text.txt', '/pagefind/pagefind.js', '/pagefind/pagefind-entry.json', '/pagefind/wasm.en.pagefind', '/nothing-here'];
      for (const p of immutable) expect({ p, cc: (await get(p)).headers['cache-control'] }).toEqual({ p, cc: CACHE_CONTROL.immutable });
      for (const p of revalidate) expect({ p, cc: (await get(p)).headers['cache-control'] }).toEqual({ p, cc: CACHE_CONTROL.revalidate });
      expect(CACHE_CONTROL.immutable).toBe('public, max-age=31536000, immutable');
      expect(CACHE_CONTROL.revalidate).toBe('no-cache');
    });
  });

  describe('paths', () => {
    it('serves a directory with and without its slash, and a page without its .html', async () => {
      for (const p of ['/lessons/x/', '/lessons/x', '/lessons/x/index.html']) {
        const res = await get(p);
        expect({ p, status: res.status }).toEqual({ p, status: 200 });
        expect(res.body).toContain('Lesson x');
        expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      }
      expect((await get('/about')).body).toContain('About');
      expect((await get('/')).body).toContain('Home');
    });

    it('answers what does not exist with the site\'s 404 page', async () => {
      const res = await get('/lessons/nope/');
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('This page does not exist.');
    });

    it('never serves a file from outside the root, however the path is spelled', async () => {
      const attempts = [
        '/../package.json', '/%2e%2e/package.json', '/%2E%2E/package.json', '/..%2fpackage.json', '/..%2Fpackage.json',
        '/lessons/../../package.json', '/lessons/%2e%2e/%2e%2e/package.json', '/..%5cpackage.json', '/..\\package.json',
        '/../.lab/lab-manifest.json', '/%2e%2e/%2elab/lab-manifest.json', '//../package.json', '/text.txt%00', '/%00', '/%zz',
      ];
      for (const p of attempts) {
        const res = await get(p);
        expect({ p, status: res.status, leaked: res.body.includes(OUTSIDE_SECRET) }).toEqual({ p, status: expect.toSatisfy((s: number) => s === 404 || s === 400), leaked: false });
      }
    });

    it('does not serve dotfiles', async () => {
      for (const p of ['/.build-stamp', '/.hidden/file.txt', '/%2ebuild-stamp', '/.hidden/']) {
        const res = await get(p);
        expect({ p, status: res.status }).toEqual({ p, status: 404 });
        expect(res.body).not.toContain('secret');
      }
    });

    it('answers methods other than GET and HEAD with 405 and the allowed ones', async () => {
      const res = await request(port, '/text.txt', { method: 'POST' });
      expect(res.status).toBe(405);
      expect(res.headers.allow).toBe('GET, HEAD');
    });
  });

  it('puts the security headers on every kind of answer: 200, 206, 304, 404, 416, 400, 405', async () => {
    const etag = (await get('/text.txt')).headers.etag!;
    const answers = {
      200: await get('/'),
      206: await range('/text.txt', 'bytes=0-4'),
      304: await get('/text.txt', { 'if-none-match': etag }),
      404: await get('/nothing-here'),
      416: await range('/text.txt', 'bytes=5-2'),
      400: await get('/%zz'),
      405: await request(port, '/', { method: 'DELETE' }),
    };
    for (const [status, res] of Object.entries(answers)) {
      expect(res.status).toBe(Number(status));
      expect({ status, csp: res.headers['content-security-policy'] }).toEqual({ status, csp: expect.stringContaining("frame-ancestors 'self'") });
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['referrer-policy']).toBe('same-origin');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    }
  });
});

describe('the content security policy', () => {
  it('allows the site\'s inline scripts by hash, and nothing inline otherwise', () => {
    const { root } = writeSite();
    const hashes = inlineScriptHashes(root);
    // sha256 of INLINE_SCRIPT, base64 (computed with openssl), as a browser computes it; the external script adds none.
    expect(hashes).toEqual(["'sha256-RH/36EFn2TnZtn39Gf6aq1rnKqEXnEQbfAXoYkwhRP0='"]);
    const csp = securityHeaders(root)['Content-Security-Policy'];
    const scriptSrc = /script-src ([^;]*)/.exec(csp)![1]!;
    expect(scriptSrc).toContain(hashes[0]);
    expect(scriptSrc).not.toContain('unsafe-inline');
    expect(scriptSrc).not.toContain("'unsafe-eval'");
    for (const directive of ["object-src 'none'", "base-uri 'self'", "frame-ancestors 'self'", "default-src 'self'", "connect-src 'self'"]) expect(csp).toContain(directive);
  });

  it('still has a policy when the site is not built', () => {
    const csp = securityHeaders(path.join(tmpdir(), 'dnl-no-such-site'))['Content-Security-Policy'];
    expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval';/);
  });
});

describe('a site that is not built', () => {
  it('answers every request with 503 and a sentence saying how to build it', async () => {
    const serve = createStaticSite(path.join(tmpdir(), 'dnl-no-such-site'));
    const server = await listen((req, res) => serve(req, res));
    const res = await request((server.address() as AddressInfo).port, '/lessons/x/');
    server.close();
    expect(res.status).toBe(503);
    expect(res.body).toMatch(/The course site is not built .* Run "npm run build"/);
  });
});
