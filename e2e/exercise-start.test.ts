/**
 * An exercise with a hidden setup, in headless Debian chromium against the built site served by
 * a real runner, in a real lab (chapter 3's docker0-restore-masquerade, whose setup deletes the
 * default bridge's MASQUERADE rule): Check waits for Start exercise and says so without starting a
 * lab; Start exercise, from the keyboard, starts the lab and the exercise and says it is ready;
 * the check then fails until the solution's Run button fixes the fault, and passes after; a
 * reload keeps the exercise started.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser } from './browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type LabCreated } from '../contract/api.ts';
import { api, labObjects, startRunner, type RunningRunner } from '../sandbox/test/harness.ts';
import { EXERCISE_ATTRS as X, EXERCISE_TAG, sel } from '../contract/dom.ts';

const SLUG = '03-default-bridge';
const LESSON = `/lessons/${SLUG}/`;
const EXERCISE = 'docker0-restore-masquerade';
/** A check answers within its own timeout (20 s here) plus the lab engine's start. */
const ANSWER_MS = 60_000;

const statusOf = (ex: Locator) => ex.locator(sel(X.status)).innerText();
const rowsOf = (page: Page, host: string) => page.locator(`[role=tabpanel][data-host=${host}] .xterm-rows`);

/** Press Check and wait for its answer (the status line leaves "Checking…"); returns the status. */
async function check(ex: Locator): Promise<string> {
  await ex.locator(sel(X.check)).click();
  await expect.poll(() => statusOf(ex), { timeout: ANSWER_MS }).not.toMatch(/^Checking/);
  return statusOf(ex);
}

describe('an exercise with a setup in a browser', () => {
  let runner: RunningRunner;
  let browser: Browser;
  let lab: LabCreated | undefined;
  beforeAll(async () => {
    runner = await startRunner();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    // Also when the test failed halfway: no lab may outlive it.
    if (lab) await api(runner, 'DELETE', ROUTES.lab.path(lab.id), { token: lab.token });
    await browser?.close();
    await runner?.stop();
  });

  it('waits for Start exercise, which starts the lab and the exercise; the check fails until the solution runs, passes after, and a reload keeps it started', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    let labsCreated = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === ROUTES.labs.path() && r.method() === 'POST') labsCreated++;
    });
    await page.goto(runner.url + LESSON, { waitUntil: 'networkidle' });
    const ex = page.locator(`${EXERCISE_TAG}${sel(X.id, EXERCISE)}`);
    const start = ex.locator(sel(X.start));
    const checkButton = ex.locator(sel(X.check));

    // Before the start: Check is marked unavailable, says why when pressed, and starts no lab.
    expect(await start.isVisible()).toBe(true);
    expect(await checkButton.getAttribute('aria-disabled')).toBe('true');
    expect(await statusOf(ex)).toMatch(/press Start exercise first/i);
    // (From the keyboard: it stays focusable, as aria-disabled buttons do.)
    await checkButton.focus();
    await page.keyboard.press('Enter');
    expect(await statusOf(ex)).toMatch(/Press it first, then Check/);
    expect(labsCreated).toBe(0);

    // Start exercise from the keyboard: the lab starts, then the setup runs; focus moves to Check.
    const started = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith(`/setups/${EXERCISE}`) && r.request().method() === 'POST');
    const created = page.waitForResponse((r) => new URL(r.url()).pathname === ROUTES.labs.path() && r.request().method() === 'POST');
    await start.focus();
    await page.keyboard.press('Enter');
    lab = (await (await created).json()) as LabCreated;
    expect((await started).status()).toBe(200);
    await expect.poll(() => statusOf(ex), { timeout: ANSWER_MS }).toMatch(/ready in your lab/);
    expect(await ex.getAttribute(X.started)).not.toBeNull();
    expect(await start.isVisible()).toBe(false);
    expect(await checkButton.getAttribute('aria-disabled')).toBeNull();
    expect(await page.evaluate(() => document.activeElement?.hasAttribute('data-exercise-check'))).toBe(true);
    expect(labsCreated).toBe(1);

    // The page that the fault breaks: outside on host2, started with its Run button.
    const outsideBlock = page.locator('.code-block', { has: page.locator('pre', { hasText: '--name outside' }) }).first();
    await outsideBlock.locator('.code-run').click();
    await expect.poll(async () => (await rowsOf(page, 'host2').innerText()).replace(/\n/g, ''), { timeout: 30_000 }).toMatch(/[0-9a-f]{64}/);
    expect(await check(ex)).toMatch(/not yet/i);
    expect(await ex.getAttribute(X.result)).toBe('failed');

    // The solution's Run button puts the rule back; the check passes.
    await ex.locator('details.exercise-solution > summary').click();
    await ex.locator('details.exercise-solution .code-run').click();
    await expect.poll(() => rowsOf(page, 'host1').innerText(), { timeout: 30_000 }).toMatch(/-A POSTROUTING -s 172\.17\.0\.0\/16 ! -o docker0 -j MASQUERADE/);
    const deadline = Date.now() + 20_000;
    let status = await check(ex);
    while (!/passed/i.test(status) && Date.now() < deadline) {
      await page.waitForTimeout(1000);
      status = await check(ex);
    }
    expect(status).toMatch(/passed/i);

    // A reload finds the lab again, and the exercise started in it.
    await page.reload();
    await expect.poll(() => ex.getAttribute(X.started), { timeout: 30_000 }).not.toBeNull();
    expect(await start.isVisible()).toBe(false);
    expect(await checkButton.getAttribute('aria-disabled')).toBeNull();
    expect(await statusOf(ex)).toMatch(/ready in your lab/);
    expect((await runner.client.get(lab)).started).toEqual([EXERCISE]);
    await page.close();

    expect((await api(runner, 'DELETE', ROUTES.lab.path(lab.id), { token: lab.token })).status).toBe(204);
    expect(await labObjects(lab.id)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    lab = undefined;
  });
});
