/**
 * Connections to a TCP port inside a lab host, made by the lab host itself: each one is an exec
 * of netcat there (execpipe.ts), whose stdin and stdout are the connection's two directions.
 * The machine never gets an address on a lab network (README, "Security"), so this is how the
 * runner reaches a web server a learner published on a lab host: through the Engine API, as the
 * lab host's own loopback client, and no further than the lab host itself can reach.
 *
 * Starting an exec costs ~40 ms before its process runs (measured on this project's machines:
 * exec create to the first byte of an answer); a direct request inside the lab host takes ~1.5
 * ms. So each target keeps one relay started ahead, waiting on a line of stdin before it
 * connects (a shell's `read` takes exactly that line, nothing after it): taking it costs ~5 ms.
 * It is started after a relay to that target was taken, so previews nobody opens cost nothing,
 * and ends after SPARE_IDLE_MS unused.
 *
 * Every relay ends with its stream: netcat's stdin closes, `-N` passes that on to the server as
 * the end of the request side, and netcat exits when the server closes; a spare's shell exits at
 * once. It decides nothing about who may use a relay (previews.ts does).
 */
import type Docker from 'dockerode';
import { execPipe, type ExecPipe } from './execpipe.ts';

/** The waiting shell: `read` takes the "go" line, then netcat takes over its stdin and stdout. */
const RELAY_SCRIPT = 'read -r go && exec nc -N "$1" "$2"';
/** How long a relay started ahead waits to be taken before it is let go (ms): a page's requests come in bursts. */
const SPARE_IDLE_MS = 60_000;
/**
 * A relay with no byte either way for this long is closed (ms): a forgotten tab's connection
 * must not hold an exec forever. Long enough for a WebSocket that pings every few minutes.
 */
export const RELAY_IDLE_MS = 10 * 60_000;

export interface RelayTarget {
  containerName: string;
  /** Where to connect inside the lab host: its loopback, or the address the port is published on. */
  address: string;
  port: number;
}

const keyOf = (t: RelayTarget) => `${t.containerName}/${t.address}/${t.port}`;

export class Relays {
  readonly #docker: Docker;
  /** One relay started ahead per target, by keyOf. */
  readonly #spares = new Map<string, { target: RelayTarget; pipe: Promise<ExecPipe>; expires: NodeJS.Timeout }>();

  constructor(docker: Docker) {
    this.#docker = docker;
  }

  /** A connection to the target, open once the lab host's netcat connects (or fails: then the stream ends with nothing). */
  async open(target: RelayTarget): Promise<ExecPipe> {
    const spare = this.#take(keyOf(target));
    this.#prepare(target);
    let pipe = await spare?.catch(() => undefined);
    if (!pipe || pipe.destroyed) pipe = await this.#start(target);
    pipe.write('go\n');
    return pipe;
  }

  /** Let go of the relays started ahead into this container (its lab ended). */
  drop(containerName: string): void {
    for (const [key, spare] of this.#spares) if (spare.target.containerName === containerName) this.#discard(key);
  }

  close(): void {
    for (const key of [...this.#spares.keys()]) this.#discard(key);
  }

  async #start(target: RelayTarget): Promise<ExecPipe> {
    const pipe = await execPipe(this.#docker, target.containerName, ['sh', '-c', RELAY_SCRIPT, 'lab-relay', target.address, String(target.port)], { idleMs: RELAY_IDLE_MS });
    // A connection reset ends the relay like any other end ('close'); a spare has nobody else listening.
    pipe.on('error', () => {});
    return pipe;
  }

  #prepare(target: RelayTarget): void {
    const key = keyOf(target);
    if (this.#spares.has(key)) return;
    const pipe = this.#start(target);
    const expires = setTimeout(() => this.#discard(key), SPARE_IDLE_MS);
    expires.unref();
    this.#spares.set(key, { target, pipe, expires });
    // A spare that could not start, or whose lab host went away, is no spare (unless it was taken meanwhile).
    const gone = () => this.#spares.get(key)?.pipe === pipe && this.#discard(key);
    pipe.then((p) => p.once('close', gone), gone);
  }

  #take(key: string): Promise<ExecPipe> | undefined {
    const spare = this.#spares.get(key);
    if (!spare) return undefined;
    clearTimeout(spare.expires);
    this.#spares.delete(key);
    return spare.pipe;
  }

  #discard(key: string): void {
    this.#take(key)?.then((p) => p.destroy(), () => {});
  }
}
