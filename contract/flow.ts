/**
 * The client's side of the terminal's flow control (protocol.ts FLOW): counting the output bytes
 * it has rendered and acknowledging them in batches. The browser's terminal (src/client/terminal/
 * session.ts) and the Node terminal client of the tools (sandbox/tools/terminal-client.ts) both
 * acknowledge through this, so the runner sees the same pattern from either.
 *
 * It does not send anything itself (the caller's `send` does, on its socket) and does not decide
 * what "rendered" means: the browser counts after xterm parsed the bytes, the Node client on
 * arrival. No `node:` imports (contract/tsconfig.json has no Node types).
 */
import { FLOW } from './protocol.ts';

/**
 * A partial acknowledgement is sent after this much quiet, so a small output (a prompt, one
 * `docker ps`) never leaves the runner counting bytes the browser already showed. Short
 * enough to be invisible, long enough that a burst of output is acknowledged in batches.
 */
export const ACK_IDLE_FLUSH_MS = 50;

/**
 * Acknowledgements for one terminal, across the sockets it opens in turn: sends `bytes` through
 * `send` once FLOW.ACK_BATCH of them are rendered, or ACK_IDLE_FLUSH_MS after the first of a
 * smaller batch. `socketChanged()` forgets what the old socket had rendered, and a counter taken
 * before it (`counter()`) counts nothing after it: bytes from a previous socket are not the new
 * socket's to acknowledge.
 */
export class AckBatcher {
  readonly #send: (bytes: number) => void;
  #pending = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Which socket counters count for; `socketChanged()` moves it on. */
  #socket = 0;

  constructor(send: (bytes: number) => void) {
    this.#send = send;
  }

  /**
   * A function that counts rendered bytes for the current socket. Take it when the bytes arrive
   * and call it when they are rendered: if the socket was replaced (or closed) meanwhile, it does nothing.
   */
  counter(): (bytes: number) => void {
    const socket = this.#socket;
    return (bytes) => {
      if (socket === this.#socket) this.#rendered(bytes);
    };
  }

  /** The socket was closed or replaced: drop what is pending, unsent, and stop the idle timer. */
  socketChanged(): void {
    this.#socket++;
    this.#pending = 0;
    this.#stopTimer();
  }

  /** Acknowledge whatever is pending now. */
  flush(): void {
    this.#stopTimer();
    if (this.#pending === 0) return;
    const bytes = this.#pending;
    this.#pending = 0;
    this.#send(bytes);
  }

  #rendered(bytes: number): void {
    this.#pending += bytes;
    if (this.#pending >= FLOW.ACK_BATCH) this.flush();
    else if (this.#timer === undefined) this.#timer = setTimeout(() => this.flush(), ACK_IDLE_FLUSH_MS);
  }

  #stopTimer(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
