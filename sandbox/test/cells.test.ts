/**
 * Cells: three runner processes on loopback, each its own cell (LAB_CELL) with its own instance
 * and subnet pool on the one engine, knowing each other (LAB_CELL_PEERS) and sharing a secret,
 * as three machines of one workshop would. Labs created through one cell land on all three; any
 * request on a lab (its API, its terminal) works through any cell; a cell full, all full and a
 * cell stopped answer as the design says; and what a client sends to pass as a cell is ignored.
 * The figures (create through a foreign cell vs its own, echo through a forwarding cell vs
 * direct) are printed for the closing note.
 */
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERRORS, CELL_HEADERS, INSTRUCTOR_ROUTES, ROUTES, type LabCreated } from '../../contract/api.ts';
import { FILE_ROUTES } from '../../contract/files.ts';
import type { Exercise } from '../../contract/labspec.ts';
import http from 'node:http';
import { labHostContainerName } from '../src/names.ts';
import { LabEventsClient } from '../tools/room-clients.ts';
import { api, apiFrom, execIn, echoRoundTrips, fixtureSite, percentile, signInInstructor, startRunner, TerminalClient, uniqueInstance, type RunningRunner } from './harness.ts';

const LESSON = 'cells-fixture';
const EXERCISE: Exercise = { id: 'marker', title: 'Marker', host: 'host1', check: 'test -f /root/marker || { echo "no marker yet" >&2; exit 1; }', timeoutSeconds: 10, line: 1, wrong: [] };
const SECRET = 'a-cell-secret-for-tests-0123456789abcdef';
/** Labs each cell holds: the third is the small one, full first. */
const MAX_LABS = { cella: 2, cellb: 2, cellc: 1 } as const;
type CellName = keyof typeof MAX_LABS;
const CELLS = Object.keys(MAX_LABS) as CellName[];
/** New labs per minute per address: the tests start six from 127.0.0.1; 127.0.0.2 spends its own. */
const CREATE_RATE = 8;
const ECHO_SAMPLES = 150;
const GET_SAMPLES = 100;
const INSTRUCTOR_CODE = 'instructor-code-for-cells';
/** The least LAB_MAX_CONNECTIONS_PER_ADDRESS allows: the sockets forwarded from one cell pass it. */
const CONNECTIONS_PER_ADDRESS = 4;

/** A lab's event socket from `localAddress` through `runner`; resolves with it open, or with the error that closed it. */
function eventSocket(runner: RunningRunner, lab: LabCreated, localAddress: string): Promise<WebSocket | Error> {
  const ws = new WebSocket(runner.url.replace(/^http/, 'ws') + ROUTES.labEvents.path(lab.id, lab.token), { localAddress, headers: { origin: runner.url } });
  return new Promise((resolve) => {
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (_req, res) => resolve(new Error(`refused with ${res.statusCode}`)));
    ws.once('error', (err) => resolve(err));
  });
}

/** A port nobody listens on now (the cells must know each other's ports before they start). */
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** GET / from `runner` with a preview's Host, as a browser resolving *.localhost to loopback sends it. */
function previewGet(runner: RunningRunner, host: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: runner.port, path: '/', headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    }).on('error', reject);
  });
}

const cellOf = (lab: LabCreated) => lab.id.split('-')[0] as CellName;
const median = (xs: number[]) => percentile(xs, 50);
const ms = (x: number) => `${x.toFixed(1)} ms`;

