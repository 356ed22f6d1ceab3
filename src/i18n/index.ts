/**
 * The message catalogues: every word of UI the site, the lab panel and the instructor pages show,
 * once per language. `en.ts` defines the keys; `zh.ts` is typed as `Messages`, so a key missing
 * there (or one left over) fails `npm run check`. Sentences with values in them are functions,
 * so each language orders the words its own way.
 */
import { en, type Messages } from './en.ts';
import { zh } from './zh.ts';
import { DEFAULT_LOCALE, localeOfTag, type Locale } from './locales.ts';
import { pageLocale as localeOfPage } from '../lib/page-locale.ts';

export type { Messages };
export * from './locales.ts';

const CATALOGUES: Record<Locale, Messages> = { en, zh };

export const messages = (locale: Locale): Messages => CATALOGUES[locale];

/** The locale of the page a script runs in, from <html lang> (set by BaseLayout). */
export function pageLocale(): Locale {
  return (typeof document !== 'undefined' && localeOfTag(document.documentElement.lang)) || DEFAULT_LOCALE;
}

/** The catalogue of the page a script runs in. */
export const pageMessages = (): Messages => messages(pageLocale());

/** The catalogue for a page rendered at this path (an Astro component's `Astro.url.pathname`). */
export const messagesForPath = (pathname: string): Messages => messages(localeOfPage(pathname));
