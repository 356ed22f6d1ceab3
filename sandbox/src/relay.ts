/**
 * Connections to a TCP port inside a lab host, made by the lab host itself: each one is an exec
 * of a small relay there (execpipe.ts), whose stdin and stdout are the connection's two
 * directions. The machine never gets an address on a lab network (README, "Security"), so this
 * is how the runner reaches a web server a learner published on a lab host: through the Engine
 * API, as the lab host's own client, and no further than the lab host itself can reach.
 *
 * The relay is Perl (perl-base is in every Debian, so in the lab host image), not netcat: the
 * image's netcat keeps its stdout open after the server closes until its stdin closes too, and an
 * HTTP answer whose end is the end of the connection would then never end.
 *
 * Starting an exec costs ~40 ms before its process runs (measured on this project's machines:
 * exec create to the first byte of an answer); a direct request inside the lab host takes ~1.5
 * ms. So each target keeps one relay started ahead, waiting for a line on stdin before it
 * connects (read a byte at a time, so nothing after that line is taken): taking it costs a few
 * ms. It is started after a relay to that target was taken, so previews nobody opens cost
 * nothing, and ends after SPARE_IDLE_MS unused.
 *
 * A relay ends when the server closes, or within CLOSE_GRACE_S of its stdin closing (the runner
 * is done with it, or gone): it then half-closes the connection and waits for the server to
 * finish. A spare ends as soon as its stdin closes. So no relay outlives the runner's side of it
 * by more than that. It decides nothing about who may use a relay (previews.ts does).
 */
import type Docker from 'dockerode';
import { execPipe, type ExecPipe } from './execpipe.ts';

/** Seconds a relay waits for the server after its stdin closed, before it exits anyway. */
const CLOSE_GRACE_S = 5;
/**
 * The relay, `perl -e RELAY_SCRIPT <address> <port>`: wait for the "go" line, connect, then copy
 * both ways with blocking writes (backpressure: a full pipe stops reading the other side). The
 * server closing ends it (exit closes stdout: the runner sees the end); stdin closing
 * half-closes the connection and leaves the server CLOSE_GRACE_S to finish.
 */
const RELAY_SCRIPT = `
use IO::Socket::INET; use IO::Select;
my ($address, $port) = @ARGV;
my $c; do { sysread(STDIN, $c, 1) or exit 0 } until $c eq "\n";
my $s = IO::Socket::INET->new(PeerAddr => $address, PeerPort => $port, Proto => 'tcp') or exit 1;
sub put { my ($fh, $buf) = @_; while (length $buf) { my $n = syswrite($fh, $buf) // return 0; substr($buf, 0, $n, '') } 1 }
my $sel = IO::Select->new(\*STDIN, $s); my $until;
while (1) {
  my @ready = $sel->can_read(defined $until ? $until - time : undef) or exit 0;
  for my $fh (@ready) {
    my $n = sysread($fh, my $buf, 65536);
    if ($fh == $s) { exit 0 unless $n && put(\*STDOUT, $buf) }
    elsif ($n) { exit 0 unless put($s, $buf) }
    else { $sel->remove(\*STDIN); shutdown($s, 1); $until = time + ${CLOSE_GRACE_S} }
  }
}`;
/** How long a relay started ahead waits to be taken before it is let go (ms): a page's requests come in bursts. */
const SPARE_IDLE_MS = 60_000;
/**
 * A relay with no byte either way for this long is closed (ms): a forgotten tab's connection
 * must not hold an exec forever. Long enough for a WebSocket that pings every few minutes.
 */
export const RELAY_IDLE_MS = 10 * 60_000;

export interface RelayTarget {
  containerName: string;
  /** Where to connect inside the lab host (IPv4): its loopback, or the address the port is published on. */
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

  /** A connection to the target, open once the relay in the lab host connects (or fails: then the stream ends with nothing). */
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
    const pipe = await execPipe(this.#docker, target.containerName, ['perl', '-e', RELAY_SCRIPT, target.address, String(target.port)], { idleMs: RELAY_IDLE_MS });
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
