/**
 * Web previews against real labs: a port a container publishes on a lab host shows up in the
 * lab's event state while its page listens, and its preview address serves the page (HTTP) and
 * passes a WebSocket through, from an origin of its own with none of the course's headers. A
 * guessed id, another lab's id shape, and any id after its lab ended get 404; hostile Host
 * headers and request lines get an error and leave the runner serving; following a host leaves
 * no exec behind. It also measures what a preview adds to a request's time (median of 50).
 * The browser's side (the panel's link, a new tab, the course out of reach) is e2e/previews.test.ts.
 */
import http from 'node:http';
import { connect } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabCreated } from '../../contract/api.ts';
import type { LabEventState, PreviewLink } from '../../contract/protocol.ts';
import { labHostContainerName } from '../src/names.ts';
import { LabEventsClient } from '../tools/room-clients.ts';
import { api, assertStillServes, createLab, execIn, LESSONS, labFixtures, percentile, rawExchange, startRunner, type RunningRunner } from './harness.ts';

/** A container's engine is up and a listing is a few execs away; a loaded machine takes longer. */
const PUBLISH_SEEN_MS = 20_000;
const NOT_FOUND = /There is no preview at this address/;
/** RFC 6455's GUID for Sec-WebSocket-Accept. */
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/**
 * A WebSocket server in busybox sh (nc -ll runs it per connection): it reads the handshake,
 * answers 101 with the right Sec-WebSocket-Accept, sends one text frame "hello" and then echoes
 * whatever it gets, raw.
 */
