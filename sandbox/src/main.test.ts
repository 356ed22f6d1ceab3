import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeListenError } from './listen.ts';

const MAIN = new URL('./main.ts', import.meta.url).pathname;

describe('the runner (main.ts) on a port in use', () => {
  const holder = net.createServer();
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('exits non-zero with the sentence naming the address and PORT/HOST, before it touches Docker, and no stack trace', async () => {
    // A Docker socket that does not exist: were the port checked after the engine, the output would say so.
    const env = { ...process.env, HOST: '127.0.0.1', PORT: String(port), DOCKER_HOST: 'unix:///run/no-docker-engine-for-this-test.sock' };
    const child = spawn(process.execPath, [MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(describeListenError({ code: 'EADDRINUSE' }, '127.0.0.1', port));
    expect(stderr).toContain(`127.0.0.1:${port} is already in use`);
    expect(stdout).not.toMatch(/Docker Engine/);
    expect(stdout + stderr).not.toMatch(/\n\s+at |EADDRINUSE/);
  });
});
