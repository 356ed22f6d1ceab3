/**
 * One object per terminal WebSocket: it owns one `docker exec` of a login shell with a TTY in
 * one lab host and bridges it both ways (binary frames = bytes, text frames = control messages,
 * see protocol.ts), with flow control both ways so that no client can grow the runner's memory:
 * output stops being read when the client has not acknowledged enough of it, and also when the
 * socket itself is not draining (a client may acknowledge bytes it never read); input stops
 * being read from the socket while the shell's stream is not taking it.
 * Closing is idempotent and ends the shell's whole session inside the lab host: closing the
 * socket alone would leave the exec'd process running.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import type { WebSocket, RawData } from 'ws';
import { CLIENT_MESSAGES, CLOSE_CODES, FLOW, RUNNER_NOTICES, SERVER_MESSAGES, closeReason, encodeMessage, parseClientMessage, type RunnerNotice, type ServerMessage } from '../../contract/protocol.ts';
import { LAB_HOST_PATHS } from './names.ts';

/** Initial size until the browser sends its first resize (a 0x0 TTY would garble the first screen). */
const DEFAULT_SIZE = { cols: 80, rows: 24 };

/** How long after a shell's stream ends its lab host's state is read again (ms); see onShellEnded. */
const HOST_STATE_SETTLE_MS = 300;
/**
 * Output a prepared shell keeps until a terminal adopts it: its prompt is under 100 bytes, so
 * this only bounds a shell that prints without anyone watching.
 */
const PREPARED_OUTPUT_MAX_BYTES = 64 * 1024;
/**
 * Output queued in the runner for one socket (ws's bufferedAmount: bytes not yet handed to the
 * kernel) above which the shell's output stops being read, and below which it is read again.
 * The acknowledgements (protocol.ts FLOW) say what the browser rendered; this says what the
 * network took, and holds whatever a client claims to have rendered. A normal browser keeps it
 * near zero (the kernel's socket buffer absorbs a burst), so it only bites a client that stops
 * reading: the runner then holds at most about this much for it.
 */
const SOCKET_HIGH_WATERMARK = 256 * 1024;
const SOCKET_LOW_WATERMARK = 64 * 1024;

/** Exec `lab-shell <id>` (a login shell) in a lab host with a TTY; resolves with its attached stream. */
export async function execShell(docker: Docker, containerName: string, id: string, size = DEFAULT_SIZE): Promise<{ exec: Docker.Exec; stream: Duplex }> {
  const exec = await docker.getContainer(containerName).exec({
    Cmd: [LAB_HOST_PATHS.shell, id],
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    Tty: true,
    Env: ['TERM=xterm-256color', 'LANG=C.UTF-8'],
    ConsoleSize: [size.rows, size.cols],
  });
  const stream = (await exec.start({ hijack: true, stdin: true, Tty: true })) as unknown as Duplex;
  return { exec, stream };
}

/**
 * A login shell started in a lab host before any terminal is open, so that the first terminal
 * adopts a shell whose prompt is already there: exec'ing one costs ~70-100 ms here (runc,
 * then bash -l; measured from exec create to first byte). The warm pool prepares one per host
 * of each pooled lab; the lab page opens a terminal on every host at once.
 */
export class PreparedShell {
  readonly id: string;
  private output: Buffer[] = [];
  private bytes = 0;
  private ended = false;
  private readonly exec: Docker.Exec;
  private readonly stream: Duplex;
  private readonly keep = (chunk: Buffer) => {
    if (this.bytes + chunk.length > PREPARED_OUTPUT_MAX_BYTES) return;
    this.output.push(chunk);
    this.bytes += chunk.length;
  };

  static async start(docker: Docker, containerName: string): Promise<PreparedShell> {
    const id = randomBytes(8).toString('hex');
    const { exec, stream } = await execShell(docker, containerName, id);
    return new PreparedShell(id, exec, stream);
  }

  private constructor(id: string, exec: Docker.Exec, stream: Duplex) {
    this.id = id;
    this.exec = exec;
    this.stream = stream;
    stream.on('data', this.keep);
    stream.once('end', () => (this.ended = true));
    stream.once('close', () => (this.ended = true));
    stream.on('error', () => (this.ended = true));
  }

  /** The shell's exec, stream and what it printed so far, once; undefined if it has ended. */
  adopt(): { exec: Docker.Exec; stream: Duplex; output: Buffer[] } | undefined {
    this.stream.off('data', this.keep);
    if (this.ended) return undefined;
    const output = this.output;
    this.output = [];
    this.ended = true;
    return { exec: this.exec, stream: this.stream, output };
  }

