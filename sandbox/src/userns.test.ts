import { describe, expect, it } from 'vitest';
import { ISOLATION } from '../../contract/isolation.ts';
import { isolationOf, remapsUsers } from './userns.ts';

describe('the sandboxed mode', () => {
  it("is on only where docker info's security options list name=userns", () => {
    expect(remapsUsers({ SecurityOptions: ['name=seccomp,profile=default', 'name=userns'] })).toBe(true);
    expect(remapsUsers({ SecurityOptions: ['name=seccomp,profile=default', 'name=apparmor'] })).toBe(false);
    expect(remapsUsers({ SecurityOptions: ['name=rootless'] })).toBe(false);
    expect(remapsUsers({ SecurityOptions: null })).toBe(false);
    expect(remapsUsers({})).toBe(false);
  });

  it('is said in the words of contract/isolation.ts ISOLATION', () => {
    expect(isolationOf(true)).toEqual({ sandboxed: true, sentence: 'labs run as an unprivileged user on this machine' });
    expect(isolationOf(false)).toEqual({ sandboxed: false, sentence: ISOLATION.rootEquivalent });
    expect(ISOLATION.rootEquivalent).toBe('labs are root-equivalent on this machine: use a dedicated machine');
  });
});
