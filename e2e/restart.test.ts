/**
 * In headless Debian chromium against a real runner: the runner is killed (SIGKILL) while a
 * learner's page has a terminal open in which they wrote a file. The page says it is
 * reconnecting, the runner is started again, and the page is back in the same lab by itself,
 * with no new lab, within 10 s of the runner listening again: `cat` shows the file.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser } from './browser.ts';
import { startRunner, type RunningRunner } from '../sandbox/test/harness.ts';

const SLUG = '05-user-defined-bridges';
const LESSON = `/lessons/${SLUG}/`;
const TERMINAL = '[role=tabpanel][data-host=host1] .xterm-rows';
/** The bar for a restart: back in the same lab within this long after the runner listens again. */
const RECONNECT_LIMIT_MS = 10_000;
/** Starting a cold lab on a loaded 2-CPU machine. */
const LAB_START_MS = 60_000;

describe('a page whose lab server is killed and started again', () => {
  let browser: Browser;
  const runners: RunningRunner[] = [];
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    for (const r of runners) await r.stop();
  });

  it('shows that it is reconnecting, then reconnects to the same lab by itself, and the file written before is there', async () => {
    const first = await startRunner();
    runners.push(first);
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    const creates: string[] = [];
    page.on('request', (req) => {
      if (req.method() === 'POST' && new URL(req.url()).pathname === '/api/labs') creates.push(req.url());
    });
    await page.goto(first.url + LESSON);
    await page.click('[data-lab-start]');
    await expect.poll(() => page.locator(TERMINAL).innerText(), { timeout: LAB_START_MS }).toMatch(/root@host1:~#/);
    await page.locator('[role=tabpanel][data-host=host1] .xterm').click();
    await page.keyboard.type('echo kept-across-the-restart > notes.txt\n');
    await expect.poll(async () => (await page.locator(TERMINAL).innerText()).match(/root@host1:~#/g)?.length ?? 0).toBeGreaterThanOrEqual(2);

    await first.signal('SIGKILL');
    await expect.poll(() => page.locator('[data-lab-status]').innerText(), { timeout: 10_000 }).toMatch(/reconnecting/i);
    expect(await page.locator('[role=tab][data-host=host1]').getAttribute('data-state')).toBe('reconnecting');

    // Down for a few seconds, as a restart by a process manager would be.
    await new Promise((r) => setTimeout(r, 3_000));
    const second = await startRunner(first.env);
    runners.push(second);
    const back = performance.now();
    await expect.poll(() => page.locator('[role=tab][data-host=host1]').getAttribute('data-state'), { timeout: RECONNECT_LIMIT_MS, interval: 100 }).toBe('ready');
    const reconnectedMs = performance.now() - back;
    console.log(`page back in its lab ${Math.round(reconnectedMs)} ms after the new runner listened`);
    expect(reconnectedMs).toBeLessThan(RECONNECT_LIMIT_MS);

    await page.locator('[role=tabpanel][data-host=host1] .xterm').click();
    await page.keyboard.type('cat notes.txt\n');
    await expect.poll(() => page.locator(TERMINAL).innerText(), { timeout: 10_000 }).toMatch(/^kept-across-the-restart\s*$/m);
    expect(creates).toHaveLength(1);
    expect(second.output()).toMatch(/took over 1 lab\(s\)/);
    await page.close();
  });
});
