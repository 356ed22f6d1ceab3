import { describe, expect, it } from 'vitest';
import { recipeKey } from './cache.ts';
import { EXPECTED_PRIVILEGE_MODE, resultProblems, SMOKE_STEPS, type GuestResult } from './results.ts';
import { ROOT_RECIPE } from './rootimage.ts';

const passing: GuestResult = {
  engine: { version: '26.1.5+dfsg1', cgroupVersion: '2', cgroupDriver: 'systemd' },
  privilegeMode: EXPECTED_PRIVILEGE_MODE,
  runnerStartSeconds: 40,
  steps: SMOKE_STEPS.map((name) => ({ name, ok: true, seconds: 10, detail: 'ok' })),
  leftovers: { containers: 0, networks: 0, volumes: 0 },
  error: null,
};
const problemsOf = (r: unknown) => resultProblems(JSON.stringify(r)).problems;

describe('the guest job\'s result', () => {
  it('passes with cgroup v2, the expected privilege choice, every step passed and nothing left', () => {
    expect(problemsOf(passing)).toEqual([]);
  });

  it('fails on a guest engine with cgroup v1', () => {
    expect(problemsOf({ ...passing, engine: { ...passing.engine, cgroupVersion: '1' } })).toEqual([expect.stringContaining('cgroup version 1, not 2')]);
  });

  it('fails when the runner logged no privilege choice, or another one', () => {
    expect(problemsOf({ ...passing, privilegeMode: null })).toEqual([expect.stringContaining('no privilege choice')]);
    const other = EXPECTED_PRIVILEGE_MODE === 'capabilities' ? 'privileged' : 'capabilities';
    expect(problemsOf({ ...passing, privilegeMode: other })).toEqual([expect.stringContaining(`chose ${other}`)]);
  });

  it('fails on a failed or missing step, and on anything left after DELETE', () => {
    const steps = passing.steps.filter((s) => s.name !== 'pids limit').map((s) => (s.name === 'memory limit' ? { ...s, ok: false, detail: 'the hog ended with 0' } : s));
    expect(problemsOf({ ...passing, steps, leftovers: { containers: 1, networks: 0, volumes: 0 } })).toEqual([
      'The smoke step "memory limit" failed: the hog ended with 0',
      'The smoke step "pids limit" did not run.',
      expect.stringContaining('still holds 1 container(s)'),
    ]);
  });

  it('fails with a sentence on no result, a malformed one, or one that stopped early', () => {
    expect(problemsOf(undefined)).toEqual(['The guest job wrote no readable result.json.']);
    expect(resultProblems('').problems).toEqual(['The guest job wrote no readable result.json.']);
    expect(problemsOf({ ...passing, steps: 'none' })[0]).toMatch(/^The guest job's result.json is malformed: steps: /);
    expect(problemsOf({ ...passing, error: 'the step "create lab" failed: 503' })).toEqual(['The smoke path stopped: the step "create lab" failed: 503']);
  });
});

describe('the guest disks\' cache key', () => {
  it('changes with anything in the root disk\'s recipe and only then', () => {
    expect(recipeKey(ROOT_RECIPE)).toBe(recipeKey(structuredClone(ROOT_RECIPE)));
    expect(recipeKey({ ...ROOT_RECIPE, packages: [...ROOT_RECIPE.packages, 'strace'] })).not.toBe(recipeKey(ROOT_RECIPE));
    expect(recipeKey({ ...ROOT_RECIPE, unit: `${ROOT_RECIPE.unit}\n` })).not.toBe(recipeKey(ROOT_RECIPE));
  });
});