  /** For a shell nobody adopted: let go of its stream (its lab host is being removed). */
  close(): void {
    this.stream.off('data', this.keep);
    this.ended = true;
    this.stream.destroy();
  }
}

export interface TerminalOptions {
  docker: Docker;
  ws: WebSocket;
  containerName: string;
  host: string;
  /** Called on every keystroke frame: keeps the lab from counting as idle. */
  onActivity: () => void;
  onClose: () => void;
  log: (line: string) => void;
  /** A shell already started on this host to adopt instead of exec'ing a new one. */
  prepared?: PreparedShell;
  /** Told every chunk the shell prints and every size the terminal takes (instructors watching, watch.ts). */
  tap?: { output(chunk: Buffer): void; resized(size: { cols: number; rows: number }): void };
}

export class TerminalSession {
  /** Names this terminal's session inside the lab host, for lab-shell and lab-end-terminal. */
  readonly id: string;
  private stream?: Duplex;
  private exec?: Docker.Exec;
  private unacked = 0;
  /** The shell's output is not being read (see onOutput). */
  private paused = false;
  /** The socket's frames are not being read while the shell's stream drains (see onMessage). */
  private inputPaused = false;
  private closed = false;
  private size = { ...DEFAULT_SIZE };
  /** Tail of the chain that applies input and resizes in arrival order. */
  private pending: Promise<void> = Promise.resolve();
  private readonly opts: TerminalOptions;

  get host(): string {
    return this.opts.host;
  }

  constructor(opts: TerminalOptions) {
    this.opts = opts;
    this.id = opts.prepared?.id ?? randomBytes(8).toString('hex');
    opts.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    opts.ws.on('close', () => this.close());
    opts.ws.on('error', () => this.close());
  }

  async start(): Promise<void> {
    const { docker, containerName } = this.opts;
    try {
      const adopted = this.opts.prepared?.adopt();
      const { exec, stream } = adopted ?? (await execShell(docker, containerName, this.id, this.size));
      this.exec = exec;
      if (this.closed) {
        stream.destroy();
        await this.endSession();
        return;
      }
      this.stream = stream;
      stream.on('drain', () => this.resumeInput());
      // What a prepared shell printed before this terminal opened (its prompt) comes first.
      for (const chunk of adopted?.output ?? []) this.onOutput(chunk);
      stream.on('data', (chunk: Buffer) => this.onOutput(chunk));
      stream.on('end', () => void this.onShellEnded());
      stream.on('error', () => void this.onShellEnded());
      await this.applySize();
      this.send({ type: SERVER_MESSAGES.ready, host: this.opts.host });
    } catch (err) {
      this.fail({
        code: RUNNER_NOTICES.shellFailed,
        message: `Could not open a shell on ${this.opts.host}: ${(err as { json?: { message?: string } }).json?.message ?? (err as Error).message}. Stop the lab and start a new one.`,
      });
    }
  }

  /** Idempotent: the socket, the exec stream and the shell's session all end, once. */
  close(code: number = CLOSE_CODES.normal, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    if (this.opts.ws.readyState === this.opts.ws.OPEN || this.opts.ws.readyState === this.opts.ws.CONNECTING) {
      this.opts.ws.close(code, closeReason(reason));
    }
    this.stream?.destroy();
    void this.endSession();
    this.opts.onClose();
  }

