import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { describeDockerError, engineAddress } from './docker.ts';

const withModem = (modem: object) => ({ modem }) as unknown as Docker;

describe('engineAddress', () => {
  it('names the socket path, also when docker-modem keeps it as a function that finds the socket (DOCKER_HOST unset)', () => {
    expect(engineAddress(withModem({ socketPath: () => Promise.resolve('/x') }))).toBe('/var/run/docker.sock');
    expect(engineAddress(withModem({ socketPath: () => Promise.resolve('/x'), socketPathCache: '/root/.docker/run/docker.sock' }))).toBe('/root/.docker/run/docker.sock');
    expect(engineAddress(withModem({ socketPath: '/run/other.sock' }))).toBe('/run/other.sock');
    expect(engineAddress(withModem({ host: '10.0.0.1', port: 2375 }))).toBe('10.0.0.1:2375');
  });
});

describe('describeDockerError', () => {
  const socket = withModem({ socketPath: '/var/run/docker.sock' });

  it('says a socket this user may not open is a permission problem and how to get past it, not that Docker is down', () => {
    const denied = Object.assign(new Error('connect EACCES /var/run/docker.sock'), { code: 'EACCES' });
    expect(describeDockerError(denied, socket)).toBe('Docker Engine is not reachable: permission denied on /var/run/docker.sock: add your user to the docker group or run as root (a new group counts from your next login).');
  });

  it('says to start Docker when nothing listens on the socket', () => {
    for (const code of ['ENOENT', 'ECONNREFUSED']) {
      expect(describeDockerError(Object.assign(new Error(code), { code }), socket)).toBe('Docker Engine is not reachable at /var/run/docker.sock (nothing is listening there). Start Docker (dockerd) on this machine, then start the lab again.');
    }
  });
});