describe('cells: three runners as one workshop', () => {
  const runners = {} as Record<CellName, RunningRunner>;
  const labs: LabCreated[] = [];
  const createTimes: { cell: CellName; ms: number }[] = [];

  beforeAll(async () => {
    const ports = await Promise.all(CELLS.map(() => freePort()));
    const site = fixtureSite({ [LESSON]: { title: 'Cells', lab: { hosts: ['host1'] }, exercises: [EXERCISE] } });
    await Promise.all(CELLS.map(async (cell, i) => {
      runners[cell] = await startRunner({
        ...site,
        PORT: String(ports[i]),
        LAB_INSTANCE: uniqueInstance(cell),
        LAB_CELL: cell,
        LAB_CELL_PEERS: ports.map((p) => `127.0.0.1:${p}`).join(','),
        LAB_CELL_SECRET: SECRET,
        LAB_SUBNET_POOL: `10.${231 + i}.0.0/16`,
        LAB_MAX_LABS: String(MAX_LABS[cell]),
        LAB_MAX_LABS_PER_ADDRESS: '2',
        LAB_CREATE_RATE: String(CREATE_RATE),
        LAB_INSTRUCTOR_CODE: INSTRUCTOR_CODE,
        LAB_MAX_CONNECTIONS_PER_ADDRESS: String(CONNECTIONS_PER_ADDRESS),
      });
    }));
    // Each cell has heard from the other two.
    const deadline = Date.now() + 10_000;
    for (const cell of CELLS) {
      while ((await runners[cell].client.health()).cluster?.cells.filter((c) => c.reachable).length !== 3) {
        if (Date.now() > deadline) throw new Error(`cell ${cell} does not see all three: ${JSON.stringify((await runners[cell].client.health()).cluster)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(CELLS.map((cell) => runners[cell]?.stop()));
  }, 120_000);

  it('shows every cell in health, itself marked, with its limits', async () => {
    const { cluster } = await runners.cella.client.health();
    expect(cluster?.cell).toBe('cella');
    expect(cluster?.cells.map((c) => [c.cell, c.self, c.reachable, c.maxLabs, c.accepting, c.engine])).toEqual([
      ['cella', true, true, 2, true, true], ['cellb', false, true, 2, true, true], ['cellc', false, true, 1, true, true],
    ]);
  });

  it('places labs created through one cell on all three, the full one skipped, and answers 503 with the workshop-full sentence when all are full', async () => {
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const lab = await runners.cella.client.create(LESSON);
      createTimes.push({ cell: cellOf(lab), ms: performance.now() - started });
      labs.push(lab);
    }
    const held = (cell: CellName) => labs.filter((l) => cellOf(l) === cell).length;
    expect(labs.every((l) => /^cell[abc]-[0-9a-f]{12}$/.test(l.id))).toBe(true);
    // cellc took one and was full after it; the other four went to the two with room.
    expect(CELLS.map(held)).toEqual([2, 2, 1]);
    const full = await api(runners.cella, 'POST', ROUTES.labs.path(), { body: { lesson: LESSON } });
    expect(full.status).toBe(503);
    expect(full.json.error).toBe(API_ERRORS.capacity.code);
    expect(full.json.message).toBe('The workshop is full: all 3 machines\' labs are in use (5 of 5); try again in a few minutes.');
    const own = createTimes.filter((t) => t.cell === 'cella').map((t) => t.ms);
    const foreign = createTimes.filter((t) => t.cell !== 'cella').map((t) => t.ms);
    console.log(`create through cella: on cella itself ${own.map(ms).join(', ')}; on another cell ${foreign.map(ms).join(', ')}`);
  }, 180_000);

  it('serves a lab\'s API through any cell: GET, a check, and DELETE', async () => {
    const lab = labs.find((l) => cellOf(l) === 'cellb')!;
    for (const entry of ['cella', 'cellc'] as const) {
      const got = await api(runners[entry], 'GET', ROUTES.lab.path(lab.id), { token: lab.token });
      expect(got.status, got.text).toBe(200);
      expect(got.json.id).toBe(lab.id);
    }
    const first = await api(runners.cellc, 'POST', ROUTES.check.path(lab.id, EXERCISE.id), { token: lab.token });
    expect(first.status, first.text).toBe(200);
    expect(first.json.status).toBe('failed');
    expect(first.json.output).toContain('no marker yet');
    const timed = async (entry: CellName) => {
      const times: number[] = [];
      for (let i = 0; i < GET_SAMPLES; i++) {
        const started = performance.now();
        expect((await api(runners[entry], 'GET', ROUTES.lab.path(lab.id), { token: lab.token })).status).toBe(200);
        times.push(performance.now() - started);
      }
      return times;
    };
    const [direct, forwarded] = [await timed('cellb'), await timed('cella')];
    console.log(`GET /api/labs/:id over ${GET_SAMPLES}: through a forwarding cell median ${ms(median(forwarded))}, p99 ${ms(percentile(forwarded, 99))}; direct median ${ms(median(direct))}, p99 ${ms(percentile(direct, 99))}`);
    // A wrong token is refused by the lab's own cell, through the forwarding one.
    expect((await api(runners.cella, 'GET', ROUTES.lab.path(lab.id), { token: 'not-the-token' })).status).toBe(404);
    // The Files routes name the lab first too: a file written through one cell is read through another.
    const file = FILE_ROUTES.fileContent.path(lab.id, 'host1', '/root/through-cells.txt');
    const written = await api(runners.cella, 'PUT', file, { token: lab.token, body: 'forwarded\n', headers: { 'content-type': 'application/octet-stream' } });
    expect(written.status, written.text).toBe(201);
    expect((await api(runners.cellc, 'GET', file, { token: lab.token })).text).toBe('forwarded\n');

    const doomed = labs.find((l) => cellOf(l) === 'cella')!;
    const deleted = await api(runners.cellb, 'DELETE', ROUTES.lab.path(doomed.id), { token: doomed.token });
    expect(deleted.status, deleted.text).toBe(204);
    expect((await api(runners.cella, 'GET', ROUTES.lab.path(doomed.id), { token: doomed.token })).status).toBe(404);
    labs.splice(labs.indexOf(doomed), 1);
  }, 60_000);

  it('forwards an instructor\'s request on another cell\'s lab once signed in at the cell it reaches, and not before', async () => {
    const lab = labs.find((l) => cellOf(l) === 'cellb')!;
    const extend = (headers: Record<string, string>) => api(runners.cella, 'POST', INSTRUCTOR_ROUTES.extend.path(lab.id), { body: { minutes: 5 }, headers });
    expect((await extend({})).status).toBe(401);
    // A session of cellb's is not one of cella's: sessions are per cell.
    expect((await extend({ cookie: await signInInstructor(runners.cellb, INSTRUCTOR_CODE) })).status).toBe(401);
    const extended = await extend({ cookie: await signInInstructor(runners.cella, INSTRUCTOR_CODE) });
    expect(extended.status, extended.text).toBe(200);
    expect(extended.json.id).toBe(lab.id);
  });

  it('opens a terminal through another cell than the lab\'s, which echoes; and measures echo through it against direct', async () => {
    const lab = labs.find((l) => cellOf(l) === 'cellb')!;
    const through = await TerminalClient.open(runners.cella, lab, 'host1');
    await through.waitForPrompt();
    await through.run('touch /root/marker');
    expect(await through.run('echo through-$((40 + 2))')).toContain('through-42');
    // The check the file made pass, through the third cell.
    const check = await api(runners.cellc, 'POST', ROUTES.check.path(lab.id, EXERCISE.id), { token: lab.token });
    expect(check.json.status).toBe('passed');

    const direct = await TerminalClient.open(runners.cellb, lab, 'host1');
    await direct.waitForPrompt();
    const forwarded = await echoRoundTrips(through, ECHO_SAMPLES);
    const own = await echoRoundTrips(direct, ECHO_SAMPLES);
    console.log(`echo over ${ECHO_SAMPLES} keystrokes: through a forwarding cell median ${ms(median(forwarded))}, p99 ${ms(percentile(forwarded, 99))}; direct median ${ms(median(own))}, p99 ${ms(percentile(own, 99))}`);
    through.close();
    direct.close();
  }, 120_000);

  it('serves a web preview of a lab through any cell, the lab\'s event socket too, and 404 for a preview id of a cell nobody knows', async () => {
    const lab = labs.find((l) => cellOf(l) === 'cellb')!;
    // The lab page's event socket, through another cell: the preview links come on it.
    const events = await LabEventsClient.open(runners.cella, lab);
    try {
      const host1 = labHostContainerName(lab.id, 'host1');
      await execIn(host1, ['sh', '-c', 'until docker info >/dev/null 2>&1; do sleep 0.2; done'], 60_000);
      await execIn(host1, ['docker', 'run', '-d', '--name', 'web1', '-p', '8080:80', 'web']);
      const state = await events.waitForState((s) => s.previews.some((p) => p.port === 8080), 20_000, 'a preview of host1:8080');
      const link = state.previews.find((p) => p.port === 8080)!;
      expect(new URL(link.url).hostname).toMatch(/^[a-z2-7]{26}-cellb\.localhost$/);
      for (const entry of CELLS) {
        const page = await previewGet(runners[entry], new URL(link.url).host);
        expect(page.status, entry).toBe(200);
        expect(page.body).toMatch(/Hello from container/);
        expect(page.headers['content-security-policy']).toBeUndefined();
      }
      const unknown = await previewGet(runners.cella, `${'a'.repeat(26)}-nocell.localhost:${runners.cella.port}`);
      expect(unknown.status).toBe(404);
      expect(unknown.body).toMatch(/There is no preview at this address/);
    } finally {
      events.close();
    }
  }, 120_000);

  it('keeps one lab per browser across the cells: a browser\'s new lab through another cell ends its earlier one wherever it is', async () => {
    const client = 'cells-test-browser-0001';
    const first = await runners.cellb.client.create(LESSON, { client });
    const second = await runners.cellc.client.create(LESSON, { client });
    expect((await api(runners.cellb, 'GET', ROUTES.lab.path(first.id), { token: first.token })).status).toBe(404);
    expect((await api(runners.cellb, 'GET', ROUTES.lab.path(second.id), { token: second.token })).status).toBe(200);
    // The route the cells use for it: only with the secret.
    const end = (headers: Record<string, string>) => api(runners[cellOf(second)], 'DELETE', ROUTES.cellClient.path(client), { headers });
    expect((await end({})).status).toBe(404);
    expect((await api(runners.cella, 'GET', ROUTES.lab.path(second.id), { token: second.token })).status).toBe(200);
    const ended = await end({ [CELL_HEADERS.secret]: SECRET });
    expect(ended.status).toBe(200);
    expect(ended.json.cell).toBe(cellOf(second));
    expect((await api(runners.cella, 'GET', ROUTES.lab.path(second.id), { token: second.token })).status).toBe(404);
  }, 60_000);

  it('does not cap the connections a cell forwards from its clients, and still caps each client', async () => {
    const lab = labs.find((l) => cellOf(l) === 'cellb')!;
    // Three clients, each within its cap at cella: cellb sees all six sockets come from cella's address.
    const forwarded = await Promise.all(['127.0.0.2', '127.0.0.3', '127.0.0.4'].flatMap((address) => [1, 2].map(() => eventSocket(runners.cella, lab, address))));
    expect(forwarded.map((ws) => (ws instanceof Error ? ws.message : 'open'))).toEqual(Array(6).fill('open'));
    // One client past its cap at the cell it reaches (on a lab of that cell's).
    const local = labs.find((l) => cellOf(l) === 'cella')!;
    const own = [];
    for (let i = 0; i < CONNECTIONS_PER_ADDRESS + 1; i++) own.push(await eventSocket(runners.cella, local, '127.0.0.5'));
    expect(own.filter((ws) => ws instanceof Error)).toHaveLength(1);
    for (const ws of [...forwarded, ...own]) if (!(ws instanceof Error)) ws.close();
  }, 60_000);

  it('refuses the routes between cells without the right secret (404), and answers them with it', async () => {
    const refused: Record<string, string>[] = [{}, { [CELL_HEADERS.secret]: 'wrong' }, { [CELL_HEADERS.secret]: SECRET.slice(0, -1) }];
    for (const headers of refused) {
      expect((await api(runners.cella, 'GET', ROUTES.cell.path(), { headers })).status).toBe(404);
      expect((await api(runners.cella, 'GET', ROUTES.cellNode.path('abc'), { headers })).status).toBe(404);
    }
    const status = await api(runners.cella, 'GET', ROUTES.cell.path(), { headers: { [CELL_HEADERS.secret]: SECRET } });
    expect(status.status).toBe(200);
    expect(status.json).toMatchObject({ cell: 'cella', maxLabs: 2, accepting: true, engine: true });
    // This engine is in no swarm: nobody knows the node.
    for (const id of ['abc', '../../x', 'A'.repeat(100), '%00']) {
      const node = await api(runners.cella, 'GET', ROUTES.cellNode.path(id), { headers: { [CELL_HEADERS.secret]: SECRET } });
      expect(node.json, id).toEqual({ availability: null });
    }
    // Not a browser id: no route (and no lab ends).
    for (const client of ['short', '../../api/labs', 'x'.repeat(65)]) {
      expect((await api(runners.cella, 'DELETE', ROUTES.cellClient.path(client), { headers: { [CELL_HEADERS.secret]: SECRET } })).status, client).toBe(404);
    }
  });

  it('ignores cell headers sent without the secret: the client\'s own address is charged, and a forged placement is placed anew', async () => {
    // From 127.0.0.2 (not a cell's address), each with another made-up client address and a
    // "placed" mark: all are charged to 127.0.0.2, whose rate runs out after CREATE_RATE.
    const statuses: number[] = [];
    for (let i = 0; i < CREATE_RATE + 1; i++) {
      const answer = await apiFrom('127.0.0.2', runners.cella, 'POST', ROUTES.labs.path(), {
        body: { nothing: true },
        headers: { [CELL_HEADERS.client]: `10.9.9.${i}`, [CELL_HEADERS.placed]: '1' },
      });
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([...Array(CREATE_RATE).fill(400), 429]);
  });

  it('answers 404 for ids of cells nobody knows or with a garbage cell part, and for another cell\'s lab asked with the secret (no loop)', async () => {
    const lab = labs.find((l) => cellOf(l) === 'cellb')!;
    const random = lab.id.slice(-12);
    for (const id of [`nocell-${random}`, `Cell_B-${random}`, `cellb-x-${random}`, `${'a'.repeat(26)}-${random}`, `-${random}`]) {
      const answer = await api(runners.cella, 'GET', ROUTES.lab.path(id), { token: lab.token });
      expect(answer.status, id).toBe(404);
      await expect(TerminalClient.open(runners.cella, { id, token: lab.token }, 'host1')).rejects.toThrow(/404/);
    }
    const looped = await api(runners.cella, 'GET', ROUTES.lab.path(lab.id), { token: lab.token, headers: { [CELL_HEADERS.secret]: SECRET } });
    expect(looped.status).toBe(404);
    // A wrong secret is a client's: forwarded like any request (its cell headers dropped).
    const wrong = await api(runners.cella, 'GET', ROUTES.lab.path(lab.id), { token: lab.token, headers: { [CELL_HEADERS.secret]: 'wrong' } });
    expect(wrong.status).toBe(200);
  }, 60_000);

  it('answers 503 with a sentence for the labs of a cell that stopped, and serves the other cells\' labs as before', async () => {
    const lab = labs.find((l) => cellOf(l) === 'cellc')!;
    // Its engine is in no swarm: SIGTERM stops it as on one machine, its labs kept.
    expect(await runners.cellc.signal('SIGTERM')).toBe(0);
    expect(runners.cellc.output()).toMatch(/SIGTERM: stopping; labs are kept/);
    for (const entry of ['cella', 'cellb'] as const) {
      const answer = await api(runners[entry], 'GET', ROUTES.lab.path(lab.id), { token: lab.token });
      expect(answer.status).toBe(503);
      expect(answer.json).toEqual({ error: API_ERRORS.cellUnreachable.code, message: 'The machine holding this lab does not answer; it may be restarting. Try again in a minute.' });
      await expect(TerminalClient.open(runners[entry], lab, 'host1')).rejects.toThrow(/503/);
    }
    for (const other of labs.filter((l) => cellOf(l) !== 'cellc')) {
      expect((await api(runners.cella, 'GET', ROUTES.lab.path(other.id), { token: other.token })).status).toBe(200);
      const term = await TerminalClient.open(runners.cellb, other, 'host1');
      await term.waitForPrompt();
      expect(await term.run('echo still-$((6 * 7))')).toContain('still-42');
      term.close();
    }
    await expect.poll(async () => (await runners.cella.client.health()).cluster?.cells.find((c) => c.cell === 'cellc')?.reachable, { timeout: 10_000 }).toBe(false);
    for (const cell of ['cella', 'cellb'] as const) {
      expect(runners[cell].proc.exitCode).toBeNull();
      expect((await runners[cell].client.health()).engine.available).toBe(true);
      expect(runners[cell].output()).not.toMatch(/unexpected (error|rejection)/);
    }
  }, 60_000);
});
