/**
 * A terminal client in Node that behaves like the browser's (binary frames, acknowledgements
 * through the same flow-control code, contract/flow.ts), for the lesson verifier, the benchmark
 * and the integration tests. It keeps the output as text and can wait for a pattern, a prompt,
 * or a command's end. It does not reconnect (the browser's session.ts does) and renders nothing:
 * a byte counts as rendered when it arrives.
 */
import WebSocket from 'ws';
import { CLIENT_MESSAGES, encodeMessage, parseServerMessage, type ServerMessage } from '../../contract/protocol.ts';
import { ROUTES, type LabCreated } from '../../contract/api.ts';
import { AckBatcher } from '../../contract/flow.ts';

/** Debian's root prompt, `root@host1:~# `, once colours are stripped. */
export const PROMPT = /root@[\w-]+:[^\n]*# $/;

/** Remove terminal escape sequences (colours, bracketed-paste mode, titles) so output reads as text. */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]/g, '');
}

/**
 * Output kept: when it passes TEXT_MAX characters, only the last TEXT_KEEP stay. Positions
 * (`position`, `since`) count every character ever received, so a wait that began before a trim
 * still sees what came after it.
 */
const TEXT_MAX = 1_000_000;
const TEXT_KEEP = 200_000;

/** A terminal client like the browser's: collects output, acknowledges what it "rendered". */
export class TerminalClient {
  readonly ws: WebSocket;
  bytes = 0;
  messages: ServerMessage[] = [];
  closeCode?: number;
  private waiters: Array<() => void> = [];
  private readonly acks: AckBatcher;
  /** The output's tail (see TEXT_KEEP) and how many characters before it were let go. */
  private text = '';
  private dropped = 0;

  constructor(ws: WebSocket) {
    this.ws = ws;
    this.acks = new AckBatcher((bytes) => {
      if (ws.readyState === WebSocket.OPEN) ws.send(encodeMessage({ type: CLIENT_MESSAGES.ack, bytes }));
    });
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (isBinary) {
        this.bytes += buf.length;
        this.text += buf.toString('utf8');
        // Keep the tail only: a flood must not make the test itself grow without bound.
        if (this.text.length > TEXT_MAX) {
          this.dropped += this.text.length - TEXT_KEEP;
          this.text = this.text.slice(-TEXT_KEEP);
        }
        this.acks.counter()(buf.length);
      } else {
        const parsed = parseServerMessage(buf.toString('utf8'));
        if (parsed.ok) this.messages.push(parsed.message);
      }
      this.notify();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.acks.socketChanged();
      this.notify();
    });
  }

  /** Open `host`'s terminal in `lab` on the runner at `runner.url`; rejects if the upgrade is refused. */
  static open(runner: { url: string }, lab: Pick<LabCreated, 'id' | 'token'>, host: string, opts: { token?: string; origin?: string } = {}): Promise<TerminalClient> {
    const ws = new WebSocket(runner.url.replace(/^http/, 'ws') + ROUTES.terminal.path(lab.id, host, opts.token ?? lab.token), {
      headers: { origin: opts.origin ?? runner.url },
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TerminalClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** How many characters of output have arrived so far: a position to pass to `since` or `waitFor`. */
  get position(): number {
    return this.dropped + this.text.length;
  }

  /** The output since `position` (or as much of it as is still kept), escape sequences and all. */
  since(position = 0): string {
    return this.text.slice(Math.max(0, position - this.dropped));
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text, 'utf8'), { binary: true });
  }

  /** Resolve when the output since `from` matches; reject after `timeoutMs` with what was seen. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = stripAnsi(this.since(from));
      if (pattern.test(seen)) return seen;
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}) before ${pattern}; output:\n${seen.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}; output:\n${seen.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for a shell prompt (`root@host:...# `) after `from`. */
  waitForPrompt(timeoutMs = 30_000, from = 0): Promise<string> {
    return this.waitFor(PROMPT, timeoutMs, from);
  }

  /**
   * Type a command and wait for its echo, then a new prompt; returns that output. Waiting for
   * the echo first matters: bash redraws its prompt on a resize, which is not the command's end.
   */
  async run(command: string, timeoutMs = 30_000): Promise<string> {
    const from = this.position;
    this.type(`${command}\r`);
    const echoed = command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return this.waitFor(new RegExp(`${echoed}[\\s\\S]*${PROMPT.source}`), timeoutMs, from);
  }

  waitClosed(timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.closeCode !== undefined) return resolve(this.closeCode);
      const t = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.ws.once('close', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}
