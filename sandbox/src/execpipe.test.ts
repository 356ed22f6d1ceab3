import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ExecPipe } from './execpipe.ts';

/** One frame of Docker's multiplexed stream: stream 1 is stdout, 2 stderr. */
const frame = (stream: number, text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

describe('a command in a lab host as a stream', () => {
  it('reads its stdout out of Docker\'s frames however they are cut, and drops stderr', async () => {
    const socket = new PassThrough();
    const pipe = new ExecPipe(socket);
    const bytes = Buffer.concat([frame(1, 'HTTP/1.1 200 OK\r\n'), frame(2, 'nc: warning'), frame(1, '\r\nhello')]);
    // One byte at a time: headers and payloads split anywhere.
    for (const b of bytes) socket.write(Buffer.from([b]));
    socket.end();
    const chunks: Buffer[] = [];
    for await (const chunk of pipe) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('HTTP/1.1 200 OK\r\n\r\nhello');
  });

  it('writes to its stdin as it is, and closes stdin when ended', async () => {
    const socket = new PassThrough();
    const pipe = new ExecPipe(socket);
    const written: Buffer[] = [];
    socket.on('data', (d: Buffer) => written.push(d));
    const ended = new Promise((resolve) => socket.on('finish', resolve));
    pipe.end('GET / HTTP/1.1\r\n\r\n');
    await ended;
    expect(Buffer.concat(written).toString()).toBe('GET / HTTP/1.1\r\n\r\n');
  });

  it('stops reading the engine\'s stream while its reader does not read', () => {
    const socket = new PassThrough();
    const pipe = new ExecPipe(socket);
    socket.write(frame(1, 'x'.repeat(64 * 1024)));
    expect(socket.isPaused()).toBe(true);
    pipe.read();
    expect(socket.isPaused()).toBe(false);
  });

  it('ends itself after a quiet spell when told to', async () => {
    const pipe = new ExecPipe(new PassThrough(), { idleMs: 20 });
    await new Promise((resolve) => pipe.once('close', resolve));
    expect(pipe.destroyed).toBe(true);
  });
});
