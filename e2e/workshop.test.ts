/**
 * Workshop limits in headless Debian chromium against the built site served by a real runner:
 * with an access code the lab panel asks for it (a wrong one is refused and forgotten, the
 * right one starts the lab and is remembered across a reload and in another tab, which then
 * takes over this browser's one lab); with a full runner, or too many starts from one address,
 * the panel shows the runner's own sentence.
 */
import type { Browser, Page, Response } from 'playwright-core';
import { launchBrowser } from './browser.ts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_CODE_HEADER, CLIENT_ID_PATTERN, type ApiError, type LabCreated } from '../contract/api.ts';
import { api, startRunner, type RunningRunner } from '../sandbox/test/harness.ts';

const SLUG = '05-user-defined-bridges';
const LESSON = `/lessons/${SLUG}/`;
const CODE = 'bridge-workshop-2041';
const PROMPT = /root@host1:~#/;
/** A new lab host starts its own Docker Engine; on a busy 2-core machine that can take a while. */
const LAB_START_MS = 45_000;

const status = (page: Page) => page.locator('[data-lab-status]').innerText();
const prompt = (page: Page) => page.locator('[role=tabpanel][data-host=host1] .xterm-rows').innerText();
const storage = (page: Page) => page.evaluate(() => ({ ...localStorage }));
const isCreate = (r: Response) => new URL(r.url()).pathname === '/api/labs' && r.request().method() === 'POST';

describe('a workshop runner in a browser', () => {
  let browser: Browser;
  let runner: RunningRunner | undefined;
  /** Every lab the test made, deleted after each test even when it failed halfway. */
  const labs: LabCreated[] = [];
  const track = (page: Page) =>
    page.on('response', async (r) => {
      if (isCreate(r) && r.status() === 201) labs.push((await r.json()) as LabCreated);
    });

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterEach(async () => {
    if (runner) for (const lab of labs.splice(0)) await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
    await runner?.stop();
    runner = undefined;
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('asks for the access code in the lab panel, refuses and forgets a wrong one, starts with the right one and remembers it; another tab takes over the lab', async () => {
    runner = await startRunner({ LAB_ACCESS_CODE: CODE });
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    track(page);
    await page.goto(runner.url + LESSON);
    const form = page.locator('[data-lab-code]');
    const input = page.getByLabel('Access code');
    expect(await form.isVisible()).toBe(false);

    // No code yet: the runner asks, the panel shows its sentence and the form, focus in the input.
    await page.click('[data-lab-start]');
    await form.waitFor({ state: 'visible' });
    expect(await status(page)).toBe('This workshop needs an access code to start a lab. Enter the code the organiser gave you.');
    expect(await input.getAttribute('type')).toBe('password');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('lab-code-input');
    expect(await page.locator('[data-lab-start]').isVisible()).toBe(false);

    // A wrong code (Enter submits): refused, not remembered, the form again.
    await input.fill('not-the-code');
    await input.press('Enter');
    await expect.poll(() => status(page)).toMatch(/That access code is not right/);
    await form.waitFor({ state: 'visible' });
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('lab-code-input');
    expect(Object.values(await storage(page))).not.toContain('not-the-code');

    // The right code (the form's Start lab button): the lab starts and the code is remembered.
    const created = page.waitForResponse((r) => isCreate(r) && r.status() === 201);
    await input.fill(CODE);
    await form.getByRole('button', { name: 'Start lab' }).click();
    expect((await created).request().headers()[ACCESS_CODE_HEADER]).toBe(CODE);
    await expect.poll(() => prompt(page), { timeout: LAB_START_MS }).toMatch(PROMPT);
    expect(await form.isVisible()).toBe(false);
    const stored = await storage(page);
    expect(Object.values(stored)).toContain(CODE);
    const client = Object.values(stored).find((v) => v !== CODE && CLIENT_ID_PATTERN.test(v));
    expect(client, `a client id in localStorage: ${JSON.stringify(stored)}`).toBeDefined();

    // Stop, reload, Start lab: no question asked.
    await page.click('[data-lab-stop]');
    await expect.poll(() => status(page)).toMatch(/^Lab stopped/);
    await page.reload();
    const again = page.waitForResponse((r) => isCreate(r));
    await page.click('[data-lab-start]');
    expect((await again).status()).toBe(201);
    await expect.poll(() => prompt(page), { timeout: LAB_START_MS }).toMatch(PROMPT);
    expect(await form.isVisible()).toBe(false);

    // Another tab of the same browser starts a lab (same client id, code remembered): the first
    // tab's lab is removed, and its panel says why and offers a new one.
    const other = await context.newPage();
    track(other);
    await other.goto(runner.url + LESSON);
    const third = other.waitForResponse((r) => isCreate(r));
    await other.click('[data-lab-start]');
    expect(JSON.parse((await third).request().postData() ?? '{}')).toMatchObject({ lesson: SLUG, client });
    await expect.poll(() => status(page), { timeout: LAB_START_MS }).toBe(
      'You started a lab in another tab or lesson of this browser, so this one was stopped (one lab per browser). Start a new lab to continue; you will need to repeat earlier steps.',
    );
    expect(await page.locator('[data-lab-start]').innerText()).toBe('Start a new lab');
    expect(await page.locator('[data-lab-start]').isVisible()).toBe(true);
    await expect.poll(() => prompt(other), { timeout: LAB_START_MS }).toMatch(PROMPT);
    await context.close();
  });

  it('shows the runner\'s own sentence when the workshop is full, and when an address started too many labs', async () => {
    // Two starts a minute from one address: the test's own lab takes one, the full answer the other.
    runner = await startRunner({ LAB_MAX_LABS: '1', LAB_CREATE_RATE: '2' });
    const taken = await api(runner, 'POST', '/api/labs', { body: { lesson: SLUG, client: 'another-browser-0001' } });
    expect(taken.status).toBe(201);
    labs.push(taken.json as LabCreated);

    const page = await browser.newPage();
    await page.goto(runner.url + LESSON);
    for (const [httpStatus, error] of [[503, 'capacity'], [429, 'rate_limited']] as const) {
      const answer = page.waitForResponse((r) => isCreate(r));
      await page.click('[data-lab-start]');
      const res = await answer;
      const body = (await res.json()) as ApiError;
      expect([res.status(), body.error]).toEqual([httpStatus, error]);
      if (error === 'capacity') expect(body.message).toBe('The workshop is full (1 of 1 labs in use); try again in a few minutes.');
      // Unchanged, in the panel's status line, with Start lab offered again.
      await expect.poll(() => status(page)).toBe(body.message);
      await expect.poll(() => page.locator('[data-lab-start]').getAttribute('aria-disabled')).toBe('false');
    }
    await page.close();
  });
});
