/**
 * The terminal door: WebSocket upgrades for ROUTES.terminal, checked before any shell starts
 * (URL, Origin, token, host, terminals per host), one TerminalSession (terminal.ts) per socket
 * that passes, a heartbeat that closes sockets whose peer vanished, and closing a lab's
 * terminals when the lab ends. The server (server.ts) calls upgrade() inside its boundary.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { WebSocketServer, type WebSocket } from 'ws';
import { ROUTES } from '../../contract/api.ts';
import { CLOSE_CODES, MAX_FRAME_BYTES } from '../../contract/protocol.ts';
import { decodeSegment, parseUrl, refuseSocket } from './http-io.ts';
import type { Lab, LabManager } from './labs.ts';
import { TerminalSession } from './terminal.ts';

/** Terminals one lab host may have open at once (tabs, reconnects racing their old socket). */
const MAX_TERMINALS_PER_HOST = 8;
/**
 * Terminal socket heartbeat: a ping every HEARTBEAT_MS; a socket that has not answered the
 * previous one by then is dead (a laptop closed, a network gone) and is closed, which ends
 * its shell. Browsers answer pings by themselves.
 */
const HEARTBEAT_MS = 30_000;

export interface TerminalSocketsOptions {
  docker: Docker;
  labs: LabManager;
  log: (line: string) => void;
  /** Whether a page of this origin may open terminals (server.ts knows the port it listens on). */
  allowsOrigin: (origin: string | undefined) => boolean;
}

export class TerminalSockets {
  private readonly opts: TerminalSocketsOptions;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  /** Open terminals per lab id. */
  private readonly open = new Map<string, Set<TerminalSession>>();
  /** Whether each socket answered the last ping. */
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly heartbeat: NodeJS.Timeout;

  constructor(opts: TerminalSocketsOptions) {
    this.opts = opts;
    opts.labs.onRemoved((lab, reason) => {
      for (const t of this.open.get(lab.id) ?? []) t.fail(reason, CLOSE_CODES.labGone);
      this.open.delete(lab.id);
    });
    this.heartbeat = setInterval(() => this.ping(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Refuse the upgrade with an HTTP status, or hand the socket to a new terminal. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = parseUrl(req.url);
    if (!url) return refuseSocket(socket, 400);
    const match = ROUTES.terminal.pattern.exec(url.pathname);
    if (!match) return refuseSocket(socket, 404);
    if (!this.opts.allowsOrigin(req.headers.origin)) return refuseSocket(socket, 403);
    const token = url.searchParams.get('token');
    if (!token) return refuseSocket(socket, 401);
    const lab = this.opts.labs.authorize(decodeSegment(match[1]), token);
    const hostName = decodeSegment(match[2]);
    const host = lab?.hosts.find((h) => h.name === hostName);
    if (!lab || !host) return refuseSocket(socket, 404);
    if ([...(this.open.get(lab.id) ?? [])].filter((t) => t.host === hostName).length >= MAX_TERMINALS_PER_HOST) return refuseSocket(socket, 429);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.openTerminal(ws, lab, host.name, host.containerName));
  }

  /** Close every open terminal with `code` (e.g. goingAway when the runner stops). */
  closeAll(code: number, reason: string): void {
    for (const set of this.open.values()) for (const t of set) t.close(code, reason);
  }

  close(): void {
    clearInterval(this.heartbeat);
    this.wss.close();
  }

  private openTerminal(ws: WebSocket, lab: Lab, hostName: string, containerName: string): void {
    const { docker, labs, log } = this.opts;
    this.alive.set(ws, true);
    ws.on('pong', () => this.alive.set(ws, true));
    labs.terminalOpened(lab);
    const set = this.open.get(lab.id) ?? new Set<TerminalSession>();
    this.open.set(lab.id, set);
    const session: TerminalSession = new TerminalSession({
      docker, ws, containerName, host: hostName, log,
      prepared: labs.takeShell(lab, hostName),
      onActivity: () => labs.touch(lab),
      onClose: () => {
        set.delete(session);
        labs.terminalClosed(lab);
      },
    });
    set.add(session);
    void labs.whenStarted(lab, hostName).then(() => session.start());
  }

  /** Close sockets that did not answer the last ping, and ping the rest. */
  private ping(): void {
    for (const ws of this.wss.clients) {
      if (this.alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }
}
