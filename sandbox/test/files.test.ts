/**
 * The Files API (issue 22) against real labs: list, read, write, make, move and delete on a lab
 * host, names no line-based tool would survive, a 3 MiB file byte for byte, the upload limit
 * without the runner's memory growing by the file, versions (If-Match, If-None-Match), mode and
 * owner kept; and hostile input: other labs' tokens, paths meant to reach the machine (`../`,
 * absolute paths, symlinks to /proc/1/root, a symlink swapped during copies), malformed paths
 * and bodies. Two labs share every assertion (lab B is "another lab"); figures are printed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERRORS, ROUTES, type LabCreated } from '../../contract/api.ts';
import { FILE_ERRORS, FILE_HEADERS, FILE_ROUTES, type FileEntry, type FileListing } from '../../contract/files.ts';
import { LAB_GONE } from '../src/routes.ts';
import { labHostContainerName } from '../src/names.ts';
import { api, assertStillServes, createLab, execIn, LESSONS, labFixtures, startRunner, TerminalClient, type RunningRunner } from './harness.ts';

const MiB = 1024 ** 2;
/** The runner's default upload limit (config.ts LAB_FILE_UPLOAD_MAX). */
const UPLOAD_MAX = 10 * MiB;
/** How long the symlink-swapping loop runs while files are copied through the swapped name (ms). */
const SWAP_MS = 3_000;

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json: any;
}

