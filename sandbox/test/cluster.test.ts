/**
 * Workshop cells on Docker Swarm (stack.yaml), on the three-node test swarm of nested Engine 28
 * machines that `npm run cluster up` makes (scripts/cluster.ts): labs created through one entry
 * point spread over the cells and work from any node; a drained node takes no new labs and keeps
 * its labs working; a killed runner task is restarted by Swarm with its labs; full cells send new
 * labs elsewhere, and a full workshop says so.
 * The cluster is made fresh for this file and removed after it. Its timings and each node's
 * memory are printed (the figures docs/cluster.md quotes).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_ERRORS, type LabCreated } from '../../contract/api.ts';
import { labManifestSchema } from '../../contract/labspec.ts';
import { ensureImages } from '../src/images.ts';
import { cellOfLabId } from '../src/store.ts';
import { LabApiError, LabClient } from '../tools/lab-client.ts';
import { clusterDown, clusterUp, nodeExec, nodeName, SERVICE, type Cluster, type ClusterNode } from '../../scripts/cluster.ts';
import { docker, echoRoundTrips, percentile, ROOT, TerminalClient } from './harness.ts';

/** Labs per cell: 9 fill three cells to 3 each, leaving one place in each for the later steps. */
const MAX_LABS = 4;
/** The cells' settings: every lab comes from this one machine, so the per-address cap and the rate limit must not count. */
const CELL_ENV = {
  LAB_MAX_LABS: String(MAX_LABS),
  LAB_MAX_LABS_PER_ADDRESS: '1000',
  LAB_CREATE_RATE: '100000',
  // No warm pool: every lab is made on demand where placement put it (and the machine stays calmer).
  LAB_POOL_SIZE: '0',
};
/** Swarm restarts a killed task after its restart delay (5 s) and the new runner adopts the labs first. */
const RESTART_TIMEOUT_MS = 120_000;
const ECHO_SAMPLES = 50;
/** A draining runner looks whether it holds labs at each sweep (LAB_SWEEP_INTERVAL, 15 s by default). */
const DRAIN_EXIT_TIMEOUT_MS = 60_000;

/** The first lesson of the built course whose lab is one host, and its first exercise. */
function oneHostLesson(): { lesson: string; exercise: string } {
  const manifest = labManifestSchema.parse(JSON.parse(readFileSync(path.join(ROOT, '.lab/lab-manifest.json'), 'utf8')));
  const found = Object.entries(manifest.lessons).find(([, l]) => l.lab?.hosts.length === 1 && !l.lab.macvlan && l.exercises.length > 0);
  if (!found) throw new Error('no lesson of the built course has a one-host lab with an exercise');
  return { lesson: found[0], exercise: found[1].exercises[0]!.id };
}

/** The cell a lab id names (`<cell>-<12 hex>`). */
const cellOf = (labId: string) => cellOfLabId(labId) ?? '';

