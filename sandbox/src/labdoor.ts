/**
 * The checks every lab socket makes before it upgrades (a terminal, a lab page's events, its
 * map): the path is the route's, the page's origin is allowed, and the token in the query is the
 * lab's. A failed check refuses the socket with its HTTP status: 400 for a URL that cannot be
 * parsed, 404 for another path or no such lab (a wrong token looks the same), 403 for a foreign
 * Origin, 401 without a token. What each kind of socket checks next (its host, its cap) is its own.
 */
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { decodeSegment, parseUrl, refuseSocket } from './http-io.ts';
import type { Lab, LabManager } from './labs.ts';

export interface AdmittedSocket {
  lab: Lab;
  /** The route pattern's groups after the lab id, percent-decoded (a terminal's host). */
  params: string[];
}

export function admitLabSocket(
  req: http.IncomingMessage,
  socket: Duplex,
  pattern: RegExp,
  labs: Pick<LabManager, 'authorize'>,
  allowsOrigin: (origin: string | undefined) => boolean,
): AdmittedSocket | undefined {
  const url = parseUrl(req.url);
  if (!url) return void refuseSocket(socket, 400);
  const match = pattern.exec(url.pathname);
  if (!match) return void refuseSocket(socket, 404);
  if (!allowsOrigin(req.headers.origin)) return void refuseSocket(socket, 403);
  const token = url.searchParams.get('token');
  if (!token) return void refuseSocket(socket, 401);
  const lab = labs.authorize(decodeSegment(match[1]), token);
  if (!lab) return void refuseSocket(socket, 404);
  return { lab, params: match.slice(2).map(decodeSegment) };
}
