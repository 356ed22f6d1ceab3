/**
 * Marks every part of the page that names the Docker Engines it applies to (ENGINE_ATTRS: version
 * notes, run blocks, exercises) as applying or not to the lab's engine, then tells the page
 * (LAB_ENGINE_EVENT): the lab panel calls it when its engine is chosen, starts or stops. A
 * version note gets a short label; Run and Check buttons (code-blocks.ts, exercise.ts) read the
 * mark and its sentence themselves. Small: it is on every lesson page before Start lab.
 */
import { ENGINE_ATTRS as E, EXERCISE_TAG, LAB_ENGINE_EVENT, RUN_ATTRS, sel } from '../../contract/dom.ts';
import { engineInRange } from '../../contract/engines.ts';
import { engine } from '../i18n/en/page.ts';
import { text } from '../i18n/page.ts';

/** The marks' words, in the page's language (src/i18n/page.ts), read when said. */
const T = () => text(engine, (m) => m.engine);

/** Mark the page for Docker Engine `version` (the running lab's, else the one chosen). */
export function markEngine(version: string): void {
  for (const el of document.querySelectorAll<HTMLElement>(`${sel(E.since)},${sel(E.until)}`)) {
    const range = { since: el.getAttribute(E.since) ?? undefined, until: el.getAttribute(E.until) ?? undefined };
    const applies = engineInRange(version, range);
    el.setAttribute(E.applies, applies ? 'yes' : 'no');
    if (applies) el.removeAttribute(E.why);
    else el.setAttribute(E.why, T().notFor(T().range(range.since ?? '', range.until ?? ''), version));
    // Run blocks and exercises say it on their buttons; a version note says it in a label.
    if (el.hasAttribute(RUN_ATTRS.run) || el.localName === EXERCISE_TAG) continue;
    let label = el.querySelector<HTMLElement>(sel(E.label));
    if (!label) {
      label = document.createElement('p');
      label.className = 'engine-label';
      label.setAttribute(E.label, '');
      el.prepend(label);
    }
    label.textContent = applies ? T().applies(version) : T().notApplies(version);
  }
  document.dispatchEvent(new CustomEvent<string>(LAB_ENGINE_EVENT, { detail: version }));
}
