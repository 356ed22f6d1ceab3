import { spawn } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeListenError, listenProblem } from './listen.ts';

const MAIN = new URL('./main.ts', import.meta.url).pathname;

describe('a port in use', () => {
  const holder = net.createServer();
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    port = (holder.address() as net.AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

  it('names the address taken and the variables to set when another program holds the port', async () => {
    expect(await listenProblem('127.0.0.1', port)).toBe(`127.0.0.1:${port} is already in use (another program, or another runner): set PORT to a free port (for example PORT=${port + 1}) or HOST to another address, or stop what holds it.`);
  });

  it('stops the runner (main.ts) with exit 1 and that sentence, before it touches Docker, and with no stack trace', async () => {
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

  it('is null for a free port, and leaves it free', async () => {
    expect(await listenProblem('127.0.0.1', 0)).toBeNull();
    holder.close();
    expect(await listenProblem('127.0.0.1', port)).toBeNull();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
  });
});

describe('describeListenError', () => {
  it('says to set HOST for an address this machine lacks, PORT for a privileged port, in brackets for IPv6', () => {
    expect(describeListenError({ code: 'EADDRNOTAVAIL' }, '10.255.0.1', 4321)).toMatch(/^10\.255\.0\.1 is not an address of this machine: set HOST/);
    expect(describeListenError({ code: 'EACCES' }, '::1', 80)).toBe('This user may not listen on [::1]:80 (ports below 1024 need root): set PORT to 1024 or above.');
  });
});
