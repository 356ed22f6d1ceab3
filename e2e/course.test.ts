/**
 * The whole course in a browser: every chapter is on the overview in reading order, each
 * chapter page renders with its title and the next chapter's link, and the search finds
 * chapters by what they teach (Pagefind's index of the built site).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runnerAndBrowser } from './browser.ts';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../sandbox/test/harness.ts';
import { MOVED_LESSONS } from '../src/lib/moved-lessons.ts';


/** The lessons as their sources say: slug, title and order, sorted by order. */
const lessons = readdirSync(path.join(ROOT, 'content'))
  .filter((f) => f.endsWith('.mdx'))
  .map((f) => {
    const fm = parseYaml(/^---\n([\s\S]*?)\n---/.exec(readFileSync(path.join(ROOT, 'content', f), 'utf8'))![1]!) as { title: string; order: number };
    return { slug: f.replace(/\.mdx$/, ''), title: fm.title, order: fm.order };
  })
  .sort((a, b) => a.order - b.order);

/** Words a learner might search for, and the chapter that must come up. */
const SEARCHES: Array<[string, string]> = [
  ['VXLAN', '10-overlay-networks'],
  ['shim', '11-macvlan'],
  ['DOCKER-USER', '13-network-security'],
  ['veth', '01-network-namespaces'],
  ['host-gateway', '07-dns-in-depth'],
  ['NAT66', '09-ipv6'],
  ['ufw', '14-host-firewalls'],
];

describe('the course in a browser', () => {
  const t = runnerAndBrowser();

  it('lists every chapter on the overview in reading order, and each chapter page renders with a link to the next', async () => {
    expect(lessons.length).toBeGreaterThanOrEqual(12);
    const page = await t.browser.newPage();
    await page.goto(`${t.runner.url}/`);
    const hrefs = await page.$$eval('main a[href*="/lessons/"]', (links) => links.map((a) => new URL((a as HTMLAnchorElement).href).pathname));
    const order = [...new Set(hrefs)].map((h) => h.split('/')[2]);
    expect(order).toEqual(lessons.map((l) => l.slug));
    for (const [i, lesson] of lessons.entries()) {
      const res = await page.goto(`${t.runner.url}/lessons/${lesson.slug}/`);
      expect(res?.status(), lesson.slug).toBe(200);
      expect(await page.textContent('main h1')).toBe(lesson.title);
      const next = lessons[i + 1];
      if (next) expect(await page.$(`a[href$="/lessons/${next.slug}/"]`), `${lesson.slug} links to ${next.slug}`).not.toBeNull();
    }
  }, 120_000);

  it("leads an old chapter URL to the chapter's new one", async () => {
    const page = await t.browser.newPage();
    for (const [from, to] of Object.entries(MOVED_LESSONS)) {
      await page.goto(`${t.runner.url}/lessons/${from}/`);
      await page.waitForURL((url) => url.pathname.replace(/\/$/, '') === `/lessons/${to}`, { timeout: 10_000 });
      expect(await page.textContent('main h1')).toBe(lessons.find((l) => l.slug === to)!.title);
    }
  });

  it('finds chapters by what they teach in the site search', async () => {
    const page = await t.browser.newPage();
    await page.goto(`${t.runner.url}/`);
    for (const [term, slug] of SEARCHES) {
      await page.click('[data-search-open]');
      const input = page.locator('.pagefind-ui__search-input');
      await input.fill(term);
      await page.waitForSelector(`.pagefind-ui__result-link[href*="/lessons/${slug}/"]`, { timeout: 15_000 });
      await page.keyboard.press('Escape');
    }
  }, 90_000);
});
