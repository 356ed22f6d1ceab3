/**
 * The Files tab's words in every language, with the Files API's error sentences and the label of
 * a lesson's <OpenFile> button (rendered with the page, never in its scripts). Not in the
 * catalogues (en.ts, zh.ts): a page in another language loads its whole catalogue as it opens
 * (page.ts), and these words are needed only once a lab's Files tab is opened, so they come with
 * the tab's own chunk instead (a Chinese chapter's JS before Start lab, e2e/i18n.test.ts). ../en/files.ts defines the keys; the type
 * check asks for each of them in every other language, and catalogue.test.ts checks them as it
 * checks the catalogues.
 */
import { files as en } from './en/files.ts';
import { files as zh } from './zh/files.ts';
import type { Locale } from './locales.ts';

export const FILES_WORDS: Record<Locale, typeof en> = { en, zh };
