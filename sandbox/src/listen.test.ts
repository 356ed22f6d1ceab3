import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeListenError, listenProblem } from './listen.ts';

describe('listenProblem', () => {
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
