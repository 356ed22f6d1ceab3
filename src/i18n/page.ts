/**
 * The page's words in the browser, without shipping the other language. English comes with the
 * scripts, block by block: each script imports the blocks of ./en/ it shows, so a lesson page
 * loads no words of the Map tab or the instructor dashboard before they are opened. A page in
 * another language loads its whole catalogue once, as it opens (`textReady`), and from then on
 * every block comes from there. A script that shows words while the page loads waits for
 * `textReady` first; the others read their words when they say them (`text`), never at import.
 */
import type { Messages } from './en.ts';
import { DEFAULT_LOCALE, pageLocale, type Locale } from './locales.ts';

/** Every language but English, and how to load its catalogue (a chunk of its own). */
const CATALOGUES: Record<Exclude<Locale, 'en'>, () => Promise<Messages>> = {
  zh: () => import('./zh.ts').then((m) => m.zh),
};

const locale = pageLocale();
let catalogue: Messages | undefined;

/** Resolves once the page's words are there: at once on an English page. */
export const textReady: Promise<void> =
  locale === DEFAULT_LOCALE
    ? Promise.resolve()
    : CATALOGUES[locale as Exclude<Locale, 'en'>]().then(
        (m) => void (catalogue = m),
        // A catalogue that did not load (the site was rebuilt under an open page): English is better than nothing.
        () => undefined,
      );

/** A block of the page's words: `english` (a block of ./en/, named so the bundle keeps just it), or the page's own `pick` of it. */
export const text = <Block>(english: Block, pick: (m: Messages) => Block): Block => (catalogue ? pick(catalogue) : english);

/**
 * What a page shows for a sentence the runner sent with a stable code (an API error, a runner
 * notice): on an English page the runner's own sentence, which is more specific (it names the
 * host, the number, the engine); in another language the catalogue's sentence for the code, or
 * the runner's when the code is not in `table` (a newer runner, or none sent).
 */
export function sentenceFor<Code extends string>(sentence: string, code: unknown, table: Record<Code, string>, locale: Locale): string {
  return locale !== DEFAULT_LOCALE && typeof code === 'string' && Object.hasOwn(table, code) ? table[code as Code] : sentence;
}

/** The runner's sentence with a code, as this page shows it (sentenceFor). */
export const localSentence = (sentence: string, code: unknown, pick: (m: Messages) => Record<string, string>): string =>
  catalogue ? sentenceFor(sentence, code, pick(catalogue), locale) : sentence;
