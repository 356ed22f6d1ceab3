/**
 * Exercises and progress in headless Debian chromium against the built site served by a real
 * runner, in a real lab: Check says "not yet" and shows the hint before the task is done and
 * "passed" after the solution's Run button; the pass survives a reload, shows in the sidebar and
 * on the course overview, and Reset progress wipes it all. Without a lab, Check asks for one.
 * An exercise with a hidden setup (chapter 3's docker0-restore-masquerade, whose setup deletes the
 * default bridge's MASQUERADE rule): Check waits for Start exercise and says so without starting
 * a lab; Start exercise, from the keyboard, starts the lab and the exercise and says it is ready;
 * the check fails until the solution's Run button fixes the fault, passes after, and a reload
 * keeps the exercise started.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser } from './browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTES, type LabCreated } from '../contract/api.ts';
import { api, labObjects, startRunner, type RunningRunner } from '../sandbox/test/harness.ts';
import { PROGRESS_STORAGE_KEY } from '../src/client/progress.ts';
import { EXERCISE_ATTRS as X, EXERCISE_TAG, PROGRESS_ATTRS as P, sel } from '../contract/dom.ts';

const SLUG = '05-user-defined-bridges';
const LESSON = `/lessons/${SLUG}/`;
/** The lesson's two exercises, in page order. */
const FIRST = 'bridges-backend-by-name';
const SECOND = 'bridges-connect-legacy';
/** A check answers within its own timeout (20 s for these) plus the lab engine's start. */
const CHECK_ANSWER_MS = 40_000;
const SETUP_LESSON = '/lessons/03-default-bridge/';
const SETUP_EXERCISE = 'docker0-restore-masquerade';
/** Start exercise on a page without a lab: the lab starts, then its engine, then the setup runs. */
const START_ANSWER_MS = 60_000;

const exercise = (page: Page, id: string) => page.locator(`${EXERCISE_TAG}${sel(X.id, id)}`);
const statusOf = (ex: Locator) => ex.locator(sel(X.status)).innerText();
const rowsOf = (page: Page, host: string) => page.locator(`[role=tabpanel][data-host=${host}] .xterm-rows`);

/** Press Check and wait for its answer (the status line leaves "Checking…"); returns the status. */
async function check(ex: Locator): Promise<string> {
  await ex.locator(sel(X.check)).click();
  await expect.poll(() => statusOf(ex), { timeout: CHECK_ANSWER_MS }).not.toMatch(/^Checking/);
  return statusOf(ex);
}

