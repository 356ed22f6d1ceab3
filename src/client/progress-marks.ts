/**
 * Progress marks on every page (loaded by the sidebar): records a lesson page as visited,
 * fills in the ticks and done/total counts of elements that stand for lessons and exercises
 * (PROGRESS_ATTRS in contract/dom.ts) and wires Reset progress buttons. The marks are
 * server-rendered empty: without JavaScript there is no progress to show.
 */
import { PROGRESS_ATTRS as P, sel } from '../../contract/dom.ts';
import { isPassedIn, isVisitedIn, markVisited, onProgressChange, readProgress, resetProgress } from './progress.ts';
import { progress } from '../i18n/en/page.ts';
import { text, textReady } from '../i18n/page.ts';

/** The marks' words, in the page's language (src/i18n/page.ts), read when said. */
const T = () => text(progress, (m) => m.progress);

const visit = document.querySelector(sel(P.visit))?.getAttribute(P.visit);
if (visit) markVisited(visit);

/** Show or hide the element's own `data-progress-show=<state>` marks, not those of nested items. */
function showMarks(el: Element, state: 'visited' | 'passed', on: boolean) {
  for (const mark of el.querySelectorAll(sel(P.showWhen, state))) {
    // The attribute, not .hidden: that property exists on HTML elements only, not SVG.
    if (mark.closest(sel(state === 'visited' ? P.lesson : P.exercise)) === el) mark.toggleAttribute('hidden', !on);
  }
}

function render() {
  const progress = readProgress();
  for (const el of document.querySelectorAll<HTMLElement>(sel(P.lesson))) {
    const visited = isVisitedIn(progress, el.getAttribute(P.lesson)!);
    const ids = (el.getAttribute(P.exercises) ?? '').split(',').filter(Boolean);
    const done = ids.filter((id) => isPassedIn(progress, id)).length;
    const complete = ids.length > 0 && done === ids.length;
    el.toggleAttribute(P.visited, visited);
    el.toggleAttribute(P.complete, complete);
    showMarks(el, 'visited', visited);
    const count = el.querySelector<HTMLElement>(sel(P.count));
    if (count) {
      count.hidden = ids.length === 0;
      // Shown as "1/2" or a tick; read as words.
      const shown = complete ? '✓' : `${done}/${ids.length}`;
      const said = complete ? T().allPassed(ids.length) : T().somePassed(done, ids.length);
      if (count.dataset.said !== said) {
        count.dataset.said = said;
        const visible = document.createElement('span');
        visible.setAttribute('aria-hidden', 'true');
        visible.textContent = shown;
        const words = document.createElement('span');
        words.className = 'visually-hidden';
        words.textContent = `(${said})`;
        count.replaceChildren(visible, words);
      }
    }
  }
  for (const el of document.querySelectorAll<HTMLElement>(sel(P.exercise))) {
    const passed = isPassedIn(progress, el.getAttribute(P.exercise)!);
    el.toggleAttribute(P.passed, passed);
    showMarks(el, 'passed', passed);
  }
}

for (const button of document.querySelectorAll<HTMLButtonElement>(sel(P.reset))) {
  const status = button.parentElement?.querySelector<HTMLElement>(sel(P.resetStatus));
  button.hidden = false; // server-rendered hidden: without JavaScript it could do nothing
  button.addEventListener('click', () => {
    if (!confirm(T().confirmReset)) return;
    resetProgress();
    if (status) status.textContent = T().resetDone;
  });
}

// Once the page's words are there: the counts are read out as words.
void textReady.then(() => {
  render();
  onProgressChange(render);
});
