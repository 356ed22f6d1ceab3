/**
 * Following a lab host's own Docker Engine from outside it: which containers it runs and the
 * ports they publish, listed again whenever one starts or dies there. One long-lived exec of
 * `docker events` per followed host tells when (and nothing more: a burst of events is one
 * listing, COALESCE_MS later); a listing is one exec asking the inner engine's API through its
 * socket. Used for web previews (previews.ts), and meant for anything else that shows what runs
 * in a lab as it changes.
 *
 * Everything here comes from inside a lab host, whose root is the learner: the events are only
 * a signal, the listing is parsed as hostile input (bounded, checked with zod; a bad one keeps
 * the last good one). Following stops with stop(), and then no exec of it is left running:
 * `docker events` is killed by a watchdog in the same exec once its stdin closes, which happens
 * when the runner drops the stream, or dies. (Only the wait for a lab host's engine that has not
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
const EVENTS_SCRIPT = 'exec 3<&0; { cat <&3 >/dev/null; kill "$$"; } >/dev/null 2>&1 & exec docker events --since "$1" --filter type=container --filter event=start --filter event=die --format "{{.Action}}" 3<&-';

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
  let stopped = false;
  let events: ExecPipe | undefined;
  let pending: NodeJS.Timeout | undefined;
  let listing = false;
  let again = false;
  let listedAt = 0;

  const list = async () => {
    pending = undefined;
    if (listing) return void (again = true);
    listing = true;
    listedAt = Math.floor(Date.now() / 1000);
    try {
      const { code, output } = await execCollect(docker, containerName, LISTING_COMMAND, { keepBytes: MAX_LISTING_BYTES, timeoutMs: LISTING_TIMEOUT_MS });
      const containers = code === 0 ? parseListing(output) : undefined;
      if (containers && !stopped) onListing(containers);
    } catch {
      // The lab host is going away, or its engine is: the events stream ends too, and retries.
    } finally {
      listing = false;
      if (again && !stopped) {
        again = false;
        soon();
      }
    }
  };
  const soon = () => {
    if (!stopped && !pending) pending = setTimeout(() => void list(), COALESCE_MS);
  };

  const follow = async () => {
    if (stopped) return;
    try {
      await waitForEngine(docker, containerName);
      if (stopped) return;
      await list();
      const pipe = await execPipe(docker, containerName, ['sh', '-c', EVENTS_SCRIPT, 'lab-watch', String(listedAt - 1)]);
      if (stopped) return void pipe.destroy();
      events = pipe;
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
    } catch {
      // The engine did not come up, or the lab host is gone: try again while still followed.
    }
    events = undefined;
    if (!stopped) setTimeout(() => void follow(), RETRY_MS).unref();
  };
  void follow();

  return {
    stop() {
      stopped = true;
      clearTimeout(pending);
      events?.destroy();
    },
  };
}
