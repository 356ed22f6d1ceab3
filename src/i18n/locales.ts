/**
 * The course's languages and how a page's path says which one it is in: English at the root
 * (as before there were two), Simplified Chinese under /zh/ (Astro's i18n routing with
 * prefixDefaultLocale: false, astro.config.mjs). No `node:` or `astro:` imports: the browser's
 * language switch and redirect use these too.
 */
export const LOCALES = ['en', 'zh'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';

export const LOCALE_INFO: Record<Locale, { tag: string; label: string; prefix: string }> = {
  // `tag` is the page's lang attribute and hreflang: what screen readers, search engines and Pagefind's
  // segmenter read. `label` is the language's own name, as a language switch shows it.
  en: { tag: 'en', label: 'English', prefix: '' },
  zh: { tag: 'zh-CN', label: '简体中文', prefix: '/zh' },
};

/** localStorage key for the reader's language once chosen (by the switch, or by the first visit). */
export const LOCALE_STORAGE_KEY = 'dnl-lang';

export const isLocale = (value: unknown): value is Locale => (LOCALES as readonly unknown[]).includes(value);

/** The locale of a language tag such as a page's lang or one of navigator.languages ("zh-Hans-CN" → zh). */
export function localeOfTag(tag: string): Locale | undefined {
  const primary = tag.toLowerCase().split('-')[0];
  return isLocale(primary) ? primary : undefined;
}

/** The locale a site path (without the base) is in: its first segment, when that names a locale. */
export function localeOfPath(path: string): Locale {
  const first = path.replace(/^\/+/, '').split('/')[0];
  return first !== DEFAULT_LOCALE && isLocale(first) ? first : DEFAULT_LOCALE;
}

/** The same page in another locale: '/lessons/x/' ⇄ '/zh/lessons/x/'. Paths are without the site's base. */
export function pathInLocale(path: string, to: Locale): string {
  const from = localeOfPath(path);
  const rest = from === DEFAULT_LOCALE ? path : path.replace(/^\/+[^/]+/, '') || '/';
  const withSlash = rest.startsWith('/') ? rest : `/${rest}`;
  return `${LOCALE_INFO[to].prefix}${withSlash}`;
}

/**
 * The locale of the page a script runs in, from <html lang> (set by BaseLayout). Here, not in
 * index.ts, so a browser script that needs it does not bring both catalogues (src/i18n/page.ts).
 */
export function pageLocale(): Locale {
  return (typeof document !== 'undefined' && localeOfTag(document.documentElement.lang)) || DEFAULT_LOCALE;
}
