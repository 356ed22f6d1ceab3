import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { TerminalClient } from './terminal-client.ts';

/** A stand-in terminal server on loopback: 900 kB of flood at once, then on any keystroke 300 kB more and a prompt. */
describe('the test terminal client', () => {
  let server: WebSocketServer;
  let url: string;
  beforeAll(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    server.on('connection', (ws) => {
      ws.send(Buffer.alloc(900_000, 'y'), { binary: true });
      ws.on('message', () => {
        ws.send(Buffer.alloc(300_000, 'y'), { binary: true });
        ws.send(Buffer.from('\r\nroot@host1:~# '), { binary: true });
      });
    });
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('still finds output that came after a position taken before it trimmed its kept text', async () => {
    const term = new TerminalClient(await openSocket(url));
    await term.waitFor(/y$/, 5_000);
    await expect.poll(() => term.position, { timeout: 5_000 }).toBe(900_000);
    const from = term.position;
    term.type('more');
    // 1.2 MB in all passes the 1 MB it keeps, so the text before `from` is let go meanwhile.
    const seen = await term.waitForPrompt(5_000, from);
    expect(seen.endsWith('root@host1:~# ')).toBe(true);
    expect(term.position).toBe(900_000 + 300_000 + '\r\nroot@host1:~# '.length);
    expect(term.since(0).length).toBeLessThan(term.position);
    term.close();
  });
});

async function openSocket(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'));
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  return ws;
}