/** One request with a binary body (or JSON), whatever it answers. */
function request(runner: RunningRunner, method: string, pathname: string, opts: { token?: string; body?: Buffer | string; headers?: Record<string, string> } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    // The runner may answer and close before it took the whole body (a refused upload): the answer counts.
    let answered = false;
    const req = http.request(`${runner.url}${pathname}`, {
      method,
      headers: { ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}), ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers },
    }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        let json;
        try {
          json = JSON.parse(body.toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
      res.on('error', reject);
    });
    req.on('error', (err) => answered || reject(err));
    req.end(opts.body);
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('the Files API on a real lab host', () => {
  let runner: RunningRunner;
  let a: LabCreated;
  let b: LabCreated;
  let containerA: string;
  /** A file on the machine (the runner's side) that no lab may read or change. */
  const marker = path.join(tmpdir(), `dnl-files-marker-${randomBytes(6).toString('hex')}`);
  const markerText = `machine-only-${randomBytes(12).toString('hex')}`;

  const list = (lab: LabCreated, p?: string) => request(runner, 'GET', FILE_ROUTES.files.path(lab.id, 'host1', p), { token: lab.token });
  const read = (lab: LabCreated, p: string, download = false) => request(runner, 'GET', FILE_ROUTES.fileContent.path(lab.id, 'host1', p, download), { token: lab.token });
  const write = (lab: LabCreated, p: string, body: Buffer | string, headers: Record<string, string> = {}) =>
    request(runner, 'PUT', FILE_ROUTES.fileContent.path(lab.id, 'host1', p), { token: lab.token, body, headers });
  const post = (lab: LabCreated, route: 'folders' | 'moves', body: unknown) =>
    request(runner, 'POST', FILE_ROUTES[route].path(lab.id, 'host1'), { token: lab.token, body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const remove = (lab: LabCreated, p: string) => request(runner, 'DELETE', FILE_ROUTES.files.path(lab.id, 'host1', p), { token: lab.token });
  const inA = async (script: string) => (await execIn(containerA, ['sh', '-c', script])).output.replace(/\r\n/g, '\n');

  beforeAll(async () => {
    writeFileSync(marker, markerText);
    runner = await startRunner(labFixtures());
    [a, b] = await Promise.all([createLab(runner, LESSONS.oneHost), createLab(runner, LESSONS.oneHost)]);
    containerA = labHostContainerName(a.id, 'host1');
  }, 120_000);
  afterAll(async () => {
    for (const lab of [a, b]) if (lab && runner) await api(runner, 'DELETE', ROUTES.lab.path(lab.id), { token: lab.token });
    await runner?.stop();
    rmSync(marker, { force: true });
  });

  it("gives the lab's file limits in its description", async () => {
    expect(a.files).toEqual({ uploadMax: UPLOAD_MAX, editMax: MiB });
    expect((await api(runner, 'GET', ROUTES.lab.path(a.id), { token: a.token })).json.files).toEqual({ uploadMax: UPLOAD_MAX, editMax: MiB });
  });

  it("lists the newest shell's working directory when no path is given (else /root), folders first", async () => {
    expect((await list(a)).json.path).toBe('/root');
    const term = await TerminalClient.open(runner, a, 'host1');
    try {
      await term.waitForPrompt();
      await term.run('mkdir -p /tmp/work/zdir && touch /tmp/work/afile && cd /tmp/work');
      const listing = (await list(a)).json as FileListing;
      expect(listing.path).toBe('/tmp/work');
      expect(listing.entries.map((e) => [e.name, e.type, e.path])).toEqual([['zdir', 'dir', '/tmp/work/zdir'], ['afile', 'file', '/tmp/work/afile']]);
      // A relative path is relative to that directory too.
      expect((await write(a, 'rel.txt', 'relative')).json.path).toBe('/tmp/work/rel.txt');
    } finally {
      term.close();
    }
  }, 60_000);

  it('creates, lists, reads, renames and deletes files and folders named with a space, a newline, Chinese characters and a leading dash', async () => {
    for (const name of ['with space.txt', 'new\nline', '文件.yaml', '-rf', '-n\n ', 'trail\n']) {
      const p = `/root/${name}`;
      const content = `content of ${JSON.stringify(name)}\n`;
      const created = await write(a, p, content, { 'if-none-match': '*' });
      expect(created.status, created.body.toString()).toBe(201);
      expect((created.json as FileEntry)).toMatchObject({ name, path: p, type: 'file', size: Buffer.byteLength(content), mode: '0644', owner: 'root' });
      expect((await list(a, '/root')).json.entries.find((e: FileEntry) => e.name === name)).toMatchObject({ path: p, type: 'file' });
      const got = await read(a, p, true);
      expect(got.body.toString()).toBe(content);
      expect(got.headers['content-disposition']).toBe(`attachment; filename*=UTF-8''${encodeURIComponent(name)}`);
      const moved = await post(a, 'moves', { from: p, to: `${p}-moved` });
      expect(moved.status).toBe(200);
      expect(moved.json.name).toBe(`${name}-moved`);
      expect((await read(a, p)).json.error).toBe(FILE_ERRORS.fileNotFound.code);
      expect((await remove(a, `${p}-moved`)).status).toBe(204);
      expect((await read(a, `${p}-moved`)).status).toBe(404);
      // The same name as a folder.
      expect((await post(a, 'folders', { path: p })).json).toMatchObject({ name, type: 'dir' });
      expect((await write(a, `${p}/inside`, 'x')).status).toBe(201);
      expect((await list(a, p)).json.entries.map((e: FileEntry) => e.name)).toEqual(['inside']);
      expect((await remove(a, p)).status).toBe(204);
    }
    // What the shell sees is what was written: no name was mangled on the way.
    expect(await inA('ls -A /root | grep -c dnl- || true')).toMatch(/^0/);
  }, 60_000);

  it('uploads a 3 MiB random file and downloads it byte-identical; refuses 11 MiB with 413 and a sentence, the runner growing by far less than the file', async () => {
    const file = randomBytes(3 * MiB);
    const before = runner.rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, runner.rss())), 10);
    try {
      const t0 = performance.now();
      const up = await write(a, '/root/random.bin', file);
      const t1 = performance.now();
      expect(up.status, up.body.toString()).toBe(201);
      expect(up.json.size).toBe(file.length);
      const down = await read(a, '/root/random.bin');
      const t2 = performance.now();
      expect(down.status).toBe(200);
      expect(Number(down.headers['content-length'])).toBe(file.length);
      expect(sha256(down.body)).toBe(sha256(file));
      expect(await inA('sha256sum /root/random.bin')).toContain(sha256(file));
      const threeMiBPeak = peak - before;
      const beforeBig = runner.rss();
      peak = beforeBig;

      const big = randomBytes(11 * MiB);
      const refused = await write(a, '/root/big.bin', big).catch((err: Error) => ({ status: -1, json: { message: err.message } }) as Raw);
      expect(refused.status).toBe(FILE_ERRORS.fileTooBig.status);
      expect(refused.json.error).toBe(FILE_ERRORS.fileTooBig.code);
      expect(refused.json.message).toMatch(/11 MiB.*up to 10 MiB/);
      expect(await inA('ls -A /root | grep -c big.bin || true')).toMatch(/^0/);
      // Sampled a while longer: a body read after the answer would show then.
      await new Promise((r) => setTimeout(r, 500));
      const elevenPeak = peak - beforeBig;
      console.log(
        `files: 3 MiB up ${(t1 - t0).toFixed(0)} ms, down ${(t2 - t1).toFixed(0)} ms; runner RSS ${(before / MiB).toFixed(1)} MiB, peak growth ` +
          `${(threeMiBPeak / MiB).toFixed(1)} MiB during the 3 MiB round trip (buffers not yet collected), ${(elevenPeak / MiB).toFixed(1)} MiB for the refused 11 MiB upload`,
      );
      // Refused on its Content-Length, the body is never read: not even a tenth of it.
      expect(elevenPeak).toBeLessThan(big.length / 10);
    } finally {
      clearInterval(sampler);
    }
  }, 60_000);

  it('streams an upload into the lab host as it arrives, and leaves nothing when the client stops halfway', async () => {
    const length = 8 * MiB;
    const req = http.request(`${runner.url}${FILE_ROUTES.fileContent.path(a.id, 'host1', '/root/halfway.bin')}`, {
      method: 'PUT', headers: { authorization: `Bearer ${a.token}`, 'content-length': String(length) },
    });
    req.on('error', () => {});
    req.write(randomBytes(2 * MiB));
    // The bytes sent so far are already in the temporary file beside the target: the runner passes them on, not keeps them.
    let inHost = 0;
    for (let i = 0; i < 100 && inHost < MiB; i++) {
      await new Promise((r) => setTimeout(r, 50));
      inHost = Number((await inA('stat -c %s /root/.halfway.bin.dnl-* 2>/dev/null || echo 0')).trim().split('\n')[0]);
    }
    // (The last few KiB may sit in the engine's copy buffers.)
    expect(inHost).toBeGreaterThanOrEqual(MiB);
    req.destroy();
    let left = '';
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 50));
      left = await inA('ls -A /root | grep halfway || true');
      if (!left.trim()) break;
    }
    expect(left.trim()).toBe('');
  }, 30_000);

  it('refuses a write over a changed file (412), a create over an existing one (409), and keeps mode and owner over a write', async () => {
    const p = '/root/kept.conf';
    const first = await write(a, p, 'one\n');
    expect(first.status).toBe(201);
    await inA(`chmod 0750 ${p} && chown nobody:nogroup ${p}`);
    const opened = await read(a, p);
    const etag = opened.headers.etag!;
    expect(etag).toBe(`"${opened.headers[FILE_HEADERS.version]}"`);
    expect((await write(a, p, 'two\n', { 'if-none-match': '*' })).json.error).toBe(FILE_ERRORS.fileExists.code);
    // Refused before its body was taken: the answer comes at once, the 5 MiB are not read.
    const early = await write(a, p, randomBytes(5 * MiB), { 'if-none-match': '*' });
    expect([early.status, early.json.error]).toEqual([409, FILE_ERRORS.fileExists.code]);
    const saved = await write(a, p, 'two\n', { 'if-match': etag });
    expect(saved.status, saved.body.toString()).toBe(200);
    expect(saved.json).toMatchObject({ mode: '0750', owner: 'nobody', size: 4 });
    expect(saved.json.version).not.toBe(opened.headers[FILE_HEADERS.version]);
    expect(await inA(`stat -c '%a %U %G' ${p}; cat ${p}`)).toBe('750 nobody nogroup\ntwo\n');
    // The editor's copy is now stale: the same If-Match is refused, and the file is untouched.
    const stale = await write(a, p, 'three\n', { 'if-match': etag });
    expect(stale.status).toBe(412);
    expect(stale.json.error).toBe(FILE_ERRORS.fileChanged.code);
    expect(stale.json.message).toMatch(/changed/);
    expect((await read(a, p)).body.toString()).toBe('two\n');
    // Folders: the parent must exist, and nothing is made twice.
    expect((await post(a, 'folders', { path: '/root/no/such' })).json.error).toBe(FILE_ERRORS.fileNotFound.code);
    expect((await post(a, 'folders', { path: p })).json.error).toBe(FILE_ERRORS.fileExists.code);
    expect((await post(a, 'moves', { from: '/root/random.bin', to: p })).json.error).toBe(FILE_ERRORS.fileExists.code);
    expect((await list(a, p)).json.error).toBe(FILE_ERRORS.notADirectory.code);
    expect((await read(a, '/root')).json.error).toBe(FILE_ERRORS.isADirectory.code);
    const readOnly = await write(a, '/etc/motd-new', 'x');
    expect([readOnly.status, readOnly.json.error]).toEqual([403, FILE_ERRORS.filePermission.code]);
  }, 60_000);

  it("refuses another lab's token, no token and a wrong host; bad paths and bodies get a sentence", async () => {
    const path1 = FILE_ROUTES.files.path(a.id, 'host1', '/root');
    for (const token of [b.token, undefined, 'x'.repeat(40)]) {
      const answer = await request(runner, 'GET', path1, { token });
      expect([answer.status, answer.json.error, answer.json.message]).toEqual([404, API_ERRORS.labNotFound.code, LAB_GONE]);
    }
    expect((await request(runner, 'PUT', FILE_ROUTES.fileContent.path(a.id, 'host1', '/root/b-was-here'), { token: b.token, body: 'x' })).status).toBe(404);
    // A page of another site, even with the right token (a token it should not have), changes nothing.
    const foreign = await request(runner, 'PUT', FILE_ROUTES.fileContent.path(a.id, 'host1', '/root/b-was-here'), { token: a.token, body: 'x', headers: { origin: 'https://evil.example' } });
    expect([foreign.status, foreign.json.error]).toEqual([403, API_ERRORS.forbiddenOrigin.code]);
    expect(await inA('ls /root/b-was-here 2>&1 || true')).toMatch(/No such file/);
    expect((await request(runner, 'GET', FILE_ROUTES.files.path(a.id, 'host2', '/'), { token: a.token })).json.error).toBe(API_ERRORS.notFound.code);
    expect((await request(runner, 'GET', FILE_ROUTES.files.path(a.id, '../host1', '/'), { token: a.token })).status).toBe(404);

    const bad = async (answer: Promise<Raw>, code: string) => {
      const got = await answer;
      expect(got.json?.error, got.body.toString().slice(0, 200)).toBe(code);
      expect(got.json.message.length).toBeGreaterThan(20);
    };
    await bad(request(runner, 'GET', `${FILE_ROUTES.files.path(a.id, 'host1')}?path=%00`, { token: a.token }), FILE_ERRORS.badPath.code);
    await bad(request(runner, 'GET', `${FILE_ROUTES.files.path(a.id, 'host1')}?path=`, { token: a.token }), FILE_ERRORS.badPath.code);
    await bad(list(a, `/root/${'a'.repeat(5000)}`), FILE_ERRORS.badPath.code);
    // A malformed escape is taken as the characters it is (no such file), never as something else.
    await bad(request(runner, 'GET', `${FILE_ROUTES.fileContent.path(a.id, 'host1', 'x')}%zz%E0%A4`, { token: a.token }), FILE_ERRORS.fileNotFound.code);
    expect((await request(runner, 'GET', `/api/labs/%zz/hosts/host1/files`, { token: a.token })).status).toBe(404);
    await bad(post(a, 'folders', '{"path": '), API_ERRORS.badJson.code);
    expect((await post(a, 'moves', '{"from": ')).json.message).toContain('{"from": "/root/old-name", "to": "/root/new-name"}');
    await bad(post(a, 'folders', { path: 'x'.repeat(100_000) }), API_ERRORS.bodyTooLarge.code);
    await bad(post(a, 'folders', { path: 42 }), FILE_ERRORS.badPath.code);
    await bad(post(a, 'folders', null), FILE_ERRORS.badPath.code);
    await bad(post(a, 'moves', { from: ['/root'], to: '/tmp' }), FILE_ERRORS.badPath.code);
    await bad(post(a, 'moves', { from: '/root/kept.conf', to: 'a\0b' }), FILE_ERRORS.badPath.code);
    await bad(request(runner, 'PUT', FILE_ROUTES.fileContent.path(a.id, 'host1', '/root/x'), { token: a.token, headers: { 'transfer-encoding': 'chunked' } }), API_ERRORS.badRequest.code);
    // A flood of requests on one lab: a few at a time run, the rest are told to wait; the lab still answers after.
    const flood = await Promise.all(Array.from({ length: 24 }, () => list(a, '/root')));
    const statuses = flood.map((r) => r.status);
    expect(statuses.filter((x) => x === 200).length).toBeGreaterThanOrEqual(8);
    expect(flood.find((r) => r.status === 429)?.json.error).toBe(API_ERRORS.rateLimited.code);
    expect((await list(a, '/root')).status).toBe(200);
  }, 60_000);

  it("confines every path to the lab host: ../, the machine's absolute paths, symlinks to /proc/1/root, a symlink swapped during copies", async () => {
    const hostName = (await inA('cat /etc/hostname')).trim();
    // ../ climbs to the lab host's root, and no further.
    const top = (await list(a, '/root/../../../..')).json as FileListing;
    expect(top.path).toBe('/');
    expect((await read(a, '../../../../../etc/hostname')).body.toString().trim()).toBe(hostName);
    // The machine's file does not exist in the lab host; writing its path writes the lab host's.
    expect((await read(a, marker)).json.error).toBe(FILE_ERRORS.fileNotFound.code);
    expect((await write(a, marker, 'lab-wrote-this')).status).toBe(201);
    expect(readFileSync(marker, 'utf8')).toBe(markerText);
    // /proc/1/root is the lab host's own root (its PID 1), through a link or directly.
    await inA(`ln -s /proc/1/root${marker} /root/escape && ln -s /proc/1/root/ /root/rootlink`);
    expect((await read(a, '/root/escape')).body.toString()).toBe('lab-wrote-this');
    expect((await read(a, `/proc/1/root/etc/hostname`)).body.toString().trim()).toBe(hostName);
    expect((await list(a, '/root/rootlink')).json.path).toBe('/');
    expect((await write(a, '/root/escape', 'through-the-link')).status).toBe(200);
    expect(readFileSync(marker, 'utf8')).toBe(markerText);

    // A directory and a symlink to / swapped under the same name while files are copied through it.
    // /root/swap is a folder holding the marker's path for 0.2 s, then a link to / for 0.2 s, and so on: about
    // as long as a copy takes, so some copies run in one state and others straddle a swap.
    await inA(`mkdir -p /root/swapdir${path.dirname(marker)} && echo in-swapdir > /root/swapdir${marker} && ln -s / /root/swaplink`);
    const swapping = inA(`end=$(($(date +%s) + ${SWAP_MS / 1000 + 1})); while [ $(date +%s) -lt $end ]; do mv -T /root/swapdir /root/swap; sleep 0.2; mv -T /root/swap /root/swapdir; mv -T /root/swaplink /root/swap; sleep 0.2; mv -T /root/swap /root/swaplink; done`);
    const through = `/root/swap${marker}`;
    const seen = new Set<string>();
    const contents = new Set<string>();
    const deadline = Date.now() + SWAP_MS;
    let copies = 0;
    while (Date.now() < deadline) {
      // A download cut short (the file read was swapped for a shorter one while read) is status 0 here.
      const [up, down] = await Promise.all([write(a, through, `swap-${copies}`), read(a, through).catch(() => ({ status: 0, body: Buffer.alloc(0) }) as Raw)]);
      copies += 2;
      seen.add(`${up.status}/${down.status}`);
      // Answered with the file or a refusal, never a failure of the runner.
      expect(down.status, down.body.toString()).toBeLessThan(500);
      expect(up.status, up.body.toString()).toBeLessThan(500);
      expect(down.body.toString()).not.toContain(markerText);
      if (down.status === 200) contents.add(down.body.toString().replace(/\d+/, 'N').trim());
    }
    await swapping;
    expect(readFileSync(marker, 'utf8')).toBe(markerText);
    console.log(`files: ${copies} copies during the symlink swap, answers (PUT/GET) ${[...seen].join(', ')}; read ${[...contents].join(', ')}`);
    // Copies went through the name (and each stayed in the lab host).
    expect([...seen].some((x) => /^20\d|\/200$/.test(x))).toBe(true);
    // Whatever landed, landed in the lab host.
    expect(await inA(`cat ${marker}; echo; cat /root/swapdir${marker} 2>/dev/null; true`)).toMatch(/swap-\d+|through-the-link/);
    // A lab host's device and special files are not opened.
    expect((await read(a, '/dev/zero')).json.error).toBe(FILE_ERRORS.filePermission.code);
    expect((await read(a, '/proc/self/status')).status).toBe(200);
    await assertStillServes(runner, b);
  }, 60_000);

  it('answers with the lab-gone sentence once the lab is gone', async () => {
    expect((await api(runner, 'DELETE', ROUTES.lab.path(a.id), { token: a.token })).status).toBe(204);
    for (const answer of [await list(a, '/root'), await write(a, '/root/x', 'x'), await post(a, 'folders', { path: '/root/y' })]) {
      expect([answer.status, answer.json.error, answer.json.message]).toEqual([404, API_ERRORS.labNotFound.code, LAB_GONE]);
    }
    // The other lab keeps working.
    expect((await list(b, '/')).json.path).toBe('/');
  }, 30_000);
});
