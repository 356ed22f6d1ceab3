/**
 * Instructors watching learners' terminals, read-only (INSTRUCTOR_ROUTES.watch, protocol.ts
 * WATCH_MESSAGES). Terminals (sockets.ts) hand every chunk their shell prints and every size
 * change to output() and resized(); each watcher of that lab host gets them as the learner does.
 * A new watcher first gets the host's recent output (the screen's recent past) and its size.
 *
 * Watching never slows the learner: a watcher's socket that does not drain is closed, not
 * waited for. Nothing a watcher sends reaches the shell: any frame closes the watch. The
 * instructor module (instructor.ts) checks the session before calling upgrade().
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE_CODES, WATCH_MESSAGES, closeReason, encodeMessage } from '../../contract/protocol.ts';
import { Heartbeat } from './heartbeat.ts';
import type { Lab } from './labs.ts';

/**
 * Output kept per lab host for a watcher who arrives later: about two full screens of a busy
 * 200x50 terminal with colour codes. Kept only while watching is possible (LAB_INSTRUCTOR_CODE).
 */
const RECENT_OUTPUT_BYTES = 32 * 1024;
/**
 * Output queued for one watcher above which it is closed (CLOSE_CODES.tryAgainLater): a
 * watcher on a slow link must not make the runner hold the learner's output for it.
 */
const WATCHER_HIGH_WATERMARK = 1024 * 1024;
/** Watchers one lab host may have at once (a few instructors, a projector). */
const MAX_WATCHERS_PER_HOST = 4;
const MAX_CLIENT_FRAME_BYTES = 1024;

const key = (labId: string, host: string) => `${labId}/${host}`;

interface Recent {
  chunks: Buffer[];
  bytes: number;
}

export class TerminalWatchers {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
  private readonly heartbeat = new Heartbeat(this.wss);
  private readonly watching = new Map<string, Set<WebSocket>>();
  private readonly recent = new Map<string, Recent>();
  private readonly sizes = new Map<string, { cols: number; rows: number }>();
  private readonly countListeners = new Set<(labId: string) => void>();

  /** Whether anyone may ever watch: output is kept for later watchers only then. */
  private readonly keepRecent: boolean;

  constructor(keepRecent: boolean) {
    this.keepRecent = keepRecent;
  }

  /** Called whenever the number of watchers of a lab changes. */
  onCount(listener: (labId: string) => void): void {
    this.countListeners.add(listener);
  }

  /** Instructors watching any terminal of this lab now. */
  count(labId: string): number {
    let n = 0;
    for (const [k, set] of this.watching) if (k.startsWith(`${labId}/`)) n += set.size;
    return n;
  }

  output(labId: string, host: string, chunk: Buffer): void {
    if (!this.keepRecent) return;
    const k = key(labId, host);
    const recent = this.recent.get(k) ?? { chunks: [], bytes: 0 };
    this.recent.set(k, recent);
    recent.chunks.push(chunk);
    recent.bytes += chunk.length;
    while (recent.bytes - recent.chunks[0]!.length >= RECENT_OUTPUT_BYTES) recent.bytes -= recent.chunks.shift()!.length;
    for (const ws of this.watching.get(k) ?? []) this.send(ws, chunk);
  }

  resized(labId: string, host: string, size: { cols: number; rows: number }): void {
    if (!this.keepRecent) return;
    const k = key(labId, host);
    this.sizes.set(k, size);
    for (const ws of this.watching.get(k) ?? []) this.send(ws, encodeMessage({ type: WATCH_MESSAGES.size, ...size }));
  }

  /** Refuse with 429 when the host has enough watchers; otherwise start the watch. The caller checked who asks. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, lab: Lab, host: string, refuse: (status: number) => void): void {
    const k = key(lab.id, host);
    if ((this.watching.get(k)?.size ?? 0) >= MAX_WATCHERS_PER_HOST) return refuse(429);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.add(lab.id, k, ws));
  }

  /** The lab ended: its watchers are told why, and what was kept of it is dropped. */
  labEnded(labId: string, reason: string): void {
    for (const k of [...this.recent.keys(), ...this.watching.keys()]) {
      if (!k.startsWith(`${labId}/`)) continue;
      for (const ws of this.watching.get(k) ?? []) ws.close(CLOSE_CODES.labGone, closeReason(reason));
      this.watching.delete(k);
      this.recent.delete(k);
      this.sizes.delete(k);
    }
  }

  closeAll(code: number, reason: string): void {
    for (const set of this.watching.values()) for (const ws of set) ws.close(code, closeReason(reason));
  }

  close(): void {
    this.heartbeat.stop();
    this.wss.close();
  }

  private add(labId: string, k: string, ws: WebSocket): void {
    this.heartbeat.track(ws);
    const set = this.watching.get(k) ?? new Set<WebSocket>();
    this.watching.set(k, set);
    set.add(ws);
    ws.on('message', () => ws.close(CLOSE_CODES.policy, 'watching is read-only'));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      set.delete(ws);
      if (set.size === 0 && this.watching.get(k) === set) this.watching.delete(k);
      this.counted(labId);
    });
    const size = this.sizes.get(k);
    if (size) this.send(ws, encodeMessage({ type: WATCH_MESSAGES.size, ...size }));
    const recent = this.recent.get(k);
    if (recent && recent.bytes > 0) this.send(ws, Buffer.concat(recent.chunks));
    this.counted(labId);
  }

  private counted(labId: string): void {
    for (const listener of this.countListeners) listener(labId);
  }

  private send(ws: WebSocket, data: Buffer | string): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > WATCHER_HIGH_WATERMARK) {
      ws.close(CLOSE_CODES.tryAgainLater, 'watch fell behind; open it again');
      return;
    }
    ws.send(data, { binary: typeof data !== 'string' });
  }
}
