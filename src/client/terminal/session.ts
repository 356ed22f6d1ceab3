/**
 * One lab host's terminal connection: the WebSocket, flow control, and reconnecting.
 * No xterm and no DOM here: output goes to a TerminalSink, state changes to callbacks,
 * so the UI (ui.ts) decides how things look and this file decides how things behave.
 */
import { CLIENT_MESSAGES, CLOSE_CODES, SERVER_MESSAGES, clampSize, encodeMessage, parseServerMessage, type ClientMessage } from '../../../contract/protocol.ts';
import { ROUTES } from '../../../contract/api.ts';
import { AckBatcher } from '../../../contract/flow.ts';
import { apiText, LabApiError, labExists, type Lab } from './api.ts';
import { terminalText } from './words.ts';
import { localSentence } from '../../i18n/page.ts';

/**
 * Reconnect backoff: first retry after RECONNECT_BASE_MS, doubling to at most RECONNECT_MAX_MS,
 * with up to RECONNECT_JITTER of random spread so a classroom of tabs doesn't hit a
 * restarted runner in the same millisecond. The cap keeps a learner's wait short once the
 * runner is back (it keeps labs across a restart, so the same lab is there): at most about
 * RECONNECT_MAX_MS after it listens again. After RECONNECT_GIVE_UP_MS of failing (a runner
 * that is not coming back soon) the learner gets a Reconnect button instead of silent retrying.
 */
export const RECONNECT_BASE_MS = 500;
export const RECONNECT_MAX_MS = 4_000;
export const RECONNECT_JITTER = 0.3;
export const RECONNECT_GIVE_UP_MS = 10 * 60_000;

export type ConnectionState =
  /** Opening the socket, waiting for the shell. */
  | 'connecting'
  /** The shell is attached; input reaches it. */
  | 'ready'
  /** The socket dropped; retrying with backoff. */
  | 'reconnecting'
  /** The learner's shell ended (`exit`); a new one can be opened. */
  | 'exited'
  /** The lab no longer exists. Terminal for the whole lab. */
  | 'gone'
  /** Something failed that retrying alone won't fix; `message` says what. */
  | 'failed'
  /** Closed on purpose by the page. */
  | 'closed';

export interface TerminalSink {
  /** Show bytes the shell printed; call `written` once they are parsed (drives flow control). */
  write(data: Uint8Array, written: () => void): void;
  /** Show a message from the runner or this page inside the terminal. */
  notice(text: string, tone: 'error' | 'info'): void;
}

export interface ConnectionEvents {
  state(state: ConnectionState, message?: string): void;
}

const encoder = new TextEncoder();

export class HostConnection {
  #ws: WebSocket | undefined;
  #state: ConnectionState = 'closed';
  #attempts = 0;
  /** When the current run of failed reconnects began (performance.now()). */
  #failingSince = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Acknowledges output once xterm has parsed it (the sink's `written`). */
  readonly #acks = new AckBatcher((bytes) => this.#control({ type: CLIENT_MESSAGES.ack, bytes }));
  #size: { cols: number; rows: number } | undefined;
  /** The last `error` control message, used to explain a close that follows it. */
  #lastError: string | undefined;
  #waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  readonly lab: Lab;
  readonly host: string;
  readonly #sink: TerminalSink;
  readonly #events: ConnectionEvents;

