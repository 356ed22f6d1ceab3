/**
 * Accessibility, in headless Debian chromium against the built site served by a real runner: axe-core
 * (the standard engine, from node_modules) finds no violation on a lesson page before and after Start
 * lab, in the light and the dark theme, and on an exercise before and after Start exercise; the keyboard
 * alone reaches the lab's tabs and leaves a terminal.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { axeViolations } from './axe.ts';
import { launchBrowser } from './browser.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRunner, type RunningRunner } from '../sandbox/test/harness.ts';

const LESSON = '/lessons/05-user-defined-bridges/';
/** A lesson with an exercise that has a hidden setup (a Start exercise button). */
const SETUP_LESSON = '/lessons/03-default-bridge/';
const SETUP_EXERCISE = 'docker0-restore-masquerade';
/** A lesson whose lab has two hosts, for the tab strip's keys. */
const TWO_HOSTS = '/lessons/02-bridge-from-scratch/';
const terminal = (host: string) => `[role=tabpanel][data-host=${host}]`;
/** Where keyboard focus is: the host whose terminal has it, or the focused element's role and text. */
const focusIsAt = (page: Page) =>
  page.evaluate(() => {
    const e = document.activeElement;
    const inTerminal = e?.closest('.xterm') ? e.closest('[role=tabpanel]')?.getAttribute('data-host') : undefined;
    return inTerminal ? `terminal ${inTerminal}` : `${e?.getAttribute('role') ?? e?.tagName.toLowerCase()} ${e?.textContent?.trim()}`;
  });
