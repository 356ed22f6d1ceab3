/**
 * The course in Simplified Chinese, in headless Debian chromium against the built site served by a
 * real runner: /zh/ and its chapters in Chinese, the language switch that keeps the chapter and
 * section and is remembered, a first visit that follows the browser's language, a lab started
 * from a Chinese chapter (Run, and a failing check that speaks Chinese), search per language,
 * and Lighthouse's SEO and accessibility scores with axe on a Chinese chapter.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { launch } from 'chrome-launcher';
import lighthouse from 'lighthouse';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { labManifestSchema } from '../contract/labspec.ts';
import { en } from '../src/i18n/en.ts';
import { zh } from '../src/i18n/zh.ts';
import { ROOT } from '../sandbox/test/harness.ts';
import { CHROMIUM, CHROMIUM_FLAGS, runnerAndBrowser, scriptsLoadedBy } from './browser.ts';

const SLUG = '05-user-defined-bridges';
const ZH_CHAPTER = `/zh/lessons/${SLUG}/`;
const EN_CHAPTER = `/lessons/${SLUG}/`;
/** Chinese words a learner searches for, and the chapter that must come up (issue 17 names the first two). */
const SEARCHES: Array<[string, string]> = [
  ['覆盖网络', '10-overlay-networks'],
  ['端口', '04-port-publishing'],
  ['命名空间', '01-network-namespaces'],
];
/**
 * Budget for JS a Chinese chapter loads before Start lab: the English page's (e2e/lesson.test.ts, 40 KB)
 * plus the Chinese catalogue, which comes as one chunk as the page opens (21 KB; English words come
 * block by block with the scripts that show them). 58 KB measured when the course got its translation.
 */
const MAX_JS_BEFORE_START_ZH = 64 * 1024;
/** The lowest Lighthouse score (0–100) the Chinese chapter may have for SEO and for accessibility (issue 17). */
const MIN_LIGHTHOUSE_SCORE = 95;
const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const CJK = /[\u4e00-\u9fff]/;

const manifest = labManifestSchema.parse(JSON.parse(readFileSync(path.join(ROOT, '.lab/lab-manifest.json'), 'utf8')));
/** The first sentence the first exercise's Chinese check echoes when it fails (the chapter's own words). */
const firstExercise = manifest.translations.zh![SLUG]!.exercises[0]!;
const failingMessage = /echo "([^"$]*)"/.exec(firstExercise.check)![1]!;

/**
 * A click where the element is, as a reader's mouse does. Playwright's click first scrolls the
 * element into view, and it scrolls the page even for the sticky header's links, which would move
 * the reader away from the section the switch is meant to keep.
 */
async function clickInPlace(page: Page, selector: string): Promise<void> {
  const box = (await page.locator(selector).boundingBox())!;
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
}

/** The chapter's section (heading) ids in order, as the language switch carries them. */
const sectionIds = async (page: Page) => ((await page.getAttribute('[data-lang-to]', 'data-lang-sections')) ?? '').split(' ');

