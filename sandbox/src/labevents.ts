/**
 * The lab event sockets (ROUTES.labEvents, protocol.ts LAB_EVENTS): one per open lab page,
 * pushing what the panel shows around the terminals (the learner's own name and help flag,
 * whether an instructor watches, the instructor's message, web previews) as one small state
 * object, sent whole when the socket opens and again whenever it changes; and, when the lab
 * ends, the sentence saying why.
 *
 * Other modules contribute parts of the state (addSource) and say when their part changed
 * (changed); those that only need to work while somebody looks (following a lab host's
 * engine for previews) learn when a lab's page starts and stops listening (onListening).
 * Nothing is read from these sockets: a frame from the client closes its socket.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ROUTES } from '../../contract/api.ts';
import { CLOSE_CODES, LAB_EVENTS, closeReason, encodeMessage, type LabEvent, type LabEventState, type RunnerNotice } from '../../contract/protocol.ts';
import { Heartbeat } from './heartbeat.ts';
import { refuseSocket } from './http-io.ts';
import { admitLabSocket } from './labdoor.ts';
import type { Lab, LabManager } from './labs.ts';

/** Event sockets one lab may have open at once: a few tabs of the same lab, and reconnects racing their old socket. */
const MAX_EVENT_SOCKETS_PER_LAB = 8;
/** Nothing legitimate is ever sent to the runner on these sockets; ws closes the socket on a larger frame. */
const MAX_CLIENT_FRAME_BYTES = 1024;

/** A part of a lab's event state, from the module that owns it. */
export type StateSource = (lab: Lab) => Partial<LabEventState>;
export type ListeningListener = (lab: Lab, listening: boolean) => void;

export interface LabEventsOptions {
  labs: LabManager;
  log: (line: string) => void;
  allowsOrigin: (origin: string | undefined) => boolean;
}

export class LabEvents {
  private readonly opts: LabEventsOptions;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
  private readonly heartbeat = new Heartbeat(this.wss);
  /** Open sockets per lab id. */
  private readonly open = new Map<string, Set<WebSocket>>();
  /** What each lab's sockets were last sent (JSON), so an unchanged state is not sent again. */
  private readonly lastSent = new Map<string, string>();
  private readonly sources: StateSource[] = [];
  private readonly listeningListeners = new Set<ListeningListener>();
  /** Labs whose state may have changed since the last flush; flushed once per turn of the event loop. */
  private readonly dirty = new Set<string>();
  private flushing = false;

  constructor(opts: LabEventsOptions) {
    this.opts = opts;
    opts.labs.onRemoved((lab, reason) => this.ended(lab, reason));
    // Keystrokes change a lab too (its last activity): the state is compared before it is sent.
    opts.labs.onChanged((lab) => this.changed(lab.id));
  }

  addSource(source: StateSource): void {
    this.sources.push(source);
  }

  onListening(listener: ListeningListener): () => void {
    this.listeningListeners.add(listener);
    return () => this.listeningListeners.delete(listener);
  }

  /** Whether a page of this lab is listening now. */
  listening(labId: string): boolean {
    return (this.open.get(labId)?.size ?? 0) > 0;
  }

  /** The lab's state may have changed: its sockets get it (if it did) within this turn of the event loop. */
  changed(labId: string): void {
    if (!this.open.has(labId)) return;
    this.dirty.add(labId);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      for (const id of this.dirty) this.flush(id);
      this.dirty.clear();
    });
  }

  /** Every lab's state may have changed (the instructor's message). */
  changedAll(): void {
    for (const id of this.open.keys()) this.changed(id);
  }

  /** The state a lab's page is shown now. */
  stateOf(lab: Lab): LabEventState {
    const state: LabEventState = { learner: { name: lab.learnerName, help: lab.helpSince !== null }, watchers: 0, notice: null, previews: [] };
    for (const source of this.sources) Object.assign(state, source(lab));
    return state;
  }

  /** Refuse the upgrade with an HTTP status, or start pushing the lab's state to it. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const admitted = admitLabSocket(req, socket, ROUTES.labEvents.pattern, this.opts.labs, this.opts.allowsOrigin);
    if (!admitted) return;
    const { lab } = admitted;
    if ((this.open.get(lab.id)?.size ?? 0) >= MAX_EVENT_SOCKETS_PER_LAB) return refuseSocket(socket, 429);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.add(lab, ws));
  }

  /** Close every socket (the runner is stopping: pages reconnect to its successor). */
  closeAll(code: number, reason: string): void {
    for (const set of this.open.values()) for (const ws of set) ws.close(code, closeReason(reason));
  }

  close(): void {
    this.heartbeat.stop();
    this.wss.close();
  }

  private add(lab: Lab, ws: WebSocket): void {
    // The lab may have ended while the upgrade was under way.
    if (this.opts.labs.get(lab.id) !== lab) return void ws.close(CLOSE_CODES.labGone, 'lab gone');
    this.heartbeat.track(ws);
    const set = this.open.get(lab.id) ?? new Set<WebSocket>();
    this.open.set(lab.id, set);
    set.add(ws);
    ws.on('message', () => ws.close(CLOSE_CODES.policy, 'this socket takes no messages'));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      set.delete(ws);
      if (set.size > 0 || this.open.get(lab.id) !== set) return;
      this.open.delete(lab.id);
      this.lastSent.delete(lab.id);
      for (const listener of this.listeningListeners) listener(lab, false);
    });
    const state = JSON.stringify(this.stateOf(lab));
    this.lastSent.set(lab.id, state);
    send(ws, { type: LAB_EVENTS.state, state: JSON.parse(state) as LabEventState });
    if (set.size === 1) for (const listener of this.listeningListeners) listener(lab, true);
  }

  private flush(labId: string): void {
    const lab = this.opts.labs.get(labId);
    const set = this.open.get(labId);
    if (!lab || !set) return;
    const state = this.stateOf(lab);
    const text = JSON.stringify(state);
    if (this.lastSent.get(labId) === text) return;
    this.lastSent.set(labId, text);
    for (const ws of set) send(ws, { type: LAB_EVENTS.state, state });
  }

  private ended(lab: Lab, { code, message: reason }: RunnerNotice): void {
    const set = this.open.get(lab.id);
    if (!set) return;
    this.open.delete(lab.id);
    this.lastSent.delete(lab.id);
    for (const ws of set) {
      send(ws, { type: LAB_EVENTS.ended, reason, code });
      ws.close(CLOSE_CODES.labGone, 'lab gone');
    }
    for (const listener of this.listeningListeners) listener(lab, false);
  }
}

function send(ws: WebSocket, event: LabEvent): void {
  if (ws.readyState === ws.OPEN) ws.send(encodeMessage(event));
}