/** A shell line printing "dim-sample" dim, then colour-0 to colour-15 in their ANSI colours (dim too for the first 8). */
const COLOUR_SAMPLE = String.raw`printf '\e[2mdim-sample\e[0m'; for i in $(seq 0 15); do printf ' \e[38;5;%dmcolour-%d\e[0m' $i $i; done; for i in $(seq 0 7); do printf ' \e[2;3%dmdim-%d\e[0m' $i $i; done; echo`;
describe('accessibility of a lesson page and its lab panel', () => {
  let runner: RunningRunner;
  let browser: Browser;
  beforeAll(async () => {
    // With an instructor code the room strip (Ask for help, the name form) shows while a lab runs.
    runner = await startRunner({ LAB_INSTRUCTOR_CODE: 'a11y-instructor-code' });
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await runner?.stop();
  });

  const newPage = async (theme: 'light' | 'dark'): Promise<{ context: BrowserContext; page: Page }> => {
    // The page follows the system's colour scheme when the learner has not picked one.
    const context = await browser.newContext({ bypassCSP: true, colorScheme: theme, viewport: { width: 1440, height: 900 } });
    return { context, page: await context.newPage() };
  };

  for (const theme of ['light', 'dark'] as const) {
    it(`axe finds no violation on the lesson page in the ${theme} theme, before and after Start lab, with the map open`, async () => {
      const { context, page } = await newPage(theme);
      await page.goto(runner.url + LESSON, { waitUntil: 'networkidle' });
      expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe(theme);
      expect.soft(await axeViolations(page), 'before Start lab').toEqual([]);

      await page.click('[data-lab-start]');
      await expect.poll(() => page.locator(`${terminal('host1')} .xterm-rows`).innerText(), { timeout: 60_000 }).toMatch(/root@host1:~#/);
      // The room strip is part of what axe looks at: Ask for help and the name form show with an instructor.
      await page.locator('[data-lab-help]').waitFor({ state: 'visible' });
      expect.soft(await axeViolations(page), 'after Start lab').toEqual([]);

      // What programs print counts too: dim text (the panel's own notes are dim) and the 16 ANSI colours, plain and dim.
      await page.keyboard.type(`${COLOUR_SAMPLE}\n`);
      await expect.poll(() => page.locator(`${terminal('host1')} .xterm-rows`).innerText()).toMatch(/\bdim-7\s*$/m);
      expect(await axeViolations(page), 'after printing dim and coloured text').toEqual([]);

      // The map joins the panel: its drawing, its list and a chosen node's details.
      await page.getByRole('tab', { name: 'Map' }).click();
      const node = page.locator('#lab-map-panel .lab-map-drawing [data-map-node="net:host1/bridge"]');
      await node.waitFor({ timeout: 30_000 });
      await node.click();
      expect(await axeViolations(page), 'with the map open and a node chosen').toEqual([]);
      await page.click('[data-lab-stop]');
      await context.close();
    });
  }

  it('axe finds no violation in an exercise with a setup: waiting for Start exercise in both themes, and started', async () => {
    const within = `lesson-exercise[data-exercise-id="${SETUP_EXERCISE}"]`;
    for (const theme of ['light', 'dark'] as const) {
      const { context, page } = await newPage(theme);
      await page.goto(runner.url + SETUP_LESSON, { waitUntil: 'networkidle' });
      // The whole page: its code blocks are the ones whose colours once failed (github-light's red on #f6f8fa).
      expect.soft(await axeViolations(page), `${theme}, before Start exercise`).toEqual([]);
      if (theme === 'dark') {
        const exercise = page.locator(within);
        await exercise.locator('[data-exercise-start]').click();
        await expect.poll(() => exercise.getAttribute('data-started'), { timeout: 60_000 }).not.toBeNull();
        expect.soft(await axeViolations(page, within), `${theme}, after Start exercise`).toEqual([]);
        await page.click('[data-lab-stop]');
      }
      await context.close();
    }
  });

  it('axe finds no violation on the course overview, the first chapter and the instructor sign-in, light and dark', async () => {
    for (const theme of ['light', 'dark'] as const) {
      const { context, page } = await newPage(theme);
      for (const path of ['/', '/lessons/00-how-this-course-works/', '/instructor/']) {
        await page.goto(runner.url + path, { waitUntil: 'networkidle' });
        expect.soft(await axeViolations(page), `${path} in the ${theme} theme`).toEqual([]);
      }
      await context.close();
    }
  });

  it('turns screen reader mode on from the panel, remembers it, applies it to the terminals and takes it off live', async () => {
    const { context, page } = await newPage('light');
    await page.goto(runner.url + LESSON);
    const checkbox = page.getByRole('checkbox', { name: 'Screen reader mode' });
    expect(await checkbox.isChecked()).toBe(false);
    await checkbox.check();
    await page.reload();
    expect(await checkbox.isChecked()).toBe(true);

    await page.click('[data-lab-start]');
    await expect.poll(() => page.locator(`${terminal('host1')} .xterm-rows`).innerText(), { timeout: 60_000 }).toMatch(/root@host1:~#/);
    // xterm's text copy of the screen, which screen readers read.
    await expect.poll(() => page.locator(`${terminal('host1')} .xterm-accessibility-tree`).innerText()).toMatch(/root@host1:~#/);
    expect(await axeViolations(page), 'with screen reader mode on').toEqual([]);
    await checkbox.uncheck();
    expect(await page.locator(`${terminal('host1')} .xterm-accessibility-tree`).count()).toBe(0);
    await page.click('[data-lab-stop]');
    await context.close();
  });

  it('reaches the lab, its host tabs and terminals with the keyboard alone, and leaves a terminal with Esc then Tab', async () => {
    const { context, page } = await newPage('light');
    await page.goto(runner.url + TWO_HOSTS);
    await page.focus('[data-lab-start]');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator(`${terminal('host1')} .xterm-rows`).innerText(), { timeout: 60_000 }).toMatch(/root@host1:~#/);
    await expect.poll(() => focusIsAt(page)).toBe('terminal host1');
    // The terminal's input tells a screen reader the key, and the panel shows it.
    expect(await page.locator(`${terminal('host1')} textarea`).getAttribute('aria-describedby')).toBe('lab-keys');
    await expect.poll(() => page.locator('#lab-keys').innerText()).toMatch(/Esc, then Tab or Shift\+Tab/);

    // Tab alone is the shell's (completion); Esc then Shift+Tab goes back to the host's tab.
    await page.keyboard.press('Tab');
    expect(await focusIsAt(page)).toBe('terminal host1');
    // A key between them (readline's Esc Backspace deletes a word) keeps Tab in the shell.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Tab');
    expect(await focusIsAt(page)).toBe('terminal host1');
    await page.keyboard.press('Escape');
    await page.keyboard.press('Shift+Tab');
    expect(await focusIsAt(page)).toMatch(/^tab host1/);

    // The tab strip's keys: arrows (wrapping), Home and End choose a host, its files or the map, and its panel.
    const shown = () => page.evaluate(() => [...document.querySelectorAll('[role=tabpanel]')].filter((p) => !(p as HTMLElement).hidden).map((p) => p.getAttribute('data-host') ?? p.id));
    await page.keyboard.press('ArrowRight');
    expect(await focusIsAt(page)).toBe('tab host1 files');
    expect(await shown()).toEqual(['lab-files-host1-panel']);
    await page.keyboard.press('ArrowRight');
    expect(await focusIsAt(page)).toMatch(/^tab host2(?! files)/);
    expect(await shown()).toEqual(['host2']);
    await page.keyboard.press('ArrowRight');
    expect(await focusIsAt(page)).toBe('tab host2 files');
    await page.keyboard.press('ArrowRight');
    expect(await focusIsAt(page)).toMatch(/^tab Map/);
    expect(await shown()).toEqual(['lab-map-panel']);
    await page.keyboard.press('ArrowRight');
    expect(await focusIsAt(page)).toMatch(/^tab host1(?! files)/);
    await page.keyboard.press('End');
    expect(await focusIsAt(page)).toMatch(/^tab Map/);
    await page.keyboard.press('Home');
    expect(await focusIsAt(page)).toMatch(/^tab host1(?! files)/);
    await page.keyboard.press('ArrowLeft');
    expect(await focusIsAt(page)).toMatch(/^tab Map/);
    await page.keyboard.press('ArrowLeft');
    expect(await focusIsAt(page)).toBe('tab host2 files');
    await page.keyboard.press('ArrowLeft');
    expect(await focusIsAt(page)).toMatch(/^tab host2(?! files)/);
    expect(await page.locator('[role=tab][data-host=host2]').getAttribute('aria-selected')).toBe('true');

    // Tab from the selected tab enters its terminal, which types into host2's shell.
    await page.keyboard.press('Tab');
    expect(await focusIsAt(page)).toBe('terminal host2');
    // Typing before host2's shell is ready goes nowhere (its Docker Engine may still be starting).
    await page.locator('[role=tab][data-host=host2][data-state=ready]').waitFor({ timeout: 60_000 });
    await page.keyboard.type('hostname\n');
    await expect.poll(() => page.locator(`${terminal('host2')} .xterm-rows`).innerText(), { timeout: 30_000 }).toMatch(/^host2\s*$/m);
    // Esc then Tab moves on past the terminal.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    expect(await focusIsAt(page)).not.toMatch(/^terminal/);
    await page.click('[data-lab-stop]');
    await context.close();
  });
});