  constructor(lab: Lab, host: string, sink: TerminalSink, events: ConnectionEvents) {
    this.lab = lab;
    this.host = host;
    this.#sink = sink;
    this.#events = events;
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Open (or reopen after `exited`/`failed`) the terminal socket. */
  open(): void {
    if (this.#state === 'gone') return;
    this.#attempts = 0;
    this.#connect();
  }

  /** Resolves once the shell is attached (its `ready` message or first output). */
  whenReady(): Promise<void> {
    if (this.#state === 'ready') return Promise.resolve();
    if (this.#state === 'gone') return Promise.reject(new Error(apiText().gone));
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Keystrokes, pastes, or a Run button's command: sent as UTF-8 bytes in a binary frame. */
  input(data: string | Uint8Array<ArrayBuffer>): void {
    if (this.#ws?.readyState !== WebSocket.OPEN) return;
    this.#ws.send(typeof data === 'string' ? encoder.encode(data) : data);
  }

  resize(cols: number, rows: number): void {
    const size = clampSize(cols, rows);
    if (this.#size && this.#size.cols === size.cols && this.#size.rows === size.rows) return;
    this.#size = size;
    this.#control({ type: CLIENT_MESSAGES.resize, ...size });
  }

  close(): void {
    this.#setState('closed');
    this.#teardown(CLOSE_CODES.normal);
    this.#rejectWaiters(new Error(terminalText().closed));
  }

  // ------------------------------------------------------------ internals

  #connect(): void {
    this.#teardown(CLOSE_CODES.normal);
    this.#setState(this.#attempts === 0 ? 'connecting' : 'reconnecting');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${scheme}//${location.host}${ROUTES.terminal.path(this.lab.id, this.host, this.lab.token)}`);
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    this.#lastError = undefined;

    ws.onopen = () => {
      // The shell should start at the right size, not 80x24 and then jump.
      const size = this.#size;
      this.#size = undefined;
      if (size) this.resize(size.cols, size.rows);
    };
    ws.onmessage = (event: MessageEvent<ArrayBuffer | string>) => {
      if (ws !== this.#ws) return;
      if (typeof event.data === 'string') this.#onControl(event.data);
      else this.#onOutput(new Uint8Array(event.data));
    };
    ws.onclose = (event) => {
      if (ws !== this.#ws) return;
      this.#ws = undefined;
      this.#onClose(event.code);
    };
  }

  #onOutput(bytes: Uint8Array): void {
    this.#markReady();
    // Taken now, for this socket: if it is replaced before xterm has parsed the bytes, they are not acknowledged.
    const rendered = this.#acks.counter();
    this.#sink.write(bytes, () => rendered(bytes.byteLength));
  }

  #onControl(text: string): void {
    const parsed = parseServerMessage(text);
    if (!parsed.ok) {
      // Not fatal for the learner; the runner is newer or buggy. Leave a trace for developers.
      console.warn(`[lab] ignoring control message from the lab server: ${parsed.reason}`);
      return;
    }
    const m = parsed.message;
    switch (m.type) {
      case SERVER_MESSAGES.ready:
        this.#markReady();
        break;
      case SERVER_MESSAGES.exit:
        this.#sink.notice(m.code === null ? terminalText().shellEnded(this.host) : terminalText().shellEndedWithCode(this.host, m.code), 'info');
        break;
      case SERVER_MESSAGES.error: {
        const message = localSentence(m.message, m.code, (c) => c.runner);
        this.#lastError = message;
        this.#sink.notice(message, 'error');
        this.#events.state(this.#state, message);
        break;
      }
    }
  }

  #onClose(code: number): void {
    this.#acks.socketChanged();
    if (this.#state === 'closed') return;
    switch (code) {
      case CLOSE_CODES.labGone:
        return this.#gone();
      case CLOSE_CODES.exited:
        this.#setState('exited');
        return this.#rejectWaiters(new Error(terminalText().shellEndedTryAgain(this.host)));
      case CLOSE_CODES.hostFailed:
        return this.#fail(this.#lastError ?? terminalText().hostFailed(this.host));
      case CLOSE_CODES.policy:
      case CLOSE_CODES.tooBig:
        // The runner refused something this page sent: retrying would repeat it.
        return this.#fail(terminalText().refused(this.host, code));
      default:
        // Dropped connection, runner restart (goingAway), network blip: worth retrying.
        return this.#scheduleReconnect();
    }
  }

  #scheduleReconnect(): void {
    if (this.#attempts === 0) this.#failingSince = performance.now();
    if (performance.now() - this.#failingSince > RECONNECT_GIVE_UP_MS) {
      return this.#fail(terminalText().gaveUp(this.host));
    }
    const backoff = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** this.#attempts);
    const delay = backoff * (1 - RECONNECT_JITTER * Math.random());
    this.#attempts++;
    this.#setState('reconnecting');
    this.#retryTimer = setTimeout(() => void this.#retry(), delay);
  }

  async #retry(): Promise<void> {
    this.#retryTimer = undefined;
    if (this.#state !== 'reconnecting') return;
    try {
      // Ask before opening a socket: a lab that expired while we were away must not look like a flaky network.
      if (!(await labExists(this.lab))) return this.#gone();
    } catch (e) {
      if (e instanceof LabApiError && e.kind !== 'unreachable') return this.#fail(e.message);
      return this.#scheduleReconnect(); // runner down or restarting: keep backing off
    }
    if (this.#state === 'reconnecting') this.#connect();
  }

  #markReady(): void {
    if (this.#state === 'ready') return;
    this.#attempts = 0;
    this.#setState('ready');
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #gone(): void {
    this.#teardown(CLOSE_CODES.normal);
    this.#setState('gone');
    this.#rejectWaiters(new Error(apiText().gone));
  }

  #fail(message: string): void {
    this.#teardown(CLOSE_CODES.normal);
    this.#setState('failed', message);
    this.#rejectWaiters(new Error(message));
  }

  #setState(state: ConnectionState, message?: string): void {
    if (state === this.#state && message === undefined) return;
    this.#state = state;
    this.#events.state(state, message);
  }

  #rejectWaiters(error: Error): void {
    for (const w of this.#waiters.splice(0)) w.reject(error);
  }

  #control(message: ClientMessage): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(encodeMessage(message));
  }

  #teardown(code: number): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    this.#acks.socketChanged();
    const ws = this.#ws;
    this.#ws = undefined;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code);
  }
}
