/**
 * Two engines side by side, in headless Debian chromium against the built site served by a real
 * runner: the lab panel offers the engines the runner offers, the lab runs the one chosen
 * (`docker version` in its terminal says so), the choice is remembered, and the page marks what
 * applies to it: version notes labelled or muted, a run block for another engine with its Run
 * button disabled, an exercise for another engine saying so instead of Check.
 *
 * The course's lessons carry version notes as their authors add them; this test gives the bridge
 * lesson its own (the markup <EngineNote> renders, and since= on one of its run blocks and one
 * exercise), so that what it checks does not depend on a lesson's text.
 */
import type { Page } from 'playwright-core';
import { runnerAndBrowser } from './browser.ts';
import { describe, expect, it } from 'vitest';
import { ENGINE_ATTRS as E, EXERCISE_ATTRS as X, EXERCISE_TAG, LAB_ATTRS as L, sel } from '../contract/dom.ts';

const LESSON = '/lessons/05-user-defined-bridges/';
/** A version no engine of the course has reached: what is marked with it applies to none. */
const FUTURE = '99.0';

/**
 * Give the loaded lesson page two version notes around 28.0 (as <EngineNote> renders them), and
 * its first run block and first exercise a range of FUTURE only. In the page, not by rewriting
 * the response: chromium refuses a page served by the test (not by the network) its sockets to
 * loopback. The page marks them the next time its engine changes.
 */
async function addEngineMarks(page: Page): Promise<void> {
  await page.evaluate(({ since, until, future, exercise }) => {
    const note = (id: string, attr: string, title: string) => {
      const aside = document.createElement('aside');
      aside.className = 'aside engine-note';
      aside.id = id;
      aside.setAttribute(attr, '28.0');
      aside.innerHTML = `<p class="aside-title">${title}</p><p>What the engine does.</p>`;
      return aside;
    };
    document.querySelector('.lesson-header')!.before(note('note-before-28', until, 'Docker Engine before 28.0'), note('note-from-28', since, 'Docker Engine 28.0 and later'));
    const block = document.querySelector('pre[data-run]')!;
    block.id = 'future-block';
    block.setAttribute(since, future);
    const ex = document.querySelector(exercise)!;
    ex.id = 'future-exercise';
    ex.setAttribute(since, future);
  }, { since: E.since, until: E.until, future: FUTURE, exercise: EXERCISE_TAG });
}

const terminalText = (page: Page) => page.locator('[role=tabpanel][data-host=host1] .xterm-rows').innerText();

/** Start the lab with the engine chosen, and answer what `docker version` prints of the server in its terminal. */
async function startAndAskVersion(page: Page): Promise<string> {
  await page.click(sel(L.start));
  await expect.poll(() => terminalText(page), { timeout: 60_000 }).toMatch(/root@host1:~#/);
  await page.locator('[role=tabpanel][data-host=host1] .xterm').click();
  await page.keyboard.type("docker version --format 'server={{.Server.Version}}'\n");
  await expect.poll(() => terminalText(page), { timeout: 30_000 }).toMatch(/^server=\d/m);
  return /^server=(\d+\.\d+\.\d+)/m.exec(await terminalText(page))![1]!;
}

describe('choosing the lab\'s Docker Engine in a browser', () => {
  const t = runnerAndBrowser();

  for (const [engine, version, otherEngine, other] of [['26', '26.1.5', '28', '28.5.2'], ['28', '28.5.2', '26', '26.1.5']] as const) {
    it(`runs Engine ${version} when it is chosen, and marks what applies to it`, async () => {
      // A fresh context each: nothing remembered from the other engine's run.
      const context = await t.browser.newContext({ viewport: { width: 1440, height: 900 } });
      const page = await context.newPage();
      await page.goto(t.runner.url + LESSON);
      const choice = page.locator(sel(L.engine));
      await expect.poll(() => page.locator(sel(L.engineChoice)).isVisible()).toBe(true);
      await addEngineMarks(page);
      expect(await choice.locator('option').allInnerTexts()).toEqual(['28.5.2 (default)', '26.1.5']);
      expect(await choice.inputValue()).toBe('28');
      await choice.selectOption(engine);

      expect(await startAndAskVersion(page)).toBe(version);
      expect(await page.locator(sel(L.engineRunning)).innerText()).toBe(`Docker Engine ${version}`);
      expect(await page.locator(sel(L.engineChoice)).isVisible()).toBe(false);

      const before28 = page.locator('#note-before-28');
      const from28 = page.locator('#note-from-28');
      const [applying, muted] = version.startsWith('26') ? [before28, from28] : [from28, before28];
      expect(await applying.getAttribute(E.applies)).toBe('yes');
      expect(await applying.locator(sel(E.label)).innerText()).toBe(`Applies to your lab (Engine ${version})`);
      expect(await muted.getAttribute(E.applies)).toBe('no');
      expect(await muted.locator(sel(E.label)).innerText()).toBe(`Not for your lab (Engine ${version})`);

      // The run block for a future engine: its Run button stays disabled, saying why; a click types nothing.
      const run = page.locator('#future-block').locator('xpath=ancestor::*[contains(@class,"code-block")]').locator('.code-run');
      expect(await run.getAttribute('aria-disabled')).toBe('true');
      expect(await run.getAttribute('title')).toBe(`This is for Docker Engine ${FUTURE} and later; your lab runs Engine ${version}.`);
      const shown = await terminalText(page);
      await run.click({ force: true }); // Playwright waits for an aria-disabled button to be enabled; a learner can click it
      await new Promise((r) => setTimeout(r, 500));
      expect(await terminalText(page)).toBe(shown);
      // The exercise for a future engine says so where Check would be.
      const exercise = page.locator('#future-exercise');
      expect(await exercise.locator(sel(X.check)).isVisible()).toBe(false);
      expect(await exercise.locator(sel(X.status)).innerText()).toMatch(new RegExp(`^This is for Docker Engine ${FUTURE} and later; your lab runs Engine ${version.replace(/\./g, '\\.')}\\. Start a lab on another engine`));

      // Stopped: the choice is back, remembered, and a reload keeps it; the page is marked for it.
      await page.click(sel(L.stop));
      await expect.poll(() => page.locator(sel(L.engineChoice)).isVisible()).toBe(true);
      expect(await applying.getAttribute(E.applies)).toBe('yes');
      await page.reload();
      await expect.poll(() => page.locator(sel(L.engineChoice)).isVisible()).toBe(true);
      expect(await page.locator(sel(L.engine)).inputValue()).toBe(engine);
      // Choosing the other engine marks the page for it before any lab starts.
      await addEngineMarks(page);
      await page.locator(sel(L.engine)).selectOption(otherEngine);
      expect(await applying.getAttribute(E.applies)).toBe('no');
      expect(await muted.locator(sel(E.label)).innerText()).toBe(`Applies to your lab (Engine ${other})`);
      await context.close();
    }, 150_000);
  }
});