const WS_SERVER = [
  '#!/bin/sh',
  'while read -r line; do line=$(printf %s "$line" | tr -d "\\r"); [ -z "$line" ] && break;',
  ' case "$line" in Sec-WebSocket-Key:*) key=${line#*: };; esac; done',
  `accept=$(printf "$(printf %s "\${key}${WS_GUID}" | sha1sum | cut -c1-40 | sed 's/../\\\\x&/g')" | base64)`,
  'printf "HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: %s\\r\\n\\r\\n" "$accept"',
  'printf "\\201\\005hello"',
  'exec cat',
].join('\n');

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A request to the runner for `url` (a preview's), the way a browser sends it: to loopback, with the preview's Host. */
function previewRequest(runner: RunningRunner, url: string, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: runner.port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: { host: new URL(url).host, ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const previewOf = (state: LabEventState, host: string, port: number): PreviewLink | undefined => state.previews.find((p) => p.host === host && p.port === port);

/** Wait until the lab's state lists a preview of host:port; its link. */
async function published(events: LabEventsClient, host: string, port: number): Promise<PreviewLink> {
  const state = await events.waitForState((s) => previewOf(s, host, port) !== undefined, PUBLISH_SEEN_MS, `a preview of ${host}:${port}`);
  return previewOf(state, host, port)!;
}

/** A new lab host's own engine takes a few seconds to answer. */
const engineUp = (containerName: string) => execIn(containerName, ['sh', '-c', 'until docker info >/dev/null 2>&1; do sleep 0.2; done'], 60_000);

const processes = async (lab: LabCreated, host = 'host1') => (await execIn(labHostContainerName(lab.id, host), ['ps', '-eo', 'args'])).output;

describe('web previews', () => {
  let runner: RunningRunner;
  let lab: LabCreated;
  let events: LabEventsClient;
  let web: PreviewLink;

  beforeAll(async () => {
    runner = await startRunner(labFixtures());
    lab = await createLab(runner, LESSONS.twoHosts);
    events = await LabEventsClient.open(runner, lab);
  });
  afterAll(async () => {
    events?.close();
    await runner?.stop();
  });

  it('lists a port published on a lab host once its page listens, and serves the container\'s page there, without the course\'s headers', async () => {
    const host1 = labHostContainerName(lab.id, 'host1');
    await engineUp(host1);
    await execIn(host1, ['docker', 'run', '-d', '--name', 'web1', '-p', '8080:80', 'web']);
    web = await published(events, 'host1', 8080);
    expect(web.url).toMatch(new RegExp(`^http://[a-z2-7]{26}\\.localhost:${runner.port}/$`));

    const page = await previewRequest(runner, web.url);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/Hello from container/);
    // The preview's answer is its server's: nothing of the course's policy, nothing opening the course to it.
    for (const header of ['content-security-policy', 'access-control-allow-origin', 'cross-origin-resource-policy', 'set-cookie']) expect(page.headers[header]).toBeUndefined();

    // A request with a body goes through too, and an answer that ends with its connection
    // (busybox httpd refuses POST to a file, in its own words, with no Content-Length).
    const post = await previewRequest(runner, web.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
    expect(post.status).toBe(501);
    expect(post.body).toMatch(/The requested method is not recognized/);
  });

  it('passes a WebSocket through both ways', async () => {
    const host2 = labHostContainerName(lab.id, 'host2');
    await engineUp(host2);
    await execIn(host2, ['docker', 'run', '-d', '--name', 'ws', '-p', '9000:9000', 'busybox', 'sh', '-c', 'printf "%s" "$1" > /ws.sh && chmod +x /ws.sh && exec nc -ll -p 9000 -e /ws.sh', 'ws', WS_SERVER]);
    const link = await published(events, 'host2', 9000).catch(async () => {
      throw new Error(`no preview of host2:9000; host2 runs: ${await processes(lab, 'host2')}`);
    });
    // To loopback with the preview's Host, as a browser resolving *.localhost sends it (Node's resolver does not).
    const ws = new WebSocket(`ws://127.0.0.1:${runner.port}/`, { headers: { host: new URL(link.url).host, origin: link.url.replace(/\/$/, '') } });
    const hello = await new Promise<string>((resolve, reject) => {
      ws.once('message', (data) => resolve(String(data)));
      ws.once('error', reject);
    });
    expect(hello).toBe('hello');
    ws.terminate();

    // Raw bytes, both ways, after the handshake (the server echoes; a ws client would refuse its own masked frames back).
    const key = randomBytes(16).toString('base64');
    const socket = connect(runner.port, '127.0.0.1');
    let received = '';
    socket.on('data', (d) => (received += d.toString('latin1')));
    socket.write(`GET / HTTP/1.1\r\nHost: ${new URL(link.url).host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`);
    await expect.poll(() => received, { timeout: 10_000 }).toContain('hello');
    expect(received).toMatch(/^HTTP\/1\.1 101/);
    expect(received).toContain(`Sec-WebSocket-Accept: ${createHash('sha1').update(key + WS_GUID).digest('base64')}`);
    socket.write('ping-through-the-relay');
    await expect.poll(() => received, { timeout: 10_000 }).toContain('ping-through-the-relay');
    socket.destroy();
  });

  it('answers 404 with a sentence for a guessed id, a lab\'s id or token in its place, and any other name under the preview domain', async () => {
    const host = (label: string) => `http://${label}.localhost:${runner.port}/`;
    const guessed = randomBytes(16).toString('hex').replace(/[^a-z2-7]/g, 'a').slice(0, 26).padEnd(26, 'q');
    for (const label of [guessed, lab.id, lab.token.toLowerCase().replace(/[^a-z0-9]/g, ''), 'foo', `${new URL(web.url).hostname.split('.')[0]}x`, `a.${new URL(web.url).hostname.split('.')[0]}`]) {
      const answer = await previewRequest(runner, host(label));
      expect(answer.status, label).toBe(404);
      expect(answer.body).toMatch(NOT_FOUND);
      expect(answer.headers['content-type']).toMatch(/^text\/plain/);
    }
    // An upgrade to an unknown preview is refused the same way.
    const refused = await rawExchange(runner.port, `GET / HTTP/1.1\r\nHost: ${guessed}.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    expect(refused).toMatch(/^HTTP\/1\.1 404/);
  });

  it('keeps the course where it was: its own hosts still get the site and the API', async () => {
    expect((await api(runner, 'GET', '/api/health')).status).toBe(200);
    const bare = await rawExchange(runner.port, 'GET /api/health HTTP/1.0\r\n\r\n');
    expect(bare).toMatch(/^HTTP\/1\.1 200/);
    // The course's API is not reachable through a preview's name: that path goes to the container.
    const viaPreview = await previewRequest(runner, web.url, { path: '/api/health' });
    expect(viaPreview.status).toBe(404);
    expect(viaPreview.body).not.toMatch(/"engine"/);
  });

  it('refuses hostile request lines and Host headers on a preview with an error, and keeps serving', async () => {
    const previewHost = new URL(web.url).host;
    const exchanges: [string, RegExp][] = [
      // A proxy-style absolute URL is not a request for this preview.
      [`GET http://127.0.0.1:${runner.port}/api/health HTTP/1.1\r\nHost: ${previewHost}\r\n\r\n`, /^HTTP\/1\.1 400/],
      [`GET * HTTP/1.1\r\nHost: ${previewHost}\r\n\r\n`, /^HTTP\/1\.1 400/],
      // A Host longer than Node takes at all.
      [`GET / HTTP/1.1\r\nHost: ${'a'.repeat(20_000)}.localhost\r\n\r\n`, /^HTTP\/1\.1 431/],
      [`GET / HTTP/1.1\r\nHost: ${'z'.repeat(26)}.localhost\r\n\r\n`, /^HTTP\/1\.1 404/],
      [`GET / HTTP/1.1\r\nHost: \x01\x02.localhost\r\n\r\n`, /^HTTP\/1\.1 400/],
      // A method the container's server does not know is its business; the runner passes it on.
      [`PROPFIND / HTTP/1.1\r\nHost: ${previewHost}\r\nContent-Length: 0\r\n\r\n`, /^HTTP\/1\.1 [45]\d\d/],
    ];
    for (const [request, expected] of exchanges) expect(await rawExchange(runner.port, request), JSON.stringify(request.slice(0, 60))).toMatch(expected);
    // CONNECT to a preview: Node closes the socket.
    expect(await rawExchange(runner.port, `CONNECT ${previewHost} HTTP/1.1\r\nHost: ${previewHost}\r\n\r\n`)).not.toMatch(/200/);
    // Half a request, then gone; an upgrade that never says more.
    for (const request of [`GET / HTTP/1.1\r\nHost: ${previewHost}\r\nContent-Length: 100\r\n\r\nabc`, `GET / HTTP/1.1\r\nHost: ${previewHost}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`]) {
      await rawExchange(runner.port, request, 500);
    }
    await assertStillServes(runner, lab);
    expect((await previewRequest(runner, web.url)).body).toMatch(/Hello from container/);
  });

  it('answers 502 with a sentence when nothing listens on the preview\'s port any more, and drops the link', async () => {
    await execIn(labHostContainerName(lab.id, 'host1'), ['docker', 'rm', '-f', 'web1']);
    await events.waitForState((s) => previewOf(s, 'host1', 8080) === undefined, PUBLISH_SEEN_MS, 'the preview of host1:8080 to go');
    const answer = await previewRequest(runner, web.url);
    expect(answer.status).toBe(502);
    expect(answer.body).toMatch(/Nothing answered on host1:8080/);
    // Published again: the same address works again.
    await execIn(labHostContainerName(lab.id, 'host1'), ['docker', 'run', '-d', '--name', 'web1', '-p', '8080:80', 'web']);
    expect((await published(events, 'host1', 8080)).url).toBe(web.url);
    await expect.poll(async () => (await previewRequest(runner, web.url)).status, { timeout: 10_000 }).toBe(200);
  });

  it('stops following the lab hosts when no page listens, leaving no exec behind', async () => {
    expect(await processes(lab)).toMatch(/docker events/);
    events.close();
    await expect.poll(() => processes(lab), { timeout: 10_000 }).not.toMatch(/docker events|cat$/m);
    // Of the relays the requests so far used, none is left: only the one started ahead for the next request waits.
    expect((await processes(lab)).match(/^perl -e/gm)?.length ?? 0).toBeLessThanOrEqual(1);
    // The preview itself still answers without a page listening.
    expect((await previewRequest(runner, web.url)).status).toBe(200);
    events = await LabEventsClient.open(runner, lab);
    await published(events, 'host1', 8080);
  });

  it('adds a few milliseconds to a request (median of 50, against the same request from inside the lab host)', async () => {
    const host1 = labHostContainerName(lab.id, 'host1');
    // Paced like a person clicking, and back to back; each a new connection, as busybox httpd closes each one.
    const loop = (url: string, pause: number) =>
      `for i in $(seq 50); do curl -s -o /dev/null -w '%{time_total}\\n' ${url}; sleep ${pause}; done`;
    const measure = async (pause: number) => {
      const direct = (await execIn(host1, ['sh', '-c', loop('http://127.0.0.1:8080/', pause)], 60_000)).output.trim().split(/\s+/).map((s) => Number(s) * 1000);
      // curl resolves *.localhost to loopback itself, as browsers do.
      const preview = execFileSync('sh', ['-c', loop(web.url, pause)], { encoding: 'utf8' }).trim().split(/\s+/).map((s) => Number(s) * 1000);
      return { direct: percentile(direct, 50), preview: percentile(preview, 50) };
    };
    const paced = await measure(0.2);
    const burst = await measure(0);
    console.log(`preview latency, median of 50: paced 200 ms apart: direct ${paced.direct.toFixed(2)} ms, preview ${paced.preview.toFixed(2)} ms, added ${(paced.preview - paced.direct).toFixed(2)} ms; back to back: direct ${burst.direct.toFixed(2)} ms, preview ${burst.preview.toFixed(2)} ms, added ${(burst.preview - burst.direct).toFixed(2)} ms`);
    // Without the relay started ahead, each request would wait ~40 ms for its exec.
    expect(paced.preview - paced.direct).toBeLessThan(25);
  });

  it('answers 404 for every preview of a lab once it ended, and only for that lab\'s', async () => {
    const other = await createLab(runner, LESSONS.oneHost);
    const otherEvents = await LabEventsClient.open(runner, other);
    await engineUp(labHostContainerName(other.id, 'host1'));
    await execIn(labHostContainerName(other.id, 'host1'), ['docker', 'run', '-d', '-p', '8080:80', 'web']);
    const otherWeb = await published(otherEvents, 'host1', 8080);
    expect(otherWeb.url).not.toBe(web.url);
    const otherPage = (await previewRequest(runner, otherWeb.url)).body;
    expect(otherPage).toMatch(/Hello from container/);
    expect(otherPage).not.toBe((await previewRequest(runner, web.url)).body);

    expect((await api(runner, 'DELETE', `/api/labs/${other.id}`, { token: other.token })).status).toBe(204);
    const after = await previewRequest(runner, otherWeb.url);
    expect(after.status).toBe(404);
    expect(after.body).toMatch(NOT_FOUND);
    expect((await previewRequest(runner, web.url)).status).toBe(200);
    otherEvents.close();
  });
});
