/**
 * Node clients for the sockets and streams around a lab (tests and tools): a lab page's event
 * socket (LAB_EVENTS) and map socket (LAB_MAP), the instructor's room stream (server-sent
 * `room` events) and watch socket (WATCH_MESSAGES). Each keeps what arrived and waits for what a test expects.
 */
import http from 'node:http';
import WebSocket from 'ws';
import { INSTRUCTOR_ROUTES, ROUTES, type LabCreated, type RoomSnapshot } from '../../contract/api.ts';
import { LAB_EVENTS, parseLabEvent, parseLabMapMessage, type LabEventState, type LabMap } from '../../contract/protocol.ts';

/** Wait until `check` returns something, re-checking whenever `subscribe`'s callback fires. */
function waitUntil<T>(check: () => T | undefined, subscribe: (wake: () => void) => () => void, timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const first = check();
    if (first !== undefined) return resolve(first);
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const stop = subscribe(() => {
      const value = check();
      if (value === undefined) return;
      clearTimeout(timer);
      stop();
      resolve(value);
    });
  });
}

class Waitable {
  private readonly wakers = new Set<() => void>();
  protected wake(): void {
    for (const w of [...this.wakers]) w();
  }
  protected subscribe = (wake: () => void) => {
    this.wakers.add(wake);
    return () => this.wakers.delete(wake);
  };
}

/** A lab page's event socket. */
export class LabEventsClient extends Waitable {
  readonly ws: WebSocket;
  states: LabEventState[] = [];
  endedReason?: string;
  closeCode?: number;

  private constructor(ws: WebSocket) {
    super();
    this.ws = ws;
    ws.on('message', (data) => {
      const parsed = parseLabEvent(String(data));
      if (!parsed.ok) return;
      if (parsed.message.type === LAB_EVENTS.state) this.states.push(parsed.message.state);
      else this.endedReason = parsed.message.reason;
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static open(runner: { url: string }, lab: Pick<LabCreated, 'id' | 'token'>, opts: { origin?: string } = {}): Promise<LabEventsClient> {
    const ws = new WebSocket(runner.url.replace(/^http/, 'ws') + ROUTES.labEvents.path(lab.id, lab.token), { headers: { origin: opts.origin ?? runner.url } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new LabEventsClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** The first state (the latest first) that `matches`, waiting for it if none has yet. */
  waitForState(matches: (s: LabEventState) => boolean, timeoutMs = 5_000, what = 'a matching lab state'): Promise<LabEventState> {
    return waitUntil(() => [...this.states].reverse().find(matches), this.subscribe, timeoutMs, what);
  }

  waitEnded(timeoutMs = 10_000): Promise<string> {
    return waitUntil(() => this.endedReason, this.subscribe, timeoutMs, 'the lab to end');
  }

  close(): void {
    this.ws.close();
  }
}

/** A lab's map socket: every map pushed, with when it arrived (performance.now()). */
export class LabMapClient extends Waitable {
  readonly ws: WebSocket;
  maps: { at: number; map: LabMap }[] = [];
  /** Frames that were not a valid map message (none expected). */
  invalid: string[] = [];
  closeCode?: number;

  private constructor(ws: WebSocket) {
    super();
    this.ws = ws;
    ws.on('message', (data) => {
      const parsed = parseLabMapMessage(String(data));
      if (parsed.ok) this.maps.push({ at: performance.now(), map: parsed.message.map });
      else this.invalid.push(parsed.reason);
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static open(runner: { url: string }, lab: Pick<LabCreated, 'id' | 'token'>, opts: { origin?: string } = {}): Promise<LabMapClient> {
    const ws = new WebSocket(runner.url.replace(/^http/, 'ws') + ROUTES.labMap.path(lab.id, lab.token), { headers: { origin: opts.origin ?? runner.url } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new LabMapClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** The latest map, if one came. */
  latest(): LabMap | undefined {
    return this.maps.at(-1)?.map;
  }

  /** The first map pushed at or after `since` (performance.now()) that `matches`, with when it arrived; waits for it. */
  waitForMap(matches: (m: LabMap) => boolean, timeoutMs = 5_000, what = 'a matching map', since = 0): Promise<{ at: number; map: LabMap }> {
    return waitUntil(() => this.maps.find((m) => m.at >= since && matches(m.map)), this.subscribe, timeoutMs, what);
  }

  waitClosed(timeoutMs = 10_000): Promise<number> {
    return waitUntil(() => this.closeCode, this.subscribe, timeoutMs, 'the map socket to close');
  }

  close(): void {
    this.ws.close();
  }
}

/** The instructor's room stream, over a signed-in session cookie. */
export class RoomStream extends Waitable {
  snapshots: { at: number; room: RoomSnapshot }[] = [];
  private readonly req: http.ClientRequest;

  private constructor(req: http.ClientRequest, res: http.IncomingMessage) {
    super();
    this.req = req;
    let buffer = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
        if (/^event: room$/m.test(block) && data) this.snapshots.push({ at: performance.now(), room: JSON.parse(data) as RoomSnapshot });
      }
      this.wake();
    });
  }

  static open(runner: { url: string }, cookie: string): Promise<RoomStream> {
    return new Promise((resolve, reject) => {
      const req = http.get(runner.url + INSTRUCTOR_ROUTES.events.path(), { headers: { cookie } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`the room stream answered ${res.statusCode}`));
        resolve(new RoomStream(req, res));
      });
      req.on('error', reject);
    });
  }

  /** The first snapshot (the latest first) that `matches`, with when it arrived (performance.now()). */
  waitFor(matches: (room: RoomSnapshot) => boolean, timeoutMs = 5_000, what = 'a matching room snapshot'): Promise<{ at: number; room: RoomSnapshot }> {
    return waitUntil(() => [...this.snapshots].reverse().find((s) => matches(s.room)), this.subscribe, timeoutMs, what);
  }

  close(): void {
    this.req.destroy();
  }
}

/** The instructor's read-only view of one learner terminal. */
export class WatchClient extends Waitable {
  readonly ws: WebSocket;
  text = '';
  sizes: { cols: number; rows: number }[] = [];
  closeCode?: number;

  private constructor(ws: WebSocket) {
    super();
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      if (isBinary) this.text += String(data);
      else this.sizes.push(JSON.parse(String(data)) as { cols: number; rows: number });
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static open(runner: { url: string }, labId: string, host: string, cookie: string): Promise<WatchClient> {
    const ws = new WebSocket(runner.url.replace(/^http/, 'ws') + INSTRUCTOR_ROUTES.watch.path(labId, host), { headers: { origin: runner.url, cookie } });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new WatchClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Resolve with the watch's text since `from` (a length of `text` read earlier) once it matches. */
  waitForText(pattern: RegExp, timeoutMs = 5_000, from = 0): Promise<string> {
    return waitUntil(() => (pattern.test(this.text.slice(from)) ? this.text.slice(from) : undefined), this.subscribe, timeoutMs, `${pattern} in the watch`);
  }

  waitClosed(timeoutMs = 5_000): Promise<number> {
    return waitUntil(() => this.closeCode, this.subscribe, timeoutMs, 'the watch to close');
  }
}
