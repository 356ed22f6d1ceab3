/**
 * docs/protocol.md's tables of error codes and close codes are made from the contract
 * (contract/api.ts API_ERRORS, contract/protocol.ts CLOSE_CODES), between marker comments, so
 * the document cannot miss an answer the runner gives. `npm run docs:protocol` rewrites them;
 * scripts/protocol-docs.test.ts fails when they are out of date, or when the prose misses a
 * route or a message type.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_ERRORS } from '../contract/api.ts';
import { CLOSE_CODES } from '../contract/protocol.ts';

export const PROTOCOL_DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../docs/protocol.md');

/** What each close code means, for the document (the contract's comments, as sentences). */
const CLOSE_CODE_DOCS: Record<keyof typeof CLOSE_CODES, string> = {
  normal: 'normal close',
  goingAway: 'the runner is stopping; the lab is kept: reconnect, with backoff, until the runner is back',
  policy: 'a malformed or unknown control message',
  tooBig: 'a frame over 64 KiB',
  exited: 'the shell exited; reconnecting opens a new shell',
  labGone: 'the lab is gone: do not reconnect, start a new lab',
  hostFailed: 'the lab host or its engine failed; the `error` message before it says why',
};

/** The generated sections, by marker name. */
export function generatedSections(): Record<string, string> {
  const errors = Object.values(API_ERRORS)
    .map((e) => `| \`${e.status}\` | \`${e.code}\` | ${e.doc} |`)
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
