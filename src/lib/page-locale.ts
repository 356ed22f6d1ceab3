/** A rendered page's locale and its path without the site's base, from the URL Astro renders it at. */
import { localeOfPath, type Locale } from '../i18n/locales.ts';

export function pagePath(pageUrl: URL | string): string {
  const pathname = typeof pageUrl === 'string' ? pageUrl : pageUrl.pathname;
  const base = import.meta.env.BASE_URL.replace(/\/$/, '');
  return base && pathname.startsWith(base) ? pathname.slice(base.length) || '/' : pathname;
}

export const pageLocale = (pageUrl: URL | string): Locale => localeOfPath(pagePath(pageUrl));
