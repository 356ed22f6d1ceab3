/**
 * Web previews in headless Debian chromium against the built site and a real runner: in the
 * port-publishing lesson the learner runs `docker run -d -p 8080:80 web` on host1, the lab panel
 * lists "host1:8080" (and the lesson's own preview link comes alive), and the link opens the
 * container's page in a new tab, on an origin of its own: from there the course's API refuses to
 * be read and the course's storage is not there. Once the lab ends the preview answers 404.
 */
import { describe, expect, it } from 'vitest';
import { LAB_ATTRS as L, PREVIEW_ATTRS as P, PREVIEW_TAG, sel } from '../contract/dom.ts';
import { ROUTES } from '../contract/api.ts';
import { runnerAndBrowser } from './browser.ts';

const LESSON = '/lessons/04-port-publishing/';
/** A new lab starts its hosts' engines first; on a busy 2-core machine that can take a while. */
const LAB_START_MS = 60_000;
/** The port is seen once the lab host's engine reports the container started (an event, then a listing). */
const PUBLISH_SEEN_MS = 20_000;

describe('web previews in a browser', () => {
  const t = runnerAndBrowser();

  it('opens a published port from the lab panel in a new tab, on an origin that cannot reach the course, until the lab ends', async () => {
    const context = await t.browser.newContext({ viewport: { width: 1440, height: 900 } });
    const page = await context.newPage();
    await page.goto(t.runner.url + LESSON);
    const inText = page.locator(`${PREVIEW_TAG}${sel(P.host, 'host1')}${sel(P.port, '8080')}`);
    // Before a lab: the lesson's preview link is text.
    expect(await inText.locator('a').count()).toBe(0);

    await page.click(sel(L.start));
    const rows = page.locator('[role=tabpanel][data-host=host1] .xterm-rows');
    await expect.poll(() => rows.innerText(), { timeout: LAB_START_MS }).toMatch(/root@host1:~#/);
    await page.locator('[role=tabpanel][data-host=host1] .xterm').click();
    await page.keyboard.type('docker run -d -p 8080:80 web\n');

    const link = page.locator(`${sel(L.previewList)} a`, { hasText: 'host1:8080' });
    await link.waitFor({ timeout: PUBLISH_SEEN_MS });
    expect(await page.locator(sel(L.previews)).isVisible()).toBe(true);
    expect(await link.getAttribute('target')).toBe('_blank');
    expect(await link.getAttribute('rel')).toBe('noopener');
    const url = (await link.getAttribute('href'))!;
    expect(url).toMatch(new RegExp(`^http://[a-z2-7]{26}\\.localhost:${t.runner.port}/$`));
    // The link in the lesson's text now opens the same preview.
    await expect.poll(() => inText.locator('a').getAttribute('href')).toBe(url);
    expect(await inText.getAttribute(P.live)).not.toBeNull();

    const course = await page.evaluate(() => Object.keys(localStorage));
    expect(course.length).toBeGreaterThan(0);

    const [preview] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await preview.waitForLoadState();
    // Chromium resolves *.localhost to loopback: the tab shows the container's page.
    expect(await preview.locator('h1').innerText()).toMatch(/^Hello from container [0-9a-f]{12}$/);
    expect(preview.url()).toBe(url);
    expect(await preview.evaluate(() => window.opener)).toBeNull();

    // From the preview's origin: the course's API answers nothing it may read, and the course's storage is not there.
    const fromPreview = await preview.evaluate(async ({ api, create }) => {
      const attempt = async (input: string, init?: RequestInit) => {
        try {
          const res = await fetch(input, init);
          return `read ${res.status}: ${(await res.text()).slice(0, 80)}`;
        } catch (e) {
          return `refused (${(e as Error).name})`;
        }
      };
      return {
        health: await attempt(api),
        create: await attempt(create, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"lesson":"04-port-publishing"}' }),
        storage: Object.keys(localStorage),
        session: Object.keys(sessionStorage),
        cookies: document.cookie,
      };
    }, { api: t.runner.url + ROUTES.health.path(), create: t.runner.url + ROUTES.labs.path() });
    expect(fromPreview).toEqual({ health: 'refused (TypeError)', create: 'refused (TypeError)', storage: [], session: [], cookies: '' });
    // The same path on the preview's own origin is the container's, not the course's API.
    expect(await preview.evaluate(async (path) => (await fetch(path)).status, ROUTES.health.path())).toBe(404);

    // The lab ends: its preview is gone, and the lesson's link is text again.
    await page.click(sel(L.stop));
    await expect.poll(() => page.locator(sel(L.previews)).isVisible()).toBe(false);
    expect(await inText.locator('a').count()).toBe(0);
    const gone = await preview.reload();
    expect(gone?.status()).toBe(404);
    expect(await preview.locator('body').innerText()).toMatch(/There is no preview at this address/);
    await context.close();
  });
});
