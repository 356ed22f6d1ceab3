/**
 * Forwarding one HTTP request, or one WebSocket (any HTTP upgrade), to a web server over a
 * connection someone else opens (a relay into a lab host, relay.ts, or a connection to the cell
 * holding a lab, cells.ts): Node's HTTP client does the
 * parsing and framing on that connection (`createConnection`), bodies stream both ways with
 * backpressure, and nothing is buffered beyond what the streams hold. After an upgrade the two
 * sockets are piped to each other as raw bytes.
 *
 * The server behind is a learner's (hostile, or just broken): its answer passes as it is, minus
 * hop-by-hop headers, and a failure is a plain-text sentence with 502 or 504. Nothing is added to
 * it: no course headers (the CSP is the course's), nothing that lets the page reach anything
 * but its own origin. Which preview a request is for, and whether it exists, is previews.ts's;
 * a forward to another cell changes a few request headers and says its own failures (ProxyOptions).
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { refuseSocket } from './http-io.ts';

/** How long the server behind may take to start answering (ms): a development server may compile first. */
const ANSWER_TIMEOUT_MS = 60_000;

/** Opens the connection to the server behind; rejects with a PreviewError when it may not. */
export type Connect = () => Promise<Duplex>;

/** A refusal with its status and the sentence that says what to do. */
export class PreviewError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/**
 * Headers that describe one connection, not the message (RFC 9110, 7.6.1), and `expect`, which
 * Node's server has already answered: never passed on. Transfer-Encoding is kept on requests
 * (Node's client re-frames a chunked body it is told of), and left out of answers (Node's server
 * frames them itself).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade', 'expect']);

/** Raw header pairs (name, value, name, value…) without hop-by-hop ones and those Connection names; `keep` are kept anyway. */
function endToEnd(raw: string[], keep: readonly string[] = [], drop: readonly string[] | ((name: string) => boolean) = []): string[] {
  const dropped = typeof drop === 'function' ? drop : (name: string) => drop.includes(name);
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'connection') for (const t of raw[i + 1]!.split(',')) named.add(t.trim().toLowerCase());
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (keep.includes(name) || (!HOP_BY_HOP.has(name) && !named.has(name) && !dropped(name))) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

/** How a forward differs from a preview's (the defaults). */
export interface ProxyOptions {
  /** Request headers left out (by lowercase name), besides hop-by-hop ones. */
  drop?: (name: string) => boolean;
  /** Request headers added: name, value, name, value… */
  add?: readonly string[];
  /** The refusal for a forward that failed (a preview's sentence by default). */
  failed?: (err: unknown) => PreviewError;
  /** How long the server behind may take to start answering (ms). */
  answerTimeoutMs?: number;
}

/** A plain-text answer, for refusals (the server behind never sees them). */
export function sendText(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** What the learner is told when the server behind fails: `what` names it ("host1:8080"). */
function failure(err: unknown, what: string): PreviewError {
  if (err instanceof PreviewError) return err;
  return new PreviewError(502, `Nothing answered on ${what}, or it closed the connection without an answer. Check that the container publishing that port is running and serves HTTP, then reload.`);
}

/** A request to the server behind, on a connection from `connect`, with the browser's method, path and headers. */
function forward(req: http.IncomingMessage, connect: Connect, headers: string[]): http.ClientRequest {
  return http.request({
    method: req.method,
    path: req.url,
    headers,
    // Called back once the relay is open; returning nothing tells Node to wait for it.
    createConnection: ((_opts: unknown, done: (err: Error | null, socket?: Duplex) => void) => {
      connect().then((socket) => done(null, socket), (err: Error) => done(err));
      return undefined;
    }) as unknown as http.RequestOptions['createConnection'],
  });
}

/** The request's headers as they are passed on. */
function requestHeaders(req: http.IncomingMessage, opts: ProxyOptions, keep: readonly string[] = []): string[] {
  return [...endToEnd(req.rawHeaders, keep, opts.drop), ...(opts.add ?? [])];
}

/** Answer `req` with what the server behind answers; the answer streams, with backpressure both ways. */
export function proxyRequest(req: http.IncomingMessage, res: http.ServerResponse, connect: Connect, what: string, opts: ProxyOptions = {}): void {
  const upstream = forward(req, connect, requestHeaders(req, opts));
  const timeoutMs = opts.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
  const failed = opts.failed ?? ((err: unknown) => failure(err, what));
  const timer = setTimeout(() => upstream.destroy(new PreviewError(504, `${what} did not start answering within ${timeoutMs / 1000} seconds. Check what the server in that container is doing, then reload.`)), timeoutMs);
  upstream.on('response', (answer) => {
    clearTimeout(timer);
    try {
      // No status text: the server's own could hold anything; Node writes the standard one.
      res.writeHead(answer.statusCode ?? 502, endToEnd(answer.rawHeaders, [], ['transfer-encoding']));
    } catch {
      answer.destroy();
      return sendText(res, 502, `${what} answered with headers that cannot be passed on.`);
    }
    pipeline(answer, res, () => upstream.destroy());
  });
  upstream.on('error', (err) => {
    clearTimeout(timer);
    const refusal = err instanceof PreviewError ? err : failed(err);
    sendText(res, refusal.status, refusal.message);
  });
  // The browser gone (or done): the relay goes too.
  res.on('close', () => {
    clearTimeout(timer);
    upstream.destroy();
  });
  // Not pipeline(): a failed relay must not destroy the browser's socket before the 502 is out.
  req.pipe(upstream);
}

/** A status line and headers, for answering a socket after an upgrade request. */
function head(status: number, raw: string[]): string {
  const lines = [`HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Unknown'}`];
  for (let i = 0; i < raw.length; i += 2) lines.push(`${raw[i]}: ${raw[i + 1]}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * An upgrade request (a WebSocket) passed on; on 101 the two sockets carry raw bytes both ways
 * until either ends. Any other answer is passed back and the socket closed.
 */
export function proxyUpgrade(req: http.IncomingMessage, socket: Duplex, early: Buffer, connect: Connect, what: string, opts: ProxyOptions = {}): void {
  const upstream = forward(req, connect, requestHeaders(req, opts, ['connection', 'upgrade']));
  const timeoutMs = opts.answerTimeoutMs ?? ANSWER_TIMEOUT_MS;
  const failed = opts.failed ?? ((err: unknown) => failure(err, what));
  const timer = setTimeout(() => upstream.destroy(new PreviewError(504, `${what} did not answer the upgrade within ${timeoutMs / 1000} seconds.`)), timeoutMs);
  socket.on('close', () => upstream.destroy());
  upstream.on('upgrade', (answer, relay: Duplex, answerHead: Buffer) => {
    clearTimeout(timer);
    socket.write(head(101, answer.rawHeaders));
    if (answerHead.length) socket.write(answerHead);
    if (early.length) relay.write(early);
    // Either side ending or failing ends both.
    pipeline(socket, relay, socket, () => {
      socket.destroy();
      relay.destroy();
    });
  });
  upstream.on('response', (answer) => {
    clearTimeout(timer);
    // Not upgraded: the server's answer, its body delimited by the end of the connection.
    socket.write(head(answer.statusCode ?? 502, [...endToEnd(answer.rawHeaders, [], ['transfer-encoding', 'content-length']), 'Connection', 'close']));
    pipeline(answer, socket, () => socket.destroy());
  });
  upstream.on('error', (err) => {
    clearTimeout(timer);
    const refusal = err instanceof PreviewError ? err : failed(err);
    refuseSocket(socket, refusal.status, refusal.message);
  });
  upstream.end();
}