describe('exercises and progress in a browser', () => {
  let runner: RunningRunner;
  let browser: Browser;
  let lab: LabCreated | undefined;
  beforeAll(async () => {
    runner = await startRunner();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    // Also when the test failed halfway: no lab may outlive it.
    if (lab) await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
    await browser?.close();
    await runner?.stop();
  });

  it('says "not yet" with the hint before the task, "passed" after the solution; the pass survives a reload, shows in the sidebar and on the overview, and Reset progress clears it', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await page.goto(runner.url + LESSON);
    const created = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/labs' && r.request().method() === 'POST');
    await page.click('[data-lab-start]');
    lab = (await (await created).json()) as LabCreated;
    const rows = page.locator('[role=tabpanel][data-host=host1] .xterm-rows');
    await expect.poll(() => rows.innerText(), { timeout: 30_000 }).toMatch(/root@host1:~#/);

    // The second exercise, before its task: not yet, with the hint and what the check printed.
    const second = exercise(page, SECOND);
    expect(await second.locator(sel(X.hint)).isVisible()).toBe(false);
    expect(await check(second)).toMatch(/not yet/i);
    expect(await second.getAttribute(X.result)).toBe('failed');
    expect(await second.locator(sel(X.hint)).isVisible()).toBe(true);
    expect(await second.locator(`${sel(X.output)} pre`).innerText()).toMatch(/legacy/);
    expect(await second.getAttribute(P.passed)).toBeNull();

    // The first exercise, done with its solution's Run button (inside "Show solution").
    const first = exercise(page, FIRST);
    const run = first.locator('details.exercise-solution .code-run');
    expect(await run.isVisible()).toBe(false);
    await first.locator('details.exercise-solution > summary').click();
    expect(await run.count()).toBe(1);
    await run.click();
    // `docker run -d` prints the container's 64-hex id once it is running (rows may wrap it).
    await expect.poll(async () => (await rows.innerText()).replace(/\n/g, ''), { timeout: 30_000 }).toMatch(/[0-9a-f]{64}/);
    // The web server may need a moment to listen after its container starts.
    const deadline = Date.now() + 20_000;
    let status = await check(first);
    while (!/passed/i.test(status) && Date.now() < deadline) {
      await page.waitForTimeout(1000);
      status = await check(first);
    }
    expect(status).toMatch(/passed/i);
    expect(await first.getAttribute(X.result)).toBe('passed');
    expect(await first.locator(sel(X.tick)).isVisible()).toBe(true);

    const sidebarLesson = page.locator(`.sidebar ${sel(P.lesson, SLUG)}`);
    // However many exercises the chapter has now: the sidebar counts them.
    const total = await page.locator(EXERCISE_TAG).count();
    expect(total).toBeGreaterThanOrEqual(2);
    const expectPassedOne = async () => {
      expect(await first.getAttribute(P.passed)).not.toBeNull();
      expect(await first.locator(sel(X.tick)).isVisible()).toBe(true);
      expect(await sidebarLesson.getAttribute(P.visited)).not.toBeNull();
      expect(await sidebarLesson.getAttribute(P.complete)).toBeNull();
      expect(await sidebarLesson.locator(sel(P.count)).textContent()).toBe(`1/${total}(1 of ${total} exercises passed)`);
    };
    await expectPassedOne();

    await page.reload();
    expect(await statusOf(first)).toMatch(/passed earlier/i);
    await expectPassedOne();
    expect(await second.getAttribute(P.passed)).toBeNull();

    // The overview: the exercise ticked, the other not; this chapter visited, the first one not.
    await page.goto(runner.url + '/');
    const main = page.locator('main');
    const card = (slug: string) => main.locator(sel(P.lesson, slug));
    const item = (id: string) => main.locator(sel(P.exercise, id));
    expect(await item(FIRST).getAttribute(P.passed)).not.toBeNull();
    expect(await item(FIRST).innerText()).toMatch(/A server other containers find by name/);
    expect(await item(SECOND).getAttribute(P.passed)).toBeNull();
    expect(await card(SLUG).getAttribute(P.visited)).not.toBeNull();
    expect(await card(SLUG).locator(sel(P.showWhen, 'visited')).isVisible()).toBe(true);
    expect(await card('00-how-this-course-works').getAttribute(P.visited)).toBeNull();
    expect(await page.evaluate((key) => localStorage.getItem(key), PROGRESS_STORAGE_KEY)).toContain(FIRST);

    // Reset asks first: dismissing keeps everything, accepting wipes it and the ticks at once.
    const reset = main.locator(sel(P.reset));
    page.once('dialog', (d) => void d.dismiss());
    await reset.click();
    expect(await item(FIRST).getAttribute(P.passed)).not.toBeNull();
    let confirmed = '';
    page.once('dialog', (d) => {
      confirmed = d.type();
      void d.accept();
    });
    await reset.click();
    expect(confirmed).toBe('confirm');
    expect(await page.locator(`${sel(P.passed)}, ${sel(P.visited)}, ${sel(P.complete)}`).count()).toBe(0);
    expect(await card(SLUG).locator(sel(P.showWhen, 'visited')).isVisible()).toBe(false);
    expect(await page.locator(`.sidebar ${sel(P.lesson, SLUG)} ${sel(P.count)}`).textContent()).toBe(`0/${total}(0 of ${total} exercises passed)`);
    expect(await main.locator(sel(P.resetStatus)).innerText()).toMatch(/progress reset/i);
    expect(await page.evaluate((key) => localStorage.getItem(key), PROGRESS_STORAGE_KEY)).toBeNull();
    await page.close();

    const stopped = await api(runner, 'DELETE', `/api/labs/${lab.id}`, { token: lab.token });
    expect(stopped.status).toBe(204);
    expect(await labObjects(lab.id)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    lab = undefined;
  });

  it('asks for a running lab instead of starting one when Check is pressed before Start lab', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    let labsCreated = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === '/api/labs' && r.method() === 'POST') labsCreated++;
    });
    await page.goto(runner.url + LESSON, { waitUntil: 'networkidle' });
    const first = exercise(page, FIRST);
    await first.locator(sel(X.check)).click();
    await expect.poll(() => statusOf(first)).toMatch(/start the lab and do the task first/i);
    expect(await first.locator(sel(X.hint)).isVisible()).toBe(false);
    expect(labsCreated).toBe(0);
    await page.close();
  });

  it('waits for Start exercise, which starts the lab and the exercise; the check fails until the solution runs, passes after, and a reload keeps it started', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    let labsCreated = 0;
    page.on('request', (r) => {
      if (new URL(r.url()).pathname === ROUTES.labs.path() && r.method() === 'POST') labsCreated++;
    });
    await page.goto(runner.url + SETUP_LESSON, { waitUntil: 'networkidle' });
    const ex = exercise(page, SETUP_EXERCISE);
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
    const started = page.waitForResponse((r) => new URL(r.url()).pathname.endsWith(`/setups/${SETUP_EXERCISE}`) && r.request().method() === 'POST');
    const created = page.waitForResponse((r) => new URL(r.url()).pathname === ROUTES.labs.path() && r.request().method() === 'POST');
    await start.focus();
    await page.keyboard.press('Enter');
    lab = (await (await created).json()) as LabCreated;
    expect((await started).status()).toBe(200);
    await expect.poll(() => statusOf(ex), { timeout: START_ANSWER_MS }).toMatch(/ready in your lab/);
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
    // The rule is in place once iptables has listed it.
    await expect.poll(() => rowsOf(page, 'host1').innerText(), { timeout: 30_000 }).toMatch(/-A POSTROUTING -s 172\.17\.0\.0\/16 ! -o docker0 -j MASQUERADE/);
    expect(await check(ex)).toMatch(/passed/i);

    // A reload finds the lab again, and the exercise started in it.
    await page.reload();
    await expect.poll(() => ex.getAttribute(X.started), { timeout: 30_000 }).not.toBeNull();
    expect(await start.isVisible()).toBe(false);
    expect(await checkButton.getAttribute('aria-disabled')).toBeNull();
    expect(await statusOf(ex)).toMatch(/ready in your lab/);
    expect((await runner.client.get(lab)).started).toEqual([SETUP_EXERCISE]);
    await page.close();

    expect((await api(runner, 'DELETE', ROUTES.lab.path(lab.id), { token: lab.token })).status).toBe(204);
    expect(await labObjects(lab.id)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    lab = undefined;
  });
});
