import { describe, expect, it } from 'vitest';
import { parseListing } from './hostwatch.ts';

describe('a lab host engine\'s container listing', () => {
  it('gives each container its name and the ports it publishes', () => {
    const listing = JSON.stringify([
      { Id: 'a1', Names: ['/web1'], Ports: [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }], State: 'running' },
      { Id: 'b2', Names: ['/quiet'], Ports: null },
    ]);
    expect(parseListing(listing)).toEqual([
      { id: 'a1', name: 'web1', ports: [{ address: '0.0.0.0', port: 8080, containerPort: 80, protocol: 'tcp' }, { address: '::', port: 8080, containerPort: 80, protocol: 'tcp' }] },
      { id: 'b2', name: 'quiet', ports: [] },
    ]);
  });

  it('is no listing when a learner\'s engine (or a fake one) answers anything else', () => {
    for (const output of ['', 'Cannot connect to the Docker daemon', '{"message":"page not found"}', '[{"Id": 5}]', '[{"Id":"a","Ports":[{"PrivatePort":80,"PublicPort":99999,"Type":"tcp"}]}]', '[{"Id":"a"', `[${'{"Id":"a"},'.repeat(5000)}{"Id":"a"}]`]) {
      expect(parseListing(output)).toBeUndefined();
    }
  });
});
