import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { INSTRUCTOR_ROUTES, ROUTES } from '../contract/api.ts';
import { FILE_ROUTES } from '../contract/files.ts';
import { CLIENT_MESSAGES, LAB_EVENTS, LAB_MAP, SERVER_MESSAGES, WATCH_MESSAGES } from '../contract/protocol.ts';
import { PROTOCOL_DOC, renderProtocolDoc } from './protocol-docs.ts';

describe('docs/protocol.md', () => {
  const doc = readFileSync(PROTOCOL_DOC, 'utf8');

  it('has the error and close code tables the contract makes (npm run docs:protocol rewrites them)', () => {
    expect(renderProtocolDoc(doc)).toBe(doc);
  });

  it('names every route and every message type of the contract', () => {
    for (const route of [...Object.values(ROUTES), ...Object.values(FILE_ROUTES), ...Object.values(INSTRUCTOR_ROUTES)]) expect(doc, route.template).toContain(route.template);
    const types = [...Object.values(CLIENT_MESSAGES), ...Object.values(SERVER_MESSAGES), ...Object.values(LAB_EVENTS), ...Object.values(WATCH_MESSAGES), ...Object.values(LAB_MAP)];
    for (const type of types) expect(doc, type).toContain(`"type":"${type}"`);
  });
});
