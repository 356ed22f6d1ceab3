/**
 * Following a lab host from outside it: one long-lived exec of `docker events` per followed host
 * (and, when asked, one of `ip monitor` for its own interfaces) tells when something changed,
 * and nothing more: a burst of changes is one collection, COALESCE_MS later (followHost). Used
 * for web previews (watchHost: which containers run and the ports they publish, listed with
 * one exec asking the inner engine's API through its socket) and for the lab map (mapwatch.ts).
 *
 * Everything here comes from inside a lab host, whose root is the learner: the events are only
 * a signal, a listing is parsed as hostile input (bounded, checked with zod; a bad one keeps
 * the last good one). Following stops with stop(), and then no exec of it is left running:
 * `docker events` (and `ip monitor`) is killed by a watchdog in the same exec once its stdin
 * closes, which happens when the runner drops the stream, or dies. (Only the wait for a lab host's engine that has not
 * started yet, labhost.ts waitForEngine, runs on until it starts or gives up.)
 */
import type Docker from 'dockerode';
import { z } from 'zod';
import { execPipe, type ExecPipe } from './execpipe.ts';
import { execCollect, waitForEngine } from './labhost.ts';

/** Events closer together than this make one listing (ms): `docker compose up` starts several containers at once. */
const COALESCE_MS = 100;
/** Wait before following again after the inner engine stopped answering (ms): a learner restarting dockerd. */
const RETRY_MS = 2_000;
/** A listing that takes longer than this is given up (ms); the next event lists again. */
const LISTING_TIMEOUT_MS = 10_000;
/** Largest listing read (bytes): ~1.5 KiB per container, so ~700 containers, far beyond what a lab host holds. */
const MAX_LISTING_BYTES = 1024 * 1024;
/** Longest line of events kept while waiting for its end (bytes); a longer one is dropped. */
const MAX_EVENT_LINE = 1024;

/**
 * Follow the inner engine's container starts and deaths; the watchdog in front kills `docker
 * events` when stdin closes. Its stdin is saved on fd 3 first: a shell gives a background job
 * /dev/null as stdin before any redirection of its own. `$$` is the shell, which `exec` turns
 * into `docker events`. `--since` replays what happened since the runner last listed.
 */
const EVENTS_SCRIPT = 'exec 3<&0; { cat <&3 >/dev/null; kill "$$"; } >/dev/null 2>&1 & since=$1; shift; exec docker events --since "$since" "$@" --format "{{.Action}}" 3<&-';

/**
 * Follow the host's links, addresses and routes (root namespace), with the same watchdog. A
 * namespace made by hand shows when an interface moves into it; changes made inside a
 * namespace after that are seen with the next change here or in the engine.
 */
const INTERFACES_SCRIPT = 'exec 3<&0; { cat <&3 >/dev/null; kill "$$"; } >/dev/null 2>&1 & exec ip monitor link address route 3<&-';

/** The inner engine's API, asked through its socket (curl is in the lab host image). */
const LISTING_COMMAND = ['curl', '-sf', '--max-time', String(LISTING_TIMEOUT_MS / 1000), '--unix-socket', '/var/run/docker.sock', 'http://lab-host/containers/json'];

export interface PublishedPort {
  /** The address it is published on in the lab host (0.0.0.0 and :: mean all of them). */
  address: string;
  port: number;
  containerPort: number;
  protocol: string;
}

export interface InnerContainer {
  id: string;
  name: string;
  ports: PublishedPort[];
}

/** What GET /containers/json answers, as far as it is read (other fields are left out). */
const listingSchema = z
  .array(
    z.object({
      Id: z.string().max(128),
      Names: z.array(z.string().max(256)).max(16).default([]),
      Ports: z
        .array(z.object({ IP: z.string().max(64).optional(), PrivatePort: z.number().int(), PublicPort: z.number().int().min(1).max(65535).optional(), Type: z.string().max(8) }))
        .max(4096)
        .nullish(),
    }),
  )
  .max(4096);

