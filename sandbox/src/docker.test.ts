import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { engineAddress } from './docker.ts';

const withModem = (modem: object) => ({ modem }) as unknown as Docker;

describe('engineAddress', () => {
  it('names the socket path, also when docker-modem keeps it as a function that finds the socket (DOCKER_HOST unset)', () => {
    expect(engineAddress(withModem({ socketPath: () => Promise.resolve('/x') }))).toBe('/var/run/docker.sock');
    expect(engineAddress(withModem({ socketPath: () => Promise.resolve('/x'), socketPathCache: '/root/.docker/run/docker.sock' }))).toBe('/root/.docker/run/docker.sock');
    expect(engineAddress(withModem({ socketPath: '/run/other.sock' }))).toBe('/run/other.sock');
    expect(engineAddress(withModem({ host: '10.0.0.1', port: 2375 }))).toBe('10.0.0.1:2375');
  });
});
