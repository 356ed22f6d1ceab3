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
import { Heartbeat } from './heartbeat.ts';
import { refuseSocket } from './http-io.ts';
import { admitLabSocket } from './labdoor.ts';
import type { Lab, LabManager } from './labs.ts';
import { TerminalSession } from './terminal.ts';
import type { TerminalWatchers } from './watch.ts';

/** Terminals one lab host may have open at once (tabs, reconnects racing their old socket). */
const MAX_TERMINALS_PER_HOST = 8;

export interface TerminalSocketsOptions {
  docker: Docker;
  labs: LabManager;
  log: (line: string) => void;
  /** Whether a page of this origin may open terminals (server.ts knows the port it listens on). */
  allowsOrigin: (origin: string | undefined) => boolean;
  /** Instructors watching: every terminal's output and size go to them too. */
  watchers: TerminalWatchers;
}

export class TerminalSockets {
  private readonly opts: TerminalSocketsOptions;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  /** Open terminals per lab id. */
  private readonly open = new Map<string, Set<TerminalSession>>();
  /** Closes sockets whose peer vanished, which ends their shells. */
  private readonly heartbeat = new Heartbeat(this.wss);

  constructor(opts: TerminalSocketsOptions) {
    this.opts = opts;
    opts.labs.onRemoved((lab, reason) => {
      for (const t of this.open.get(lab.id) ?? []) t.fail(reason, CLOSE_CODES.labGone);
      this.open.delete(lab.id);
    });
  }

  /** Refuse the upgrade with an HTTP status, or hand the socket to a new terminal. */
  upgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    const admitted = admitLabSocket(req, socket, ROUTES.terminal.pattern, this.opts.labs, this.opts.allowsOrigin);
    if (!admitted) return;
    const { lab, params: [hostName] } = admitted;
    const host = lab.hosts.find((h) => h.name === hostName);
    if (!host) return refuseSocket(socket, 404);
    if ([...(this.open.get(lab.id) ?? [])].filter((t) => t.host === hostName).length >= MAX_TERMINALS_PER_HOST) return refuseSocket(socket, 429);
    this.wss.handleUpgrade(req, socket, head, (ws) => this.openTerminal(ws, lab, host.name, host.containerName));
  }

  /** Close every open terminal with `code` (e.g. goingAway when the runner stops). */
  closeAll(code: number, reason: string): void {
    for (const set of this.open.values()) for (const t of set) t.close(code, reason);
  }

  close(): void {
    this.heartbeat.stop();
    this.wss.close();
  }

  private openTerminal(ws: WebSocket, lab: Lab, hostName: string, containerName: string): void {
    const { docker, labs, log } = this.opts;
    this.heartbeat.track(ws);
    labs.terminalOpened(lab);
    const set = this.open.get(lab.id) ?? new Set<TerminalSession>();
    this.open.set(lab.id, set);
    const session: TerminalSession = new TerminalSession({
      docker, ws, containerName, host: hostName, log,
      prepared: labs.takeShell(lab, hostName),
      tap: {
        output: (chunk) => this.opts.watchers.output(lab.id, hostName, chunk),
        resized: (size) => this.opts.watchers.resized(lab.id, hostName, size),
      },
      onActivity: () => labs.touch(lab),
      onClose: () => {
        set.delete(session);
        labs.terminalClosed(lab);
      },
    });
    set.add(session);
    void labs.whenStarted(lab, hostName).then(() => session.start());
  }
}
