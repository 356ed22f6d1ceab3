/**
 * A workshop's limits against a real runner and real labs: capacity, the per-address rate limit,
 * the access code, one lab per browser, another runtime, and a lab host that dies.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES, RUNNER_NOTICES, SERVER_MESSAGES } from '../../contract/protocol.ts';
import { ACCESS_CODE_HEADER } from '../../contract/api.ts';
import { labHostContainerName } from '../src/names.ts';
import { api, apiFrom, createLab, docker, labObjects, startRunner, TerminalClient, type RunningRunner, LESSONS, labFixtures } from './harness.ts';

const CODE = 'river-otter-42';

describe('a workshop runner', () => {
  let runner: RunningRunner | undefined;
  afterEach(async () => {
    await runner?.stop();
    runner = undefined;
  });

  it('refuses a lab beyond LAB_MAX_LABS with the "workshop is full" sentence, and takes one again after a lab ends', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_MAX_LABS: '1' });
    const first = await createLab(runner, LESSONS.oneHost);
    const full = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } });
    expect(full.status).toBe(503);
    expect(full.json).toEqual({ error: 'capacity', message: 'The workshop is full (1 of 1 labs in use); try again in a few minutes.' });
    expect((await api(runner, 'DELETE', `/api/labs/${first.id}`, { token: first.token })).status).toBe(204);
    expect((await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } })).status).toBe(201);
  });

  it('limits how many labs one address starts per minute, with Retry-After and a sentence', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_CREATE_RATE: '2' });
    // Unknown lessons cost a token too (nothing is created, so the test stays cheap).
    for (let i = 0; i < 2; i++) expect((await api(runner, 'POST', '/api/labs', { body: { lesson: 'none' } })).status).toBe(404);
    const limited = await api(runner, 'POST', '/api/labs', { body: { lesson: 'none' } });
    expect(limited.status).toBe(429);
    expect(limited.json.message).toMatch(/^Too many labs were started from your address in the last minute\. Wait \d+ seconds/);
    expect((await api(runner, 'GET', '/api/health')).status).toBe(200);
  });

  it('lets one address hold at most LAB_MAX_LABS_PER_ADDRESS labs (3 by default), and a second address still gets one', async () => {
    // The defaults, not the harness's loose test limits.
    runner = await startRunner({ ...labFixtures(), LAB_MAX_LABS_PER_ADDRESS: '', LAB_CREATE_RATE: '' });
    expect((await api(runner, 'GET', '/api/health')).json.maxLabsPerAddress).toBe(3);
    const mine = await Promise.all([1, 2, 3].map(() => apiFrom('127.0.0.1', runner!, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } })));
    expect(mine.map((r) => r.status)).toEqual([201, 201, 201]);
    const fourth = await apiFrom('127.0.0.1', runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } });
    expect(fourth.status).toBe(429);
    expect(fourth.json).toMatchObject({ error: 'address_full', message: expect.stringMatching(/^Your address already holds 3 labs, the most one address may have at once\. Stop a lab/) });
    const neighbour = await apiFrom('127.0.0.2', runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } });
    expect(neighbour.status).toBe(201);
    // Ending one of its labs gives the first address room again.
    expect((await api(runner, 'DELETE', `/api/labs/${mine[0]!.json.id}`, { token: mine[0]!.json.token })).status).toBe(204);
    expect((await apiFrom('127.0.0.1', runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } })).status).toBe(201);
  });

  it('behind a trusted proxy counts X-Forwarded-For from the right, so a client cannot choose its own address', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_TRUST_PROXY: '1', LAB_MAX_LABS_PER_ADDRESS: '1' });
    const as = (forwarded: string) => api(runner!, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost }, headers: { 'x-forwarded-for': forwarded } });
    expect((await as('198.51.100.1')).status).toBe(201);
    // The same client, claiming another address in front of what the proxy appended: still itself.
    const spoofed = await as('6.6.6.6, 198.51.100.1');
    expect(spoofed.status).toBe(429);
    expect(spoofed.json.error).toBe('address_full');
    expect((await as('198.51.100.2')).status).toBe(201);
  });

  it('asks for the access code when one is set, refuses a wrong one, and creates the lab with the right one', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_ACCESS_CODE: CODE });
    expect((await api(runner, 'GET', '/api/health')).json.accessCodeRequired).toBe(true);
    const missing = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } });
    expect(missing.status).toBe(401);
    expect(missing.json.error).toBe('access_code_required');
    const wrong = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost }, headers: { [ACCESS_CODE_HEADER]: 'river-otter-43' } });
    expect(wrong.status).toBe(403);
    expect(wrong.json.message).toMatch(/access code is not right/);
    const ok = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost }, headers: { [ACCESS_CODE_HEADER]: CODE } });
    expect(ok.status).toBe(201);
  });

  it("keeps one lab per browser: a browser's new lab ends its previous one, and tells that lab's terminal why", async () => {
    runner = await startRunner(labFixtures());
    const client = 'browser-aaaaaaaaaaaaaaaa';
    const first = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost, client } });
    const other = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost, client: 'browser-bbbbbbbbbbbbbbbb' } });
    const term = await TerminalClient.open(runner, first.json, 'host1');
    await term.waitForPrompt();
    const second = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost, client } });
    expect(second.status).toBe(201);
    expect(await term.waitClosed()).toBe(CLOSE_CODES.labGone);
    expect(term.messages.find((m) => m.type === SERVER_MESSAGES.error)).toMatchObject({ message: expect.stringMatching(/one lab per browser/), code: RUNNER_NOTICES.anotherTab });
    expect((await api(runner, 'GET', `/api/labs/${first.json.id}`, { token: first.json.token })).status).toBe(404);
    expect(await labObjects(first.json.id)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    // Another browser's lab is untouched.
    expect((await api(runner, 'GET', `/api/labs/${other.json.id}`, { token: other.json.token })).status).toBe(200);
    expect((await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost, client: 'no!' } })).status).toBe(400);
  });

  it('runs lab hosts under LAB_RUNTIME without extra privileges, and says so in words when the engine has no such runtime', async () => {
    // sysbox-runc is not installable here: take a runtime the engine knows other than its default
    // (runc under another name, e.g. io.containerd.runc.v2). Under it, without privileges, the
    // inner engine cannot start, which is not what this looks at.
    const info = await docker.info();
    const other = Object.keys(info.Runtimes ?? {}).find((r) => r !== info.DefaultRuntime);
    expect(other, 'the engine lists a runtime besides its default').toBeDefined();
    runner = await startRunner({ ...labFixtures(), LAB_RUNTIME: other! });
    const lab = await createLab(runner, LESSONS.oneHost);
    const host = (await docker.getContainer(labHostContainerName(lab.id, 'host1')).inspect()).HostConfig;
    expect(host.Runtime).toBe(other);
    expect(host.Privileged).toBe(false);
    expect(host.CapAdd ?? []).toEqual([]);
    expect(host.SecurityOpt ?? []).toEqual([]);
    await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
    await runner.stop();

    runner = await startRunner({ ...labFixtures(), LAB_RUNTIME: 'no-such-runtime' });
    const res = await api(runner, 'POST', '/api/labs', { body: { lesson: LESSONS.oneHost } });
    expect(res.status).toBe(503);
    expect(res.json.message).toMatch(/no-such-runtime/);
  });

  it('reports a lab host that dies in its terminal, and removes the lab', async () => {
    runner = await startRunner({ ...labFixtures(), LAB_SWEEP_INTERVAL: '1' });
    const lab = await createLab(runner, LESSONS.oneHost);
    const term = await TerminalClient.open(runner, lab, 'host1');
    await term.waitForPrompt();
    await docker.getContainer(labHostContainerName(lab.id, 'host1')).kill();
    // Whichever notices first says it: the terminal (its shell's stream ended) or the sweeper
    // (the lab host is not running), which then removes the lab.
    expect([CLOSE_CODES.hostFailed, CLOSE_CODES.labGone]).toContain(await term.waitClosed());
    expect(term.messages.find((m) => m.type === SERVER_MESSAGES.error)).toMatchObject({
      message: expect.stringMatching(/^Lab host host1 stopped \((exit code 137|Exited \(137\))/),
      code: expect.stringMatching(new RegExp(`^(${RUNNER_NOTICES.hostExited}|${RUNNER_NOTICES.hostStopped})$`)),
    });
    await expect.poll(async () => (await api(runner!, 'GET', `/api/labs/${lab.id}`, { token: lab.token })).status, { timeout: 10_000 }).toBe(404);
    await expect.poll(() => labObjects(lab.id), { timeout: 10_000 }).toEqual({ containers: 0, networks: 0, volumes: 0 });
  });
});
