/**
 * A heartbeat for a WebSocketServer's sockets: a ping every HEARTBEAT_MS; a socket that has not
 * answered the previous one by then is dead (a laptop closed, a network gone) and is terminated,
 * which ends whatever it held (a shell, a watch, a lab page's events). Browsers answer pings by
 * themselves. Terminals, lab event sockets and the instructor's watch sockets all use it.
 */
import type { WebSocket, WebSocketServer } from 'ws';

export const HEARTBEAT_MS = 30_000;

export class Heartbeat {
  private readonly alive = new WeakMap<WebSocket, boolean>();
  private readonly timer: NodeJS.Timeout;
  private readonly wss: WebSocketServer;

  /** Watches the server's clients (ws tracks them, also with `noServer`); call track() for each new one. */
  constructor(wss: WebSocketServer) {
    this.wss = wss;
    this.timer = setInterval(() => this.ping(), HEARTBEAT_MS);
    this.timer.unref();
  }

  track(ws: WebSocket): void {
    this.alive.set(ws, true);
    ws.on('pong', () => this.alive.set(ws, true));
  }

  stop(): void {
    clearInterval(this.timer);
  }

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
