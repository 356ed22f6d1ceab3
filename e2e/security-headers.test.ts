/**
 * The runner's Content-Security-Policy in headless chromium, against the built site and a real
 * lab: loading a lesson, the theme toggle, the site search (Pagefind's UI, its worker and its
 * WebAssembly), Start lab (xterm and the terminal WebSocket) and a Run button all work without
 * a single CSP violation, while a script injected into the page is refused. Hashed assets come
 * back cacheable for a year, pages revalidated.
 */
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { runnerAndBrowser } from './browser.ts';

const LESSON = '/lessons/05-user-defined-bridges/';
const TERMINAL = '[role=tabpanel][data-host=host1] .xterm-rows';
/** A cold lab (no warm pool here) on a loaded machine: engine start, then the shell. */
const LAB_READY_MS = 90_000;

declare global {
  interface Window {
    __cspViolations?: string[];
    __injected?: boolean;
  }
}

/**
 * Every CSP violation the page reports, two ways: the securitypolicyviolation event in the page
 * (registered before any of its scripts run) and chromium's console message, which also covers
 * workers (Pagefind searches in one).
 */
async function watchViolations(page: Page): Promise<{ console: string[]; errors: string[]; inPage: () => Promise<string[]> }> {
  const seen = { console: [] as string[], errors: [] as string[] };
  const onConsole = (text: string) => {
    if (/Content Security Policy|Refused to/i.test(text)) seen.console.push(text);
  };
  page.on('console', (msg) => onConsole(msg.text()));
  page.on('worker', (worker) => worker.on('console', (msg) => onConsole(msg.text())));
  page.on('pageerror', (err) => seen.errors.push(err.message));
  // Awaited: a page loaded before the script is registered would report nothing.
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window.__cspViolations ??= []).push(`${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return { ...seen, inPage: () => page.evaluate(() => window.__cspViolations ?? []) };
}

describe('the content security policy in a browser', () => {
  const t = runnerAndBrowser();

  it('lets a lesson, the theme toggle, search, a lab terminal and a Run button work with no violation', async () => {
    const page = await t.browser.newPage({ viewport: { width: 1440, height: 900 } });
    const violations = await watchViolations(page);
    const cacheControl = new Map<string, string | undefined>();
    page.on('response', (res) => {
      if (new URL(res.url()).origin === t.runner.url) cacheControl.set(new URL(res.url()).pathname, res.headers()['cache-control']);
    });

    const loaded = await page.goto(t.runner.url + LESSON, { waitUntil: 'networkidle' });
    expect(loaded!.headers()['content-security-policy']).toMatch(/script-src 'self'[^;]* 'sha256-/);

    // The theme toggle (page chrome, an inline module script) and the no-flash theme script.
    const themeBefore = await page.evaluate(() => document.documentElement.dataset.theme);
    await page.click('[data-theme-toggle]');
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).not.toBe(themeBefore);

    // Search: Pagefind's UI script and stylesheet, its worker, its WebAssembly, its index.
    await page.click('[data-search-open]');
    const input = page.locator('.pagefind-ui__search-input');
    await input.fill('bridge');
    await page.waitForSelector('.pagefind-ui__result-link[href*="/lessons/"]', { timeout: 20_000 });
    // Its form's action is "javascript:void(0)"; Enter must not navigate there.
    await input.press('Enter');
    await page.keyboard.press('Escape');

    // Start lab: xterm (its script, stylesheet and run-time <style> elements) and the WebSocket.
    await page.click('[data-lab-start]');
    await page.locator(TERMINAL).waitFor({ timeout: LAB_READY_MS });
    await expect.poll(() => page.locator(TERMINAL).innerText(), { timeout: LAB_READY_MS }).toMatch(/root@host1:~#/);
    const run = page.locator('pre[data-run]').filter({ hasText: 'docker network ls' }).first().locator('xpath=ancestor::*[contains(@class,"code-block")]').locator('.code-run');
    await run.click();
    await expect.poll(() => page.locator(TERMINAL).innerText(), { timeout: 30_000 }).toMatch(/none\s+null\s+local/);
    // Re-theming a live terminal rewrites xterm's <style> elements.
    await page.click('[data-theme-toggle]');
    await page.click('[data-lab-stop]');

    expect(await violations.inPage()).toEqual([]);
    expect(violations.console).toEqual([]);
    expect(violations.errors).toEqual([]);

    const hashed = [...cacheControl].filter(([p]) => p.startsWith('/_astro/'));
    // The page's bundles, and xterm's script and stylesheet loaded at Start lab.
    expect(hashed.some(([p]) => /\.css$/.test(p)) && hashed.some(([p]) => /\.js$/.test(p))).toBe(true);
    for (const [p, value] of hashed) expect({ p, value }).toEqual({ p, value: 'public, max-age=31536000, immutable' });
    expect(cacheControl.get(LESSON)).toBe('no-cache');
    expect(cacheControl.get('/pagefind/pagefind-ui.js')).toBe('no-cache');
    await page.close();
  }, 240_000);

  it('refuses a script injected into the page, and reports it', async () => {
    const page = await t.browser.newPage();
    const violations = await watchViolations(page);
    await page.goto(t.runner.url + LESSON);
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.__injected = true;';
      document.head.append(script);
      const img = document.createElement('img');
      // Another origin on loopback (the policy allows images from this origin only): refused before any request.
      img.src = 'http://127.0.0.2:9/pixel.png';
      document.body.append(img);
    });
    await expect.poll(() => violations.inPage()).toHaveLength(2);
    expect(await page.evaluate(() => window.__injected)).toBeUndefined();
    expect((await violations.inPage()).join('\n')).toMatch(/script-src-elem blocked inline[\s\S]*img-src blocked http:\/\/127\.0\.0\.2:9\/pixel\.png/);
    await page.close();
  });
});