describe('workshop cells on a three-node swarm', () => {
  const { lesson, exercise } = oneHostLesson();
  let cluster: Cluster;
  let nodes: ClusterNode[];
  /** Swarm node id (= cell name) -> the node it is. */
  const nodeOfCell = new Map<string, ClusterNode>();
  const labs: LabCreated[] = [];
  const client = (node: ClusterNode) => new LabClient(node.url);
  const cellNode = (lab: LabCreated) => nodeOfCell.get(cellOf(lab.id))!;
  /** A node that is not the lab's cell. */
  const foreignNode = (lab: LabCreated) => nodes.find((n) => n !== cellNode(lab))!;
  const swarm = (...cmd: string[]) => nodeExec(docker, nodeName(1), ['docker', ...cmd]);
  const t0 = performance.now();

  beforeAll(async () => {
    await ensureImages(docker, { suite: 'forky', runner: true, log: () => {} });
    // Fresh: a cluster left from `npm run cluster up` may hold labs and other settings.
    await clusterDown(docker, () => {});
    const t = performance.now();
    cluster = await clusterUp({ env: CELL_ENV, log: (line) => console.log(`cluster: ${line}`) });
    console.log(`cluster: up from nothing in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    nodes = cluster.nodes;
    for (const line of (await swarm('node', 'ls', '--format', '{{.ID}} {{.Hostname}}')).split('\n')) {
      const [id, hostname] = line.trim().split(' ');
      nodeOfCell.set(id!, nodes.find((n) => n.hostname === hostname)!);
    }
  }, 900_000);

  afterAll(async () => {
    await clusterDown(docker, (line) => console.log(`cluster: ${line}`));
    console.log(`cluster: the whole file took ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  }, 120_000);

  it('9 labs created through one entry point land on all three cells, and health shows every cell', async () => {
    const entry = client(nodes[0]!);
    const createMs = { own: [] as number[], forwarded: [] as number[] };
    for (let i = 0; i < 9; i++) {
      const t = performance.now();
      const lab = await entry.create(lesson);
      createMs[cellNode(lab) === nodes[0] ? 'own' : 'forwarded'].push(performance.now() - t);
      labs.push(lab);
    }
    for (const [how, times] of Object.entries(createMs)) {
      console.log(`cluster: a lab created at the entry cell (${how}): median ${percentile(times, 50).toFixed(0)} ms of ${times.length}`);
    }
    const perCell = new Map<string, number>();
    for (const lab of labs) perCell.set(cellOf(lab.id), (perCell.get(cellOf(lab.id)) ?? 0) + 1);
    expect([...perCell.keys()].sort()).toEqual([...nodeOfCell.keys()].sort());
    expect([...perCell.values()]).toEqual([3, 3, 3]);

    // A cell's view of the others is as of its last refresh (every 2 s).
    await expect.poll(async () => (await entry.health()).cluster?.cells.map((c) => `${nodeOfCell.get(c.cell)?.hostname} ${c.reachable} ${c.labs}`).sort(), { timeout: 10_000, interval: 500 })
      .toEqual(nodes.map((n) => `${n.hostname} true 3`));
  });

  it('each lab works through a node other than its cell: a prompt, docker run inside, a check', async () => {
    for (const lab of labs) {
      const through = client(foreignNode(lab));
      const term = await TerminalClient.open(through, lab, lab.hosts[0]!);
      try {
        await term.waitForPrompt();
        expect(await term.run(`echo cell-${cellNode(lab).hostname}-$((6 * 7))`)).toContain(`cell-${cellNode(lab).hostname}-42`);
        expect(await term.run('docker run --rm busybox echo inner-engine-answers')).toContain('inner-engine-answers');
        await term.run(`echo ${lab.id} > /root/mine.txt`);
      } finally {
        term.close();
      }
      const check = await through.check(lab, exercise);
      expect(check.exercise).toBe(exercise);
      expect(check.passed).toBe(false); // nothing of the exercise was done
    }
  });

  it('an echo through a forwarding cell and directly (median and p99, printed)', async () => {
    const lab = labs[0]!;
    for (const [how, node] of [['direct', cellNode(lab)], ['forwarded', foreignNode(lab)]] as const) {
      const term = await TerminalClient.open(client(node), lab, lab.hosts[0]!);
      try {
        await term.waitForPrompt();
        const times = await echoRoundTrips(term, ECHO_SAMPLES);
        console.log(`cluster: echo ${how}: median ${percentile(times, 50).toFixed(1)} ms, p99 ${percentile(times, 99).toFixed(1)} ms`);
      } finally {
        term.close();
      }
    }
    // Memory of each nested node now (3 labs, a runner and an engine in each).
    const stats = await Promise.all(nodes.map(async (n) => (await docker.getContainer(n.name).stats({ stream: false })) as { memory_stats: { usage: number; stats?: { cache?: number } } }));
    stats.forEach((s, i) => console.log(`cluster: ${nodes[i]!.hostname} memory ${((s.memory_stats.usage - (s.memory_stats.stats?.cache ?? 0)) / 1024 ** 2).toFixed(0)} MiB (without page cache) with 3 labs`));
  });

  it('a killed runner task is restarted by Swarm; its labs are still there and a terminal reconnects', async () => {
    const lab = labs.find((l) => cellNode(l) === nodes[1])!;
    const node = nodes[1]!;
    const term = await TerminalClient.open(client(nodes[0]!), lab, lab.hosts[0]!);
    await term.waitForPrompt();
    const runner = await nodeExec(docker, node.name, ['docker', 'ps', '-q', '--filter', `label=com.docker.swarm.service.name=${SERVICE}`]);
    expect(runner).toMatch(/^[0-9a-f]+$/);
    const t = performance.now();
    await nodeExec(docker, node.name, ['docker', 'kill', runner]);
    await term.waitClosed(30_000);
    await expect.poll(async () => {
      const now = await nodeExec(docker, node.name, ['docker', 'ps', '-q', '--filter', `label=com.docker.swarm.service.name=${SERVICE}`]);
      return now !== '' && now !== runner && (await client(node).health().then(() => true, () => false));
    }, { timeout: RESTART_TIMEOUT_MS, interval: 1_000 }).toBe(true);
    console.log(`cluster: a killed runner task answered again after ${((performance.now() - t) / 1000).toFixed(1)} s`);
    // The other cells find it at its new address at their next refresh (every 2 s); until then
    // they answer 503 "try again in a minute", which is what a learner's page does.
    await expect.poll(() => client(nodes[0]!).get(lab).then((l) => l.id, (err: LabApiError) => err.code), { timeout: 30_000, interval: 1_000 }).toBe(lab.id);
    console.log(`cluster: ... and was found by another cell after ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // Through another node, which must find the cell at its new address.
    for (const via of [nodes[0]!, node]) {
      expect((await client(via).get(lab)).id).toBe(lab.id);
      const again = await TerminalClient.open(client(via), lab, lab.hosts[0]!);
      try {
        await again.waitForPrompt();
        expect(await again.run('cat /root/mine.txt')).toContain(lab.id);
      } finally {
        again.close();
      }
    }
  });

  it('a drained node takes no new labs and its labs keep working; one cell full sends new labs elsewhere; all full is 503', async () => {
    const drained = nodes[2]!;
    const [drainedCell] = [...nodeOfCell].find(([, n]) => n === drained)!;
    const onDrained = labs.filter((l) => cellNode(l) === drained);
    await swarm('node', 'update', '--availability', 'drain', drained.hostname);
    // The cell says it no longer accepts labs (its runner drains instead of exiting).
    await expect.poll(async () => {
      const health = await client(nodes[0]!).health();
      return health.cluster?.cells.find((c) => c.cell === drainedCell)?.accepting;
    }, { timeout: 60_000, interval: 1_000 }).toBe(false);

    // Its labs still answer and work, through itself and through another node.
    for (const [lab, via] of [[onDrained[0]!, drained], [onDrained[1]!, nodes[0]!]] as const) {
      const term = await TerminalClient.open(client(via), lab, lab.hosts[0]!);
      try {
        await term.waitForPrompt();
        expect(await term.run('cat /root/mine.txt')).toContain(lab.id);
      } finally {
        term.close();
      }
    }

    // node1 and node2 hold 3 of 4 each: the next two labs fill one each (the first fills one
    // cell, so the second must go to the other), none goes to the drained node, and even
    // asked at the drained node's own door.
    const more = [await client(nodes[0]!).create(lesson), await client(drained).create(lesson)];
    expect(more.map((l) => cellNode(l).hostname).sort()).toEqual([nodes[0]!.hostname, nodes[1]!.hostname]);
    labs.push(...more);

    const full = await client(nodes[1]!).create(lesson).then(() => undefined, (err: unknown) => err);
    expect(full).toBeInstanceOf(LabApiError);
    expect((full as LabApiError).status).toBe(API_ERRORS.capacity.status);
    expect((full as LabApiError).code).toBe(API_ERRORS.capacity.code);
    expect((full as LabApiError).sentence).toMatch(/The workshop is full/);

    // Once its last lab has ended, the drained cell's runner exits (it looks at each sweep).
    for (const lab of onDrained) await client(nodes[0]!).delete(lab);
    const t = performance.now();
    await expect.poll(() => nodeExec(docker, drained.name, ['docker', 'ps', '-q', '--filter', `label=com.docker.swarm.service.name=${SERVICE}`]), { timeout: DRAIN_EXIT_TIMEOUT_MS, interval: 1_000 }).toBe('');
    console.log(`cluster: the drained cell's runner exited ${((performance.now() - t) / 1000).toFixed(1)} s after its last lab ended`);
  });
});
