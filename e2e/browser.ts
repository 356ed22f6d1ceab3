/**
 * The browser the e2e tests drive: Debian's chromium (a downloaded browser is not available on
 * these machines), headless, with everything that would phone home switched off.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startRunner, type RunningRunner } from '../sandbox/test/harness.ts';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
}

/**
 * Opens `url` and waits for the network to go quiet; the scripts it loaded meanwhile, each with its
 * body's size and text. Every body is awaited before the answer: one read after it would be left out.
 */
export async function scriptsLoadedBy(page: Page, url: string): Promise<Array<{ url: string; bytes: number; text: string }>> {
  const bodies: Array<Promise<{ url: string; bytes: number; text: string }>> = [];
  page.on('response', (res) => {
    if (res.request().resourceType() === 'script') bodies.push(res.body().then((b) => ({ url: res.url(), bytes: b.length, text: b.toString() })));
  });
  await page.goto(url, { waitUntil: 'networkidle' });
  return Promise.all(bodies);
}

/**
 * A runner (on the built site) and a browser for the tests of one describe block: started before
 * them, stopped after. Read the fields in the tests; they are set once beforeAll has run.
 */
export function runnerAndBrowser(): { runner: RunningRunner; browser: Browser } {
  const both = {} as { runner: RunningRunner; browser: Browser };
  beforeAll(async () => {
    both.runner = await startRunner();
    both.browser = await launchBrowser();
  });
  afterAll(async () => {
    await both.browser?.close();
    await both.runner?.stop();
  });
  return both;
}
