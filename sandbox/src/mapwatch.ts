/**
 * Following one lab's map while somebody looks at it: each host is followed (hostwatch.ts
 * followHost: its inner engine's events and its own `ip monitor`), a burst of changes there is
 * one collection of that host (labmap.ts COLLECT_SCRIPT, one exec), and the lab's map is
 * assembled again from every host's last state and reported only when it differs from the last
 * one reported (`at` aside). Nothing runs between changes: an idle lab costs two idle execs per
 * host (the streams), no polling.
 */
import type Docker from 'dockerode';
import type { LabMap } from '../../contract/protocol.ts';
import { followHost, type HostWatch } from './hostwatch.ts';
import { execCollect } from './labhost.ts';
import { assembleMap, COLLECT_SCRIPT, COLLECT_TIMEOUT_MS, emptyHostState, MAX_OUTPUT_BYTES, parseHost, type HostState } from './labmap.ts';

/**
 * The inner engine's events that change the map: containers coming, going, renamed or
 * (dis)connected, networks made and removed. Exec and health events (frequent, and changing
 * nothing drawn) are left out; `docker events` ORs filters of one key and ANDs the keys.
 */
const MAP_EVENTS = [
  'type=container', 'type=network',
  ...['create', 'start', 'die', 'destroy', 'rename', 'pause', 'unpause', 'connect', 'disconnect', 'remove'].map((e) => `event=${e}`),
];

export interface MapWatch {
  /** The last map reported, if any host was collected yet. */
  latest(): LabMap | undefined;
  stop(): void;
}

/** Follow `hosts` (in the lab's order) until stop(); `onMap` gets the lab's map whenever it changes. */
export function watchLabMap(docker: Docker, hosts: { name: string; containerName: string }[], onMap: (map: LabMap) => void): MapWatch {
  const states = new Map<string, HostState>(hosts.map((h) => [h.name, emptyHostState()]));
  const collected = new Set<string>();
  let latest: LabMap | undefined;
  let lastText = '';

  const report = () => {
    const map = assembleMap(hosts.map((h) => ({ name: h.name, state: states.get(h.name)! })));
    const text = JSON.stringify({ ...map, at: undefined });
    if (text === lastText) return;
    lastText = text;
    latest = map;
    onMap(map);
  };

  const watches: HostWatch[] = hosts.map((host) =>
    followHost(docker, host.containerName, {
      events: MAP_EVENTS,
      interfaces: true,
      collect: async (stopped) => {
        const { output, timedOut } = await execCollect(docker, host.containerName, ['sh', '-c', COLLECT_SCRIPT], { keepBytes: MAX_OUTPUT_BYTES, timeoutMs: COLLECT_TIMEOUT_MS });
        if (stopped() || timedOut) return;
        states.set(host.name, parseHost(output, states.get(host.name)!));
        collected.add(host.name);
        // The first map waits for every host, so a page is not shown a lab missing one.
        if (collected.size === hosts.length) report();
      },
    }),
  );

  return {
    latest: () => latest,
    stop() {
      for (const watch of watches) watch.stop();
    },
  };
}
