import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_CODE_HEADER, API_ERRORS, type LabCreated } from '../../contract/api.ts';
import { LabApiError, LabClient } from './lab-client.ts';

const LAB: LabCreated = { id: 'lab1', token: 'secret', lesson: 'demo', hosts: ['host1'], engine: { id: '28', version: '28.5.2' }, expiresAt: '2030-01-01T00:00:00Z', idleTimeoutSeconds: 60 };

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  from?: string;
}

/** A stand-in runner on loopback: records each request, answers what the test set in `next`. */
describe('the lab API client', () => {
  let server: http.Server;
  let url: string;
  let seen: Seen;
  let next: { status: number; body: string; type?: string };
  const answer = (status: number, body: unknown) => (next = { status, body: JSON.stringify(body), type: 'application/json' });

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        seen = { method: req.method, url: req.url, headers: req.headers, body, from: req.socket.remoteAddress };
        res.writeHead(next.status, next.type ? { 'content-type': next.type } : {}).end(next.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('creates a lab with the lesson, the browser id and the access code, and answers the body', async () => {
    answer(201, LAB);
    expect(await new LabClient(url).create('demo', { client: 'browser-aaaaaaaaaaaaaaaa', accessCode: 'otter' })).toEqual(LAB);
    expect(seen).toMatchObject({ method: 'POST', url: '/api/labs', body: '{"lesson":"demo","client":"browser-aaaaaaaaaaaaaaaa"}' });
    expect(seen.headers).toMatchObject({ 'content-type': 'application/json', [ACCESS_CODE_HEADER]: 'otter' });
  });

  it('sends the lab token as a Bearer for a check, and from the local address it was given', async () => {
    answer(200, { exercise: 'ex', status: 'passed', passed: true, message: 'Passed: ex.', output: '', durationMs: 5 });
    expect((await new LabClient(url, { localAddress: '127.0.0.2' }).check(LAB, 'ex')).passed).toBe(true);
    expect(seen).toMatchObject({ method: 'POST', url: '/api/labs/lab1/checks/ex', from: '127.0.0.2' });
    expect(seen.headers.authorization).toBe('Bearer secret');
  });

  it('keeps the runner\'s error code and sentence when it refuses', async () => {
    answer(API_ERRORS.capacity.status, { error: API_ERRORS.capacity.code, message: 'The workshop is full.' });
    const err = await new LabClient(url).create('demo').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabApiError);
    expect(err).toMatchObject({ status: 503, code: 'capacity', sentence: 'The workshop is full.', message: 'POST /api/labs answered 503 capacity: The workshop is full.' });
  });

  it('quotes a body that is not the API\'s error JSON', async () => {
    next = { status: 502, body: 'Bad Gateway' };
    await expect(new LabClient(url).health()).rejects.toMatchObject({ status: 502, code: undefined, sentence: undefined, message: 'GET /api/health answered 502: Bad Gateway' });
  });

  it('takes a lab that is already gone as deleted, and throws on other refusals', async () => {
    answer(API_ERRORS.labNotFound.status, { error: API_ERRORS.labNotFound.code, message: 'Gone.' });
    await new LabClient(url).delete(LAB);
    expect(seen).toMatchObject({ method: 'DELETE', url: '/api/labs/lab1' });
    answer(API_ERRORS.forbiddenOrigin.status, { error: API_ERRORS.forbiddenOrigin.code, message: 'No.' });
    await expect(new LabClient(url).delete(LAB)).rejects.toMatchObject({ code: API_ERRORS.forbiddenOrigin.code });
  });

  it('sends a raw request as fetch would, and answers whatever came back', async () => {
    next = { status: 404, body: 'not here' };
    const res = await new LabClient(url).request('GET', '/%2e%2e/.lab/lab-manifest.json');
    expect(seen.url).toBe('/.lab/lab-manifest.json');
    expect(res).toMatchObject({ status: 404, text: 'not here', json: undefined });
    answer(400, { error: 'bad_json', message: 'Not JSON.' });
    expect((await new LabClient(url).request('POST', '/api/labs', { body: '{not json' })).json).toEqual({ error: 'bad_json', message: 'Not JSON.' });
    expect(seen.body).toBe('{not json');
  });
});