/** The containers of one listing, with the ports they publish; undefined when the output is not a listing. */
export function parseListing(output: string): InnerContainer[] | undefined {
  let json: unknown;
  try {
    json = JSON.parse(output);
  } catch {
    return undefined;
  }
  const parsed = listingSchema.safeParse(json);
  if (!parsed.success) return undefined;
  return parsed.data.map((c) => ({
    id: c.Id,
    name: (c.Names[0] ?? c.Id).replace(/^\//, ''),
    ports: (c.Ports ?? []).flatMap((p) => (p.PublicPort === undefined ? [] : [{ address: p.IP ?? '0.0.0.0', port: p.PublicPort, containerPort: p.PrivatePort, protocol: p.Type }])),
  }));
}

export interface HostWatch {
  /** Stop following; no listing is reported after this. Idempotent. */
  stop(): void;
}

/**
 * Follow the engine in `containerName` until stop(): `onListing` gets its containers once the
 * engine answers, then again after every start or death there.
 */
export function watchHost(docker: Docker, containerName: string, onListing: (containers: InnerContainer[]) => void): HostWatch {
  return followHost(docker, containerName, {
    events: CONTAINER_STARTS_AND_DEATHS,
    collect: async (stopped) => {
      const { code, output } = await execCollect(docker, containerName, LISTING_COMMAND, { keepBytes: MAX_LISTING_BYTES, timeoutMs: LISTING_TIMEOUT_MS });
      const containers = code === 0 ? parseListing(output) : undefined;
      if (containers && !stopped()) onListing(containers);
    },
  });
}

/** The events previews need: a container started or died (its published ports came or went). */
const CONTAINER_STARTS_AND_DEATHS = ['type=container', 'event=start', 'event=die'];

export interface FollowOptions {
  /** `docker events` filters (`type=container`, `event=start`...): the inner engine's events that mean a change. */
  events: string[];
  /**
   * Also follow the host's own interfaces, addresses and routes (`ip monitor`), which change
   * without the engine knowing (a learner's `ip link add`, `ip netns`, a veth moved).
   */
  interfaces?: boolean;
  /**
   * Look at the host again: once its engine answers (and at once, with `interfaces`), then
   * COALESCE_MS after a change (a burst is one call), never two at once, and not after stop().
   * Its errors are swallowed: the next change tries again. `stopped` says whether stop() was
   * called meanwhile (then report nothing).
   */
  collect: (stopped: () => boolean) => Promise<void>;
}

/** Follow a lab host's changes until stop(), calling `collect` after each burst of them. */
export function followHost(docker: Docker, containerName: string, opts: FollowOptions): HostWatch {
  let stopped = false;
  const streams = new Set<ExecPipe>();
  let pending: NodeJS.Timeout | undefined;
  let collecting = false;
  let again = false;
  let collectedAt = 0;

  const collect = async () => {
    pending = undefined;
    if (collecting) return void (again = true);
    collecting = true;
    collectedAt = Math.floor(Date.now() / 1000);
    try {
      if (!stopped) await opts.collect(() => stopped);
    } catch {
      // The lab host is going away, or its engine is: the event streams end too, and retry.
    } finally {
      collecting = false;
      if (again && !stopped) {
        again = false;
        soon();
      }
    }
  };
  const soon = () => {
    if (!stopped && !pending) pending = setTimeout(() => void collect(), COALESCE_MS);
  };

  /** Run a change stream (a script with the stdin watchdog) until it ends, then again while followed; `before` runs first each time. */
  const follow = async (before: () => Promise<void>, cmd: () => string[]) => {
    if (stopped) return;
    try {
      await before();
      if (stopped) return;
      const pipe = await execPipe(docker, containerName, cmd());
      if (stopped) return void pipe.destroy();
      streams.add(pipe);
      let line = '';
      pipe.on('data', (chunk: Buffer) => {
        line = (line + chunk.toString('latin1')).slice(-MAX_EVENT_LINE);
        if (!line.includes('\n')) return;
        line = line.slice(line.lastIndexOf('\n') + 1);
        soon();
      });
      pipe.on('error', () => {});
      await new Promise((resolve) => {
        pipe.once('end', resolve);
        pipe.once('close', resolve);
      });
      pipe.destroy();
      streams.delete(pipe);
    } catch {
      // The engine did not come up, or the lab host is gone: try again while still followed.
    }
    if (!stopped) setTimeout(() => void follow(before, cmd), RETRY_MS).unref();
  };
  const filters = opts.events.flatMap((f) => ['--filter', f]);
  void follow(
    async () => {
      await waitForEngine(docker, containerName);
      await collect();
    },
    () => ['sh', '-c', EVENTS_SCRIPT, 'lab-watch', String(collectedAt - 1), ...filters],
  );
  // Its first collection does not wait for the engine: the host's interfaces are there without it.
  if (opts.interfaces) void follow(collect, () => ['sh', '-c', INTERFACES_SCRIPT]);

  return {
    stop() {
      stopped = true;
      clearTimeout(pending);
      for (const stream of streams) stream.destroy();
    },
  };
}
