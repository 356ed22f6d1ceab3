/**
 * axe-core (the standard accessibility engine, from node_modules) run in a page: the a11y suite
 * and the instructor dashboard's test use it.
 */
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_PATH = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[]; failureSummary?: string }>;
}

/** axe's violations on the page as it is now (or in the element `within` selects), one line each: rule, impact, the elements it names. */
export async function axeViolations(page: Page, within?: string): Promise<string[]> {
  // The site's CSP allows no injected script; the test context bypasses it (bypassCSP), nothing else does.
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE_PATH });
  const violations = await page.evaluate(async (selector) => {
    const axe = (window as unknown as { axe: { run(context?: unknown): Promise<{ violations: AxeViolation[] }> } }).axe;
    return (await axe.run(selector ? { include: [selector] } : undefined)).violations.map(({ id, impact, help, nodes }) => ({ id, impact, help, nodes: nodes.map(({ target, failureSummary }) => ({ target, failureSummary })) }));
  }, within);
  return violations.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => `${JSON.stringify(n.target)} [${n.failureSummary?.replace(/\s+/g, ' ')}]`).join(', ')}`);
}
