/**
 * A command in a lab host as a stream of bytes both ways: a `docker exec` without a TTY, its
 * stdin written to and its stdout read from one Duplex, with backpressure in both directions,
 * for long-lived commands whose output is data (a relay into the lab host, an event stream).
 * Ending the Duplex closes the command's stdin; destroying it drops the connection to the
 * engine, which closes the command's stdin too: the commands run this way (relay.ts,
 * hostwatch.ts) are written to end on that, since an exec'd process outlives its stream.
 *
 * The Files API (files.ts) runs its short commands this way too, for their stdout alone and
 * their stdin: execCollect mixes stderr into what it collects and takes no input.
 *
 * Not for terminals (a TTY, terminal.ts).
 */
import { Duplex } from 'node:stream';
import type Docker from 'dockerode';

/** Docker's multiplexed stream (no TTY): each frame is an 8-byte header (stream, 0, 0, 0, size uint32 BE), then its payload. */
const FRAME_HEADER_BYTES = 8;
const STDOUT = 1;

export interface ExecPipeOptions {
  /** Destroy the pipe once no byte went either way for this long (ms). Default: never. */
  idleMs?: number;
}

/** Start `cmd` in the container, stdin and stdout attached; resolves once the engine attached the stream. */
export async function execPipe(docker: Docker, containerName: string, cmd: string[], opts: ExecPipeOptions = {}): Promise<ExecPipe> {
  const exec = await docker.getContainer(containerName).exec({ Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false });
  const socket = (await exec.start({ hijack: true, stdin: true, Tty: false })) as unknown as Duplex;
  return new ExecPipe(socket, opts);
}

/**
 * The hijacked stream of an exec: what is written goes to the command's stdin as it is; what is
 * read is its stdout, taken out of Docker's frames as they arrive (only a frame header is ever
 * held back), stderr dropped. Reading stops when the reader stops (push returns false).
 */
export class ExecPipe extends Duplex {
  readonly #socket: Duplex;
  readonly #idleMs: number | undefined;
  #idle: NodeJS.Timeout | undefined;
  #header = Buffer.alloc(0);
  /** What is left of the current frame's payload, and which stream it belongs to. */
  #left = 0;
  #stream = 0;

  constructor(socket: Duplex, opts: ExecPipeOptions = {}) {
    super({ allowHalfOpen: true });
    this.#socket = socket;
    this.#idleMs = opts.idleMs;
    this.#active();
    socket.on('data', (chunk: Buffer) => this.#demux(chunk));
    let ended = false;
    socket.on('end', () => {
      ended = true;
      this.push(null);
    });
    socket.on('error', (err) => this.destroy(err));
    // Cut off mid-stream: nothing more will come or be taken. After a clean end, what is
    // buffered here is still the reader's to take.
    socket.on('close', () => {
      if (!ended) this.destroy();
    });
  }

  override _read(): void {
    this.#socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#active();
    this.#socket.write(chunk, done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.#socket.end();
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    clearTimeout(this.#idle);
    this.#socket.destroy();
    done(err);
  }

  #active(): void {
    if (this.#idleMs === undefined || this.destroyed) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(() => this.destroy(), this.#idleMs);
    this.#idle.unref();
  }

  #demux(chunk: Buffer): void {
    this.#active();
    let at = 0;
    while (at < chunk.length) {
      if (this.#left === 0) {
        const need = FRAME_HEADER_BYTES - this.#header.length;
        this.#header = Buffer.concat([this.#header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (this.#header.length < FRAME_HEADER_BYTES) return;
        this.#stream = this.#header[0]!;
        this.#left = this.#header.readUInt32BE(4);
        this.#header = Buffer.alloc(0);
        continue;
      }
      const payload = chunk.subarray(at, at + this.#left);
      at += payload.length;
      this.#left -= payload.length;
      if (this.#stream === STDOUT && !this.push(payload)) this.#socket.pause();
    }
  }
}
