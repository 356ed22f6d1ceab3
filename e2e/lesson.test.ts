/**
 * In headless Debian chromium against the built site served by a real runner (with a warm pool): the bridge lesson
 * loads little JS and no xterm before Start lab; Start lab, then a Run button, puts the
 * command's real output in the terminal.
 */
import type { Browser } from 'playwright-core';
import { launchBrowser, scriptsLoadedBy } from './browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startRunner, type RunningRunner } from '../sandbox/test/harness.ts';

const LESSON = '/lessons/05-user-defined-bridges/';
/**
 * Budget for JS a lesson page loads before Start lab (the test prints what it measured); xterm alone is over 300 KB.
 * 30 KB until the course had two languages; the page's words now come as a catalogue block (about 5 KB
 * of English) and the header has a language switch: 37 KB measured then.
 */
const MAX_JS_BEFORE_START = 40 * 1024;
/** Time for the warm pool to fill: one lab per shape the course uses, about 3 s each, two at once. */
const POOL_FILL_MS = 60_000;

describe('the bridge lesson in a browser', () => {
  let runner: RunningRunner;
  let browser: Browser;
  beforeAll(async () => {
    // With a warm pool, as `npm start` runs: the lab comes from it, with its shells started ahead.
    runner = await startRunner({ LAB_POOL_SIZE: '1' });
    const deadline = Date.now() + POOL_FILL_MS;
    while ((await api(runner, 'GET', '/api/health')).json.pool.starting > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await runner?.stop();
  });

  it('loads a small amount of JS and no xterm before Start lab, then runs a Run button\'s command in the lab terminal', async () => {
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const scripts = await scriptsLoadedBy(page, runner.url + LESSON);
    const jsBefore = scripts.reduce((n, s) => n + s.bytes, 0);
    console.log(`JS before Start lab: ${jsBefore} bytes in ${scripts.length} files`);
    expect(jsBefore).toBeLessThan(MAX_JS_BEFORE_START);
    expect(await page.evaluate(() => !!document.querySelector('.xterm'))).toBe(false);
    const xtermLoadedBefore = await page.evaluate(() => performance.getEntriesByType('resource').some((e) => /xterm/i.test(e.name)));
    expect(xtermLoadedBefore).toBe(false);

    await page.click('[data-lab-start]');
    await page.locator('[role=tabpanel][data-host=host1] .xterm-rows').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('[role=tabpanel][data-host=host1] .xterm-rows').innerText(), { timeout: 30_000 }).toMatch(/root@host1:~#/);

    // The first Run button of the lesson runs `docker network ls`.
    const run = page.locator('pre[data-run]').filter({ hasText: 'docker network ls' }).first().locator('xpath=ancestor::*[contains(@class,"code-block")]').locator('.code-run');
    await run.click();
    await expect.poll(() => page.locator('[role=tabpanel][data-host=host1] .xterm-rows').innerText(), { timeout: 30_000 }).toMatch(/none\s+null\s+local/);
    expect(runner.output()).toMatch(/taken from the warm pool for 05-user-defined-bridges/);
    // The shell was started ahead at 80x24; the terminal's own size reached it when it adopted it.
    await page.locator('[role=tabpanel][data-host=host1] .xterm').click();
    await page.keyboard.type('stty size\n');
    await expect.poll(() => page.locator('[role=tabpanel][data-host=host1] .xterm-rows').innerText(), { timeout: 10_000 }).toMatch(/^\d+ \d+\s*$/m);
    const size = /^(\d+ \d+)\s*$/m.exec(await page.locator('[role=tabpanel][data-host=host1] .xterm-rows').innerText())![1];
    expect(size).not.toBe('24 80');
    await page.click('[data-lab-stop]');
    await page.close();
  });

  it('says in words that labs are unavailable when the lab server cannot start one', async () => {
    const page = await browser.newPage();
    await page.route('**/api/labs', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: JSON.stringify({ error: 'docker_error', message: 'Docker Engine is not reachable at /var/run/docker.sock (nothing is listening there).' }) }));
    await page.goto(runner.url + LESSON);
    await page.click('[data-lab-start]');
    await expect.poll(() => page.locator('[data-lab-status]').innerText()).toMatch(/Docker Engine is not reachable/);
    await page.close();
  });
});
