import { describe, expect, it } from 'vitest';
import { recipeKey } from './cache.ts';
import { PASSES, resultProblems, type GuestResult, type PassName } from './results.ts';
import { ROOT_RECIPE } from './rootimage.ts';

const passing: GuestResult = {
  engine: { version: '26.1.5+dfsg1', cgroupVersion: '2', cgroupDriver: 'systemd' },
  passes: (Object.keys(PASSES) as PassName[]).map((pass) => ({
    pass,
    privilegeMode: PASSES[pass].expectedMode,
    sandboxed: PASSES[pass].sandboxed,
    imageCopySeconds: pass === 'sandboxed' ? 120 : null,
    runnerStartSeconds: 40,
    steps: PASSES[pass].steps.map((name) => ({ name, ok: true, seconds: 10, detail: 'ok' })),
    leftovers: { containers: 0, networks: 0, volumes: 0 },
  })),
  error: null,
};
const problemsOf = (r: unknown) => resultProblems(JSON.stringify(r)).problems;
/** `passing` with the pass `name` changed by `change`. */
const withPass = (name: PassName, change: Partial<GuestResult['passes'][number]>): GuestResult => ({
  ...passing,
  passes: passing.passes.map((p) => (p.pass === name ? { ...p, ...change } : p)),
});

describe('the guest job\'s result', () => {
  it('passes with cgroup v2, every pass with its expected privilege choice and isolation, every step passed and nothing left', () => {
    expect(PASSES.auto.expectedMode).toBe('capabilities');
    expect(PASSES.privileged.expectedMode).toBe('privileged');
    expect(PASSES.sandboxed).toMatchObject({ env: { LAB_OWN_ENGINE: '1' }, expectedMode: 'capabilities', sandboxed: true });
    expect(PASSES.sandboxed.steps).toEqual(expect.arrayContaining(['sandboxed', 'nothing left', 'lab engine removed']));
    expect(problemsOf(passing)).toEqual([]);
  });

  it('fails on a guest engine with cgroup v1', () => {
    expect(problemsOf({ ...passing, engine: { ...passing.engine, cgroupVersion: '1' } })).toEqual([expect.stringContaining('cgroup version 1, not 2')]);
  });

  it('fails when auto\'s runner logged no privilege choice, or --privileged', () => {
    expect(problemsOf(withPass('auto', { privilegeMode: null }))).toEqual(['In the auto pass (LAB_HOST_PRIVILEGES=auto) the runner logged no privilege choice for lab hosts.']);
    expect(problemsOf(withPass('auto', { privilegeMode: 'privileged' }))).toEqual([expect.stringContaining('auto pass (LAB_HOST_PRIVILEGES=auto) the runner chose privileged for lab hosts where capabilities was expected')]);
  });

  it('fails when the privileged pass is missing, or its runner logged no choice or the capabilities form', () => {
    expect(problemsOf({ ...passing, passes: passing.passes.filter((p) => p.pass !== 'privileged') })).toEqual(['The privileged pass (LAB_HOST_PRIVILEGES=privileged) did not run.']);
    expect(problemsOf(withPass('privileged', { privilegeMode: null }))).toEqual(['In the privileged pass (LAB_HOST_PRIVILEGES=privileged) the runner logged no privilege choice for lab hosts.']);
    expect(problemsOf(withPass('privileged', { privilegeMode: 'capabilities' }))).toEqual([expect.stringContaining('privileged) the runner chose capabilities for lab hosts where privileged was expected')]);
  });

  it('fails when the sandboxed pass is missing, not sandboxed, not in the capabilities form, or left its lab engine', () => {
    const where = 'In the sandboxed pass (LAB_HOST_PRIVILEGES=auto LAB_OWN_ENGINE=1)';
    expect(problemsOf({ ...passing, passes: passing.passes.filter((p) => p.pass !== 'sandboxed') })).toEqual(['The sandboxed pass (LAB_HOST_PRIVILEGES=auto LAB_OWN_ENGINE=1) did not run.']);
    expect(problemsOf(withPass('sandboxed', { sandboxed: false }))).toEqual([`${where} the runner's health reported labs root-equivalent where sandboxed was expected.`]);
    expect(problemsOf(withPass('sandboxed', { sandboxed: null }))).toEqual([`${where} the runner's health reported no isolation.`]);
    expect(problemsOf(withPass('sandboxed', { privilegeMode: 'privileged' }))).toEqual([`${where} the runner chose privileged for lab hosts where capabilities was expected.`]);
    const sandboxed = passing.passes.find((p) => p.pass === 'sandboxed')!;
    const steps = sandboxed.steps.map((s) => (s.name === 'lab engine removed' ? { ...s, ok: false, detail: 'left: dnl-x-lab-engine' } : s));
    expect(problemsOf(withPass('sandboxed', { steps: steps.filter((s) => s.name !== 'sandboxed') }))).toEqual([
      `${where} the smoke step "sandboxed" did not run.`,
      `${where} the smoke step "lab engine removed" failed: left: dnl-x-lab-engine`,
    ]);
    expect(problemsOf(withPass('auto', { sandboxed: true }))).toEqual(['In the auto pass (LAB_HOST_PRIVILEGES=auto) the runner\'s health reported labs sandboxed where root-equivalent was expected.']);
  });

  it('fails on a failed or missing step of either pass, and on anything left after DELETE', () => {
    const auto = passing.passes[0]!;
    const steps = auto.steps.filter((s) => s.name !== 'pids limit').map((s) => (s.name === 'memory limit' ? { ...s, ok: false, detail: 'the hog ended with 0' } : s));
    expect(problemsOf(withPass('auto', { steps, leftovers: { containers: 1, networks: 0, volumes: 0 } }))).toEqual([
      'In the auto pass (LAB_HOST_PRIVILEGES=auto) the smoke step "memory limit" failed: the hog ended with 0',
      'In the auto pass (LAB_HOST_PRIVILEGES=auto) the smoke step "pids limit" did not run.',
      expect.stringContaining('still holds 1 container(s)'),
    ]);
    const privileged = passing.passes[1]!;
    expect(problemsOf(withPass('privileged', { steps: privileged.steps.filter((s) => s.name !== 'lab host cgroup v2') })))
      .toEqual(['In the privileged pass (LAB_HOST_PRIVILEGES=privileged) the smoke step "lab host cgroup v2" did not run.']);
  });

  it('fails with a sentence on no result, a malformed one, or one that stopped early', () => {
    expect(problemsOf(undefined)).toEqual(['The guest job wrote no readable result.json.']);
    expect(resultProblems('').problems).toEqual(['The guest job wrote no readable result.json.']);
    expect(problemsOf({ ...passing, passes: 'none' })[0]).toMatch(/^The guest job's result.json is malformed: passes: /);
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
