/**
 * The `[...lang]` route parameter of pages that exist in every language: undefined for the
 * default locale (English stays at the site's root) and the locale's path segment otherwise.
 */
import { DEFAULT_LOCALE, LOCALES, type Locale } from '../i18n/locales.ts';

export const localeParams = (): { locale: Locale; lang: string | undefined }[] =>
  LOCALES.map((locale) => ({ locale, lang: locale === DEFAULT_LOCALE ? undefined : locale }));