  /** Send an error sentence (and its code, for pages in other languages) to the terminal, then close with `code`. */
  fail({ code: notice, message }: RunnerNotice, code: number = CLOSE_CODES.hostFailed): void {
    this.send({ type: SERVER_MESSAGES.error, message, code: notice });
    this.close(code, 'error');
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closed) return;
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (isBinary) {
      this.opts.onActivity();
      this.inOrder(() => {
        // A shell that is not reading (a pasted megabyte into `sleep`) must not make the runner
        // queue whatever the client keeps sending: stop reading the socket until it drains.
        if (this.stream && !this.stream.write(buf)) this.pauseInput();
      });
      return;
    }
    const parsed = parseClientMessage(buf.toString('utf8'));
    if (!parsed.ok) {
      this.opts.log(`terminal ${this.id}: ${parsed.reason}; closing`);
      this.close(CLOSE_CODES.policy, parsed.reason);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case CLIENT_MESSAGES.resize:
        this.size = { cols: m.cols, rows: m.rows };
        this.inOrder(() => this.applySize());
        break;
      case CLIENT_MESSAGES.ack:
        // More than was sent is a client's mistake or a lie; either way nothing is owed any more.
        this.unacked = Math.max(0, this.unacked - m.bytes);
        this.maybeResumeOutput();
        break;
    }
  }

  private onOutput(chunk: Buffer): void {
    if (this.closed) return;
    this.opts.tap?.output(chunk);
    this.opts.ws.send(chunk, { binary: true }, () => this.maybeResumeOutput());
    this.unacked += chunk.length;
    // Stop reading the TTY until the browser has rendered most of what it got and the socket has
    // taken what is queued: the shell then blocks on write, so memory stays bounded and a Ctrl-C
    // is not queued behind megabytes.
    if (!this.paused && (this.unacked > FLOW.HIGH_WATERMARK || this.opts.ws.bufferedAmount > SOCKET_HIGH_WATERMARK)) {
      this.paused = true;
      this.stream?.pause();
    }
  }

  /** Read the shell's output again once both the acknowledgements and the socket have caught up. */
  private maybeResumeOutput(): void {
    if (!this.paused || this.closed) return;
    if (this.unacked < FLOW.LOW_WATERMARK && this.opts.ws.bufferedAmount < SOCKET_LOW_WATERMARK) {
      this.paused = false;
      this.stream?.resume();
    }
  }

  private pauseInput(): void {
    if (this.inputPaused) return;
    this.inputPaused = true;
    this.opts.ws.pause();
  }

  private resumeInput(): void {
    if (!this.inputPaused || this.closed) return;
    this.inputPaused = false;
    this.opts.ws.resume();
  }

  /**
   * Apply frames in the order they arrived. A resize is an Engine API call that takes a few ms;
   * keystrokes sent right after it (e.g. a Run button typing `stty size`) must not overtake it.
   */
  private inOrder(step: () => void | Promise<void>): void {
    this.pending = this.pending.then(step, step);
  }

  private async applySize(): Promise<void> {
    if (!this.exec || this.closed) return;
    this.opts.tap?.resized(this.size);
    await this.exec.resize({ h: this.size.rows, w: this.size.cols }).catch(() => {});
  }

  /**
   * The exec stream ended: the learner left the shell (`exit`), or the lab host or the engine
   * went away under it. Tell them apart, so the page says what happened instead of reconnecting
   * to a host that is no longer there.
   */
  private async onShellEnded(): Promise<void> {
    if (this.closed) return;
    const { docker, containerName, host } = this.opts;
    let state: { Running?: boolean; OOMKilled?: boolean; ExitCode?: number } | undefined;
    try {
      state = (await docker.getContainer(containerName).inspect()).State;
      // A killed lab host ends the exec stream a moment before the engine records the container
      // as stopped: look once more before calling it a normal exit.
      if (state?.Running) {
        await new Promise((r) => setTimeout(r, HOST_STATE_SETTLE_MS));
        state = (await docker.getContainer(containerName).inspect()).State;
      }
    } catch (err) {
      const gone = (err as { statusCode?: number }).statusCode === 404;
      this.fail(gone
        ? { code: RUNNER_NOTICES.hostGone, message: `Lab host ${host} no longer exists (the lab was removed). Start a new lab.` }
        : { code: RUNNER_NOTICES.dockerLost, message: `The lab server lost its connection to Docker (the engine may have restarted), and this lab with it. Start a new lab when the server is back.` });
      return;
    }
    if (!state?.Running) {
      const why = state?.OOMKilled ? 'it ran out of memory' : `exit code ${state?.ExitCode ?? 'unknown'}`;
      this.fail({ code: RUNNER_NOTICES.hostExited, message: `Lab host ${host} stopped (${why}), so this terminal closed. Stop the lab and start a new one.` });
      return;
    }
    let code: number | null = null;
    try {
      code = (await this.exec?.inspect())?.ExitCode ?? null;
    } catch {
      // The exec is gone with its process; the exit code is unknown.
    }
    this.send({ type: SERVER_MESSAGES.exit, code });
    this.close(CLOSE_CODES.exited, 'shell exited');
  }

  /** Hang up the shell and everything it started in this terminal (foreground jobs like `yes`, too). */
  private async endSession(): Promise<void> {
    try {
      const exec = await this.opts.docker.getContainer(this.opts.containerName).exec({
        Cmd: [LAB_HOST_PATHS.endTerminal, this.id],
        AttachStdout: false,
        AttachStderr: false,
      });
      await exec.start({ Detach: true });
    } catch {
      // The lab host was removed with the lab: its processes are gone with it.
    }
  }

  private send(message: ServerMessage): void {
    if (this.opts.ws.readyState === this.opts.ws.OPEN) this.opts.ws.send(encodeMessage(message));
  }
}
