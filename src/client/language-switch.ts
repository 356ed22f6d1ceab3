/**
 * The header's language switch: remembers the reader's choice (the head script of BaseLayout
 * reads it on every page) and keeps them in the section they are reading. Chapters in both
 * languages have the same sections in the same order (src/lib/translations.ts), so the section is
 * found by position: the one named by the URL's hash, or else the last heading above the top of
 * the window. Exercise anchors are the same in every language and are kept as they are.
 * Without JavaScript the link still leads to the same page in the other language.
 */
import { LANGUAGE_ATTRS as LA, sel } from '../../contract/dom.ts';
import { isLocale, LOCALE_STORAGE_KEY } from '../i18n/index.ts';

/** How far below the window's top a heading may be and still count as the one being read (px): below the sticky header. */
const READING_LINE_PX = 96;

function currentSection(ids: string[]): number {
  const hash = decodeURIComponent(location.hash.slice(1));
  if (hash && ids.includes(hash)) return ids.indexOf(hash);
  let current = -1;
  ids.forEach((id, i) => {
    const heading = document.getElementById(id);
    if (heading && heading.getBoundingClientRect().top <= READING_LINE_PX) current = i;
  });
  return current;
}

for (const link of document.querySelectorAll<HTMLAnchorElement>(sel(LA.to))) {
  link.addEventListener('click', () => {
    const to = link.getAttribute(LA.to);
    try {
      if (isLocale(to)) localStorage.setItem(LOCALE_STORAGE_KEY, to);
    } catch {
      /* storage disabled: the switch still leads to the other page, it just isn't remembered */
    }
    const here = (link.getAttribute(LA.sections) ?? '').split(' ').filter(Boolean);
    const there = (link.getAttribute(LA.targetSections) ?? '').split(' ').filter(Boolean);
    const hash = location.hash.slice(1);
    const i = currentSection(here);
    const target = i >= 0 && there[i] ? there[i] : hash && !here.includes(decodeURIComponent(hash)) ? hash : '';
    link.hash = target ? `#${encodeURIComponent(target)}` : '';
  });
}
