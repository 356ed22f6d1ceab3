/**
 * Reading requests and writing answers, for the server's routes and doors: the URL, the JSON
 * body (bounded), the bearer token; JSON answers, API errors, and refusing a raw socket with an
 * HTTP status. Every function here takes client input as hostile: none throws on malformed input
 * except with a LabError the caller answers. It routes nothing and decides nothing.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { API_ERRORS, type ApiError, type ApiErrorKind } from '../../contract/api.ts';
import { LabError } from './errors.ts';

/** A POST body is a lesson name; anything bigger than this is not one. */
export const MAX_BODY_BYTES = 16 * 1024;
/** Longest part of a client's input quoted in a log line. */
const LOG_QUOTE_CHARS = 120;

/** The request's URL, or undefined when it cannot be parsed (e.g. `//%`, which new URL throws on). */
export function parseUrl(raw: string | undefined): URL | undefined {
  try {
    return new URL(raw ?? '/', 'http://runner');
  } catch {
    return undefined;
  }
}

/**
 * A path segment, percent-decoded; a malformed escape ("%zz") decodes to nothing, which matches
 * no lab, host or exercise (decodeURIComponent would throw).
 */
export function decodeSegment(segment: string | undefined): string {
  try {
    return decodeURIComponent(segment ?? '');
  } catch {
    return '';
  }
}

export function bearer(req: http.IncomingMessage): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

/** The request's JSON body: 413 past MAX_BODY_BYTES, 400 when it is not JSON (the sentences show `example`, a body the route takes). */
export async function readJson(req: http.IncomingMessage, example = '{"lesson": "<lesson name>"}'): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new LabError(API_ERRORS.bodyTooLarge, `The request body is larger than ${MAX_BODY_BYTES} bytes; send only ${example}.`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new LabError(API_ERRORS.badJson, `The request body is not valid JSON. Send ${example}.`);
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendError(res: http.ServerResponse, kind: ApiErrorKind, message: string): void {
  if (res.headersSent) return void res.end();
  sendJson(res, kind.status, { error: kind.code, message } satisfies ApiError);
}

/**
 * How long a connection stays open, unread, after an answer that refuses the request's body
 * (ms): long enough for a client far away to read the answer (a few round trips), short enough
 * that a refused upload holds nothing for long.
 */
const REFUSED_BODY_GRACE_MS = 2_000;

/**
 * Refuse a request without reading its body (an upload over the limit): the whole answer goes
 * out at once, the body stays unread (the socket is paused by it), and the connection is cut a
 * moment later. Closing at once can reset the connection before the client read the answer;
 * reading the body, even to drop it, would take in what was refused.
 */
export function refuseUnread(req: http.IncomingMessage, res: http.ServerResponse, kind: ApiErrorKind, message: string): void {
  const text = JSON.stringify({ error: kind.code, message } satisfies ApiError);
  res.writeHead(kind.status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), connection: 'close' });
  res.write(text);
  setTimeout(() => {
    res.end();
    req.socket.destroy();
  }, REFUSED_BODY_GRACE_MS).unref();
}

/**
 * Answer a socket with an HTTP status and close it (a refused upgrade, or HTTP the parser gave
 * up on), as ws's own abortHandshake does: end it when it can still be written, destroy it once
 * the answer is out (a client that never reads must not keep it half-open), and destroy it at
 * once otherwise.
 */
export function refuseSocket(socket: Duplex, status: number, text = http.STATUS_CODES[status] ?? 'Error'): void {
  if (!socket.writable) return void socket.destroy();
  socket.once('finish', () => socket.destroy());
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

/** An error and where it came from, on one log line. */
export function oneLine(err: unknown): string {
  return String((err as Error)?.stack ?? err).replace(/\s*\n\s*/g, ' | ');
}

/** A client's input for a log line: quoted, cut short, on one line. */
export function quote(text: string | undefined): string {
  const s = JSON.stringify(text ?? '');
  return s.length > LOG_QUOTE_CHARS ? `${s.slice(0, LOG_QUOTE_CHARS)}…` : s;
}

/**
 * Text a person typed that others will read (a learner's name in the roster, the instructor's
 * message on every page): control characters and line breaks become spaces, runs of spaces one,
 * and it is cut to `max` characters. The pages put it in text nodes, never in HTML.
 */
export function cleanText(text: string, max: number): string {
  return [...text.replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ').replace(/\s+/g, ' ').trim()].slice(0, max).join('').trim();
}
