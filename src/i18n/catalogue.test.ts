/**
 * The catalogues agree: every key of the English one is in every other (and nothing more), each
 * says something, and every code the runner can send (API errors, runner notices) has a sentence
 * in each language. The type check catches most of this; this test also catches what a cast or
 * an `any` would let through, at run time, where the pages read them.
 */
import { describe, expect, it } from 'vitest';
import { API_ERRORS, CHECK_STATUS } from '../../contract/api.ts';
import { FILE_ERRORS } from '../../contract/files.ts';
import { RUNNER_NOTICES } from '../../contract/protocol.ts';
import { FILES_WORDS } from './files.ts';
import { LOCALES, messages, type Locale } from './index.ts';
import { sentenceFor } from './page.ts';

type Tree = { [key: string]: unknown };

/** Every leaf's dotted path, sorted. */
function paths(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree)
    .flatMap(([key, value]) => (typeof value === 'object' && value !== null ? paths(value as Tree, `${prefix}${key}.`) : [`${prefix}${key}`]))
    .sort();
}

/** Every leaf with its path. */
function leaves(tree: Tree, prefix = ''): [string, unknown][] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'object' && value !== null ? leaves(value as Tree, `${prefix}${key}.`) : [[`${prefix}${key}`, value] as [string, unknown]],
  );
}

/**
 * A sample argument for a sentence with values: a number works wherever a catalogue function
 * takes a string or a number (it only puts them in the text or compares them).
 */
const SAMPLE = 2;

/** A language's catalogue with the words that load with the Files tab (./files.ts), checked alike. */
const everything = (locale: Locale): Tree => ({ ...messages(locale), files: FILES_WORDS[locale] });

describe('the message catalogues', () => {
  const english = paths(everything('en'));

  it('have exactly the same keys in every language', () => {
    expect(english.length).toBeGreaterThan(300);
    for (const locale of LOCALES) expect(paths(everything(locale)), locale).toEqual(english);
  });

  it('say something for every key: a non-empty string, or a function that returns one for sample values', () => {
    for (const locale of LOCALES) {
      for (const [path, value] of leaves(everything(locale))) {
        const text = typeof value === 'function' ? (value as (...args: number[]) => unknown)(...Array<number>(value.length).fill(SAMPLE)) : value;
        expect(typeof text === 'string' && text.trim() !== '', `${locale} ${path}`).toBe(true);
      }
    }
  });

  it('give the same sentences with values the same number of values in every language', () => {
    const arity = (locale: Locale) => leaves(everything(locale)).map(([path, v]): [string, number] => [path, typeof v === 'function' ? v.length : -1]);
    // A language may leave a value out of its sentence (Chinese has no plural), never take one more.
    for (const locale of LOCALES) {
      const english = new Map(arity('en'));
      for (const [path, n] of arity(locale)) expect(n, `${locale} ${path}`).toBeLessThanOrEqual(english.get(path)!);
    }
  });

  it("have a sentence for every error code of the API (the Files API's in the Files tab's words), every notice code of the runner and every outcome of a check, in every language", () => {
    const errorCodes = Object.values(API_ERRORS).map((e) => e.code).sort();
    const fileErrorCodes = Object.values(FILE_ERRORS).map((e) => e.code).sort();
    const noticeCodes = Object.values(RUNNER_NOTICES).sort();
    for (const locale of LOCALES) {
      expect(Object.keys(messages(locale).api).sort(), locale).toEqual(errorCodes);
      expect(Object.keys(FILES_WORDS[locale].errors).sort(), locale).toEqual(fileErrorCodes);
      expect(Object.keys(messages(locale).runner).sort(), locale).toEqual(noticeCodes);
      expect(Object.keys(messages(locale).exercise.checkStatus).sort(), locale).toEqual(Object.values(CHECK_STATUS).sort());
    }
  });

  it("show the runner's own sentence on an English page and the catalogue's for a known code on a Chinese one", () => {
    const runner = 'Lab host host1 no longer exists (the lab was removed). Start a new lab.';
    expect(sentenceFor(runner, RUNNER_NOTICES.hostGone, messages('en').runner, 'en')).toBe(runner);
    expect(sentenceFor(runner, RUNNER_NOTICES.hostGone, messages('zh').runner, 'zh')).toBe(messages('zh').runner.host_gone);
    // An unknown code (a newer runner), none at all, or one that only names an Object property: the runner's sentence.
    for (const code of ['no_such_code', undefined, 'toString', '__proto__']) expect(sentenceFor(runner, code, messages('zh').runner, 'zh')).toBe(runner);
    expect(sentenceFor('x', API_ERRORS.capacity.code, messages('zh').api, 'zh')).toBe(messages('zh').api.capacity);
  });
});
