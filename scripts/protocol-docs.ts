/**
 * docs/protocol.md's tables of error codes and close codes are made from the contract
 * (contract/api.ts API_ERRORS and contract/files.ts FILE_ERRORS, contract/protocol.ts CLOSE_CODES), between marker comments, so
 * the document cannot miss an answer the runner gives. `npm run docs:protocol` rewrites them;
 * scripts/protocol-docs.test.ts fails when they are out of date, or when the prose misses a
 * route or a message type.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_ERRORS } from '../contract/api.ts';
import { FILE_ERRORS } from '../contract/files.ts';
import { CLOSE_CODES } from '../contract/protocol.ts';

export const PROTOCOL_DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/protocol.md');

/** Every error the runner answers with, in the document's order: the API's, then the Files API's. */
const ERRORS = { ...API_ERRORS, ...FILE_ERRORS };

/** When each API error happens, for the document: every one of ERRORS must have a line. */
const ERROR_DOCS: Record<keyof typeof ERRORS, string> = {
  badUrl: 'the request URL cannot be parsed',
  badJson: 'the request body is not JSON',
  badRequest: 'the body has no lesson, a malformed `client`, or an `engine` the runner does not offer (the sentence names those it does); a file upload without Content-Length, or cut short before all its bytes arrived',
  accessCodeRequired: 'the runner has an access code (LAB_ACCESS_CODE) and the `X-Lab-Access-Code` header is missing',
  accessCodeWrong: 'the access code sent is not the runner\'s',
  instructorOff: 'an instructor route, and the runner has no LAB_INSTRUCTOR_CODE (the dashboard is off)',
  signInRequired: 'an instructor route without a valid session cookie (sign in at /instructor/)',
  instructorCodeWrong: 'signing in with a code that is not LAB_INSTRUCTOR_CODE (wrong codes are also rate limited: `rate_limited`)',
  forbiddenOrigin: 'a request other than GET from a page of another origin (not the runner\'s, not in LAB_ALLOWED_ORIGINS)',
  notFound: 'no route of the API has this method and path',
  unknownLesson: 'no lesson of that name has a lab',
  labNotFound: 'the lab is gone, or the token is not this lab\'s (the two are not told apart)',
  exerciseNotFound: 'the lab\'s lesson has no exercise of that id',
  noSetup: 'starting an exercise that has no setup (its task needs no start: do it, then check)',
  checkRunning: 'a check or a start while a check runs in the same lab',
  setupRunning: 'a check or a start while an exercise\'s setup runs in the same lab',
  setupFailed: 'the exercise\'s setup exited non-zero or ran over 60 s (usually: the lesson\'s steps before it were not run in this lab); nothing is recorded, so it can be started again',
  roomTooLarge: 'warming for a room asks for more labs than LAB_MAX_LABS or the machine\'s memory holds (the sentence says how many fit)',
  bodyTooLarge: 'the request body is over 16 KiB',
  rateLimited: 'this address started LAB_CREATE_RATE labs in the last minute (with `Retry-After`); a lab with 8 Files requests under way gets it for a ninth',
  addressFull: 'this address already holds LAB_MAX_LABS_PER_ADDRESS labs',
  internal: 'an error the runner did not expect (logged); the runner keeps serving',
  capacity: 'LAB_MAX_LABS labs exist ("The workshop is full")',
  imageMissing: 'the lab host image of the engine is not built, or still being built (`preparing`)',
  noSubnet: 'no free subnet is left in LAB_SUBNET_POOL',
  bridgeSetup: 'IPv6 could not be switched off on the lab\'s bridge, so the lab was not started',
  dockerError: 'the Docker Engine is not reachable or refused a request (the sentence says which)',
  checkFailed: 'the lab host could not run the check',
  cellUnreachable: 'the lab lives on another machine of the workshop (a cell, LAB_CELL) that does not answer now, e.g. while it restarts: try again in a minute',
  fileNotFound: 'a Files route names a file or folder the lab host does not have (for a write or a new folder: its parent folder)',
  filePermission: 'the lab host refuses the change: the place is read-only (the host\'s root filesystem is, apart from /root, /tmp, /home and the like) or a special file',
  notADirectory: 'a listing of a file, or a path through a file as if it were a folder',
  isADirectory: 'reading or writing a folder as a file',
  fileTooBig: 'a file\'s content over LAB_FILE_UPLOAD_MAX (the sentence names the limit)',
  fileChanged: 'a write with `If-Match` whose version is no longer the file\'s (it changed on the host since it was read)',
  fileExists: 'a write with `If-None-Match: *`, a new folder or a move onto a path that exists',
  badPath: 'a path that is empty, holds a NUL byte or a malformed escape, or is over 4096 bytes',
};

/** What each close code means, for the document (the contract's comments, as sentences). */
const CLOSE_CODE_DOCS: Record<keyof typeof CLOSE_CODES, string> = {
  normal: 'normal close',
  goingAway: 'the runner is stopping; the lab is kept: reconnect, with backoff, until the runner is back',
  policy: 'a malformed or unknown control message',
  tooBig: 'a frame over 64 KiB (over 1 KiB on the lab event and watch sockets, which take none)',
  tryAgainLater: 'an instructor\'s watch fell too far behind the learner\'s output; open the watch again',
  exited: 'the shell exited; reconnecting opens a new shell',
  labGone: 'the lab is gone: do not reconnect, start a new lab',
  hostFailed: 'the lab host or its engine failed; the `error` message before it says why',
};

/** The generated sections, by marker name. */
export function generatedSections(): Record<string, string> {
  const errors = (Object.entries(ERRORS) as Array<[keyof typeof ERRORS, (typeof ERRORS)[keyof typeof ERRORS]]>)
    .map(([name, e]) => `| \`${e.status}\` | \`${e.code}\` | ${ERROR_DOCS[name]} |`)
    .join('\n');
  const closes = (Object.entries(CLOSE_CODES) as Array<[keyof typeof CLOSE_CODES, number]>)
    .map(([name, code]) => `| \`${code}\` | ${CLOSE_CODE_DOCS[name]} |`)
    .join('\n');
  return {
    errors: `| status | error | when |\n|---|---|---|\n${errors}`,
    'close-codes': `| code | meaning |\n|---|---|\n${closes}`,
  };
}

const marker = (name: string) => new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);

/** The document with its generated sections made anew. */
export function renderProtocolDoc(text: string): string {
  let out = text;
  for (const [name, body] of Object.entries(generatedSections())) {
    if (!marker(name).test(out)) throw new Error(`docs/protocol.md has no <!-- generated:${name} --> section`);
    out = out.replace(marker(name), `$1\n${body}\n$2`);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = readFileSync(PROTOCOL_DOC, 'utf8');
  writeFileSync(PROTOCOL_DOC, renderProtocolDoc(text));
  console.log('docs/protocol.md: error and close code tables written from the contract.');
}