describe('the course in Simplified Chinese', () => {
  const t = runnerAndBrowser();

  it('renders /zh/ and every Chinese chapter in Chinese, with lang, hreflang and no English UI text', async () => {
    const page = await t.browser.newPage();
    await page.goto(`${t.runner.url}/zh/`);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
    expect(await page.textContent('main h1')).toBe(zh.site.title);
    const alternates = await page.$$eval('link[rel=alternate][hreflang]', (ls) => ls.map((l) => `${l.getAttribute('hreflang')} ${new URL(l.getAttribute('href')!).pathname}`));
    expect(alternates).toEqual(['en /', 'zh-CN /zh/', 'x-default /']);
    const chapters = await page.$$eval('main a[href^="/zh/lessons/"]', (as) => [...new Set(as.map((a) => a.getAttribute('href')!.replace(/#.*/, '')))]);
    expect(chapters.length).toBe(readdirSync(path.join(ROOT, 'content')).filter((f) => f.endsWith('.mdx')).length);
    for (const href of chapters) {
      await page.goto(t.runner.url + href!);
      // The description, not the title: a title may be a name alone ("Macvlan").
      expect(await page.textContent('main .lede'), href!).toMatch(CJK);
      expect(await page.textContent('.sidebar-title'), href!).toBe(zh.chrome.chapters);
    }
  }, 120_000);

  it('leaves no English UI sentence in the built Chinese pages', () => {
    // Every English catalogue text of three words or more that Chinese writes differently must not be on a
    // Chinese page (shorter ones, such as "Docker Engine", also occur in the chapters' own words).
    const sentences = (node: unknown, other: unknown): string[] =>
      typeof node === 'string'
        ? /[A-Za-z]+ [A-Za-z]+ [A-Za-z]+/.test(node) && node !== other && !node.includes('<') ? [node] : []
        : typeof node === 'object' && node !== null
          ? Object.entries(node).flatMap(([k, v]) => sentences(v, (other as Record<string, unknown>)[k]))
          : [];
    const english = sentences(en, zh);
    expect(english.length).toBeGreaterThan(20);
    const pages = readdirSync(path.join(ROOT, 'dist/zh'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.html'));
    expect(pages.length).toBeGreaterThan(10);
    const found = pages.flatMap((f) => {
      // Code and diagrams are the lesson's own (commands, output, labels of English tools), not UI.
      const html = readFileSync(path.join(ROOT, 'dist/zh', f), 'utf8').replace(/<(pre|svg)[\s\S]*?<\/\1>/g, '');
      return english.filter((s) => html.includes(s)).map((s) => `${f}: "${s}"`);
    });
    expect(found).toEqual([]);
  });

  it('switches to English on a chapter and back, keeping the chapter and the section', async () => {
    const page = await t.browser.newPage();
    await page.goto(t.runner.url + ZH_CHAPTER);
    const zhIds = await sectionIds(page);
    expect(zhIds.length).toBeGreaterThan(3);
    // Reading the third section.
    await page.evaluate((id) => document.getElementById(id)!.scrollIntoView(), zhIds[2]!);
    await clickInPlace(page, '[data-lang-to="en"]');
    await page.waitForURL((u) => u.pathname === EN_CHAPTER);
    const enIds = await sectionIds(page);
    expect(decodeURIComponent(new URL(page.url()).hash.slice(1))).toBe(enIds[2]);
    expect(await page.getAttribute('html', 'lang')).toBe('en');

    await clickInPlace(page, '[data-lang-to="zh"]');
    await page.waitForURL((u) => u.pathname === ZH_CHAPTER);
    expect(decodeURIComponent(new URL(page.url()).hash.slice(1))).toBe(zhIds[2]);
    expect(await page.getAttribute('html', 'lang')).toBe('zh-CN');
  });

  it('follows a Chinese browser on a first visit, remembers a switch to English, and never bounces', async () => {
    const context = await t.browser.newContext({ locale: 'zh-CN' });
    const page = await context.newPage();
    await page.goto(t.runner.url + EN_CHAPTER);
    await page.waitForURL((u) => u.pathname === ZH_CHAPTER);
    await page.click('[data-lang-to="en"]');
    await page.waitForURL((u) => u.pathname === EN_CHAPTER);
    // The choice holds on the next visit, though the browser still prefers Chinese.
    await page.goto(`${t.runner.url}/`);
    await page.waitForLoadState('load');
    expect(new URL(page.url()).pathname).toBe('/');
    await context.close();

    // An English browser that follows a link to a Chinese page stays on it.
    const english = await t.browser.newContext({ locale: 'en-US' });
    const other = await english.newPage();
    await other.goto(t.runner.url + ZH_CHAPTER);
    await other.waitForLoadState('load');
    expect(new URL(other.url()).pathname).toBe(ZH_CHAPTER);
    await english.close();
  });

  it('starts a lab from a Chinese chapter, runs a block, and shows a failing check in Chinese', async () => {
    const page = await t.browser.newPage();
    const loaded = await scriptsLoadedBy(page, t.runner.url + ZH_CHAPTER);
    const bytes = loaded.reduce((n, s) => n + s.bytes, 0);
    console.log(`JS before Start lab on ${ZH_CHAPTER}: ${bytes} bytes in ${loaded.length} files`);
    expect(bytes).toBeLessThan(MAX_JS_BEFORE_START_ZH);
    expect(loaded.filter((s) => /xterm/i.test(s.url))).toEqual([]);
    const start = page.locator('[data-lab-start]');
    expect(await start.textContent()).toBe(zh.lab.start);
    const run = page.locator('.code-run').first();
    expect(await run.textContent()).toBe(zh.code.run);
    await run.click();
    await expect.poll(() => page.locator('[role=tabpanel][data-host=host1] .xterm-rows').innerText(), { timeout: 60_000 }).toMatch(/\b2[68]\.\d+\.\d+\b/);

    expect(failingMessage).toMatch(CJK);
    const exercise = page.locator(`lesson-exercise[data-exercise-id="${firstExercise.id}"]`);
    await exercise.locator('[data-exercise-check]').click();
    await expect.poll(() => exercise.innerText(), { timeout: 60_000 }).toContain(failingMessage);
  }, 120_000);

  it('finds Chinese chapters by Chinese words, and English ones only on English pages', async () => {
    const page = await t.browser.newPage();
    await page.goto(`${t.runner.url}/zh/`);
    for (const [term, slug] of SEARCHES) {
      await page.click('[data-search-open]');
      await page.locator('.pagefind-ui__search-input').fill(term);
      await page.waitForSelector(`.pagefind-ui__result-link[href*="/zh/lessons/${slug}/"]`, { timeout: 15_000 });
      await page.keyboard.press('Escape');
    }
    await page.goto(`${t.runner.url}/`);
    await page.click('[data-search-open]');
    await page.locator('.pagefind-ui__search-input').fill('overlay');
    await page.waitForSelector('.pagefind-ui__result-link[href*="/lessons/10-overlay-networks/"]', { timeout: 15_000 });
    expect(await page.$$eval('.pagefind-ui__result-link', (as) => as.filter((a) => a.getAttribute('href')!.includes('/zh/')).length)).toBe(0);
  }, 90_000);

  it(`scores at least ${MIN_LIGHTHOUSE_SCORE} for SEO and accessibility in Lighthouse, and axe finds no violation, on a Chinese chapter`, async () => {
    const chrome = await launch({ chromePath: CHROMIUM, chromeFlags: CHROMIUM_FLAGS });
    try {
      const result = await lighthouse(t.runner.url + ZH_CHAPTER, { port: chrome.port, onlyCategories: ['seo', 'accessibility'], logLevel: 'error', output: 'json' });
      const categories = result!.lhr.categories;
      const failing = Object.values(result!.lhr.audits).filter((a) => a.score !== null && a.score < 1 && a.scoreDisplayMode === 'binary').map((a) => a.id);
      const scores = { seo: Math.round(categories.seo!.score! * 100), accessibility: Math.round(categories.accessibility!.score! * 100) };
      console.log(`Lighthouse on ${ZH_CHAPTER}: SEO ${scores.seo}, accessibility ${scores.accessibility}${failing.length ? `; failing audits: ${failing.join(', ')}` : ''}`);
      expect(scores.seo, failing.join(', ')).toBeGreaterThanOrEqual(MIN_LIGHTHOUSE_SCORE);
      expect(scores.accessibility, failing.join(', ')).toBeGreaterThanOrEqual(MIN_LIGHTHOUSE_SCORE);
    } finally {
      chrome.kill();
    }

    const context = await t.browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(t.runner.url + ZH_CHAPTER, { waitUntil: 'networkidle' });
    await page.addScriptTag({ path: AXE_PATH });
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; nodes: Array<{ target: unknown }> }> }> } }).axe;
      return (await axe.run()).violations.map((v) => `${v.id}: ${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}`);
    });
    expect(violations).toEqual([]);
    await context.close();
  }, 120_000);
});
