/**
 * The lab map sockets (ROUTES.labMap, protocol.ts LAB_MAP): one per open Map tab, pushing the
 * lab's LabMap when it opens (once collected) and whenever it changes. A lab's hosts are followed
 * (mapwatch.ts) only while one of its map sockets is open: the first starts following, the last
 * to close stops it. Nothing is read from these sockets: a frame from the client closes its
 * socket; the lab's end closes them with labGone.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { WebSocketServer, type WebSocket } from 'ws';
import { ROUTES } from '../../contract/api.ts';
import { CLOSE_CODES, LAB_MAP, closeReason, encodeMessage, type LabMap } from '../../contract/protocol.ts';
import { Heartbeat } from './heartbeat.ts';
import { refuseSocket } from './http-io.ts';
import { admitLabSocket } from './labdoor.ts';
import type { Lab, LabManager } from './labs.ts';
import { watchLabMap, type MapWatch } from './mapwatch.ts';

/** Map sockets one lab may have open at once: a few tabs, and reconnects racing their old socket. */
const MAX_MAP_SOCKETS_PER_LAB = 8;
/** Nothing legitimate is ever sent to the runner on these sockets; ws closes the socket on a larger frame. */
const MAX_CLIENT_FRAME_BYTES = 1024;

export interface LabMapsOptions {
  docker: Docker;
  labs: LabManager;
  allowsOrigin: (origin: string | undefined) => boolean;
}

export class LabMaps {
  private readonly opts: LabMapsOptions;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME_BYTES });
  private readonly heartbeat = new Heartbeat(this.wss);
  /** Open sockets and the following of the lab's hosts, per lab id. */
  private readonly open = new Map<string, { sockets: Set<WebSocket>; watch: MapWatch }>();

  constructor(opts: LabMapsOptions) {
    this.opts = opts;
    opts.labs.onRemoved((lab) => this.ended(lab));
  }

  /** Refuse the upgrade with an HTTP status, or start pushing the lab's map to it. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const admitted = admitLabSocket(req, socket, ROUTES.labMap.pattern, this.opts.labs, this.opts.allowsOrigin);
    if (!admitted) return;
    const { lab } = admitted;
    if ((this.open.get(lab.id)?.sockets.size ?? 0) >= MAX_MAP_SOCKETS_PER_LAB) return refuseSocket(socket, 429);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.add(lab, ws));
  }

  /** Close every socket (the runner is stopping: pages reconnect to its successor) and stop following. */
  closeAll(code: number, reason: string): void {
    for (const [id, { sockets, watch }] of this.open) {
      watch.stop();
      this.open.delete(id);
      for (const ws of sockets) ws.close(code, closeReason(reason));
    }
  }

  close(): void {
    this.heartbeat.stop();
    this.wss.close();
  }

  private add(lab: Lab, ws: WebSocket): void {
    // The lab may have ended while the upgrade was under way.
    if (this.opts.labs.get(lab.id) !== lab) return void ws.close(CLOSE_CODES.labGone, 'lab gone');
    this.heartbeat.track(ws);
    const entry = this.open.get(lab.id) ?? this.follow(lab);
    entry.sockets.add(ws);
    ws.on('message', () => ws.close(CLOSE_CODES.policy, 'this socket takes no messages'));
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      entry.sockets.delete(ws);
      if (entry.sockets.size > 0 || this.open.get(lab.id) !== entry) return;
      this.open.delete(lab.id);
      entry.watch.stop();
    });
    const latest = entry.watch.latest();
    if (latest) send(ws, latest);
  }

  private follow(lab: Lab): { sockets: Set<WebSocket>; watch: MapWatch } {
    const sockets = new Set<WebSocket>();
    const watch = watchLabMap(this.opts.docker, lab.hosts, (map) => {
      for (const ws of sockets) send(ws, map);
    });
    const entry = { sockets, watch };
    this.open.set(lab.id, entry);
    return entry;
  }

  private ended(lab: Lab): void {
    const entry = this.open.get(lab.id);
    if (!entry) return;
    this.open.delete(lab.id);
    entry.watch.stop();
    for (const ws of entry.sockets) ws.close(CLOSE_CODES.labGone, 'lab gone');
  }
}

function send(ws: WebSocket, map: LabMap): void {
  if (ws.readyState === ws.OPEN) ws.send(encodeMessage({ type: LAB_MAP.map, map }));
}
