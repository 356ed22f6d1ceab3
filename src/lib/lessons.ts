/**
 * The lesson list of one language in reading order, each with the steps its MDX declares
 * (exercises and run blocks, collected by src/markdown/lesson-steps.ts), plus the build-time
 * checks that need more than one lesson: a unique order, exercise ids unique across the course
 * (learner progress is stored under them), and every translation matching its English chapter
 * (src/lib/translations.ts): same chapters, exercises, run blocks and lab.
 * English chapters are content/*.mdx; a translation lives in content/<locale>/ under the same
 * file name, so its collection id is "<locale>/<slug>" and its slug is the English one.
 */
import { readFileSync } from 'node:fs';
import type { MarkdownHeading } from 'astro';
import { getCollection, render, type CollectionEntry } from 'astro:content';
import { lessonStepsSchema, type LessonSteps } from '../../contract/labspec.ts';
import { STEPS_KEY } from '../markdown/lesson-steps.ts';
import { DEFAULT_LOCALE, LOCALE_INFO, LOCALES, isLocale, type Locale } from '../i18n/locales.ts';
import { translationProblems, type ChapterSource } from './translations.ts';
import { url } from './site.ts';

export type Lesson = CollectionEntry<'lessons'> & {
  steps: LessonSteps;
  /** The chapter's name in URLs, the lab manifest and progress: the same in every language. */
  slug: string;
  locale: Locale;
  headings: MarkdownHeading[];
};

export const lessonHref = (lesson: Pick<Lesson, 'slug' | 'locale'>) => url(`${LOCALE_INFO[lesson.locale].prefix}/lessons/${lesson.slug}/`);

let cached: Promise<Record<Locale, Lesson[]>> | undefined;

/** The lessons of one language sorted by `order`. Throws (failing the build) on any of the problems above. */
export async function getLessons(locale: Locale = DEFAULT_LOCALE): Promise<Lesson[]> {
  cached ??= load();
  return (await cached)[locale];
}

/** The locale and slug of a collection id: "05-x" is English, "zh/05-x" the Chinese translation of it. */
function place(id: string): { locale: Locale; slug: string } {
  const [first, ...rest] = id.split('/');
  if (rest.length === 1 && isLocale(first) && first !== DEFAULT_LOCALE) return { locale: first, slug: rest[0]! };
  if (rest.length === 0) return { locale: DEFAULT_LOCALE, slug: id };
  throw new Error(`content/${id}.mdx is neither an English chapter (content/NN-name.mdx) nor a translation (content/<${LOCALES.join('|')}>/NN-name.mdx); move it.`);
}

async function load(): Promise<Record<Locale, Lesson[]>> {
  const byLocale = Object.fromEntries(LOCALES.map((l) => [l, [] as Lesson[]])) as Record<Locale, Lesson[]>;
  const entries = (await getCollection('lessons')).sort((a, b) => a.data.order - b.data.order);
  for (const entry of entries) {
    const { remarkPluginFrontmatter, headings } = await render(entry);
    const steps = lessonStepsSchema.parse(remarkPluginFrontmatter[STEPS_KEY] ?? { exercises: [], blocks: [] });
    const where = place(entry.id);
    byLocale[where.locale].push({ ...entry, ...where, steps, headings });
  }
  for (const lessons of Object.values(byLocale)) checkOrderAndIds(lessons);
  const problems = LOCALES.filter((l) => l !== DEFAULT_LOCALE).flatMap((l) =>
translationProblems(byLocale[DEFAULT_LOCALE].map(source), byLocale[l].map(source), l),
  );
  if (problems.length > 0) {
    throw new Error(`The translations differ from the English chapters:\n- ${problems.join('\n- ')}\nA translated chapter keeps the English one's exercises, code and lab (docs/authoring.md, "Translations").`);
  }
  return byLocale;
}

function source(lesson: Lesson): ChapterSource {
  const file = lesson.filePath ?? `content/${lesson.id}.mdx`;
  return { file, text: readFileSync(file, 'utf8'), data: lesson.data };
}

function checkOrderAndIds(lessons: Lesson[]): void {
  for (let i = 1; i < lessons.length; i++) {
    const [a, b] = [lessons[i - 1]!, lessons[i]!];
    if (a.data.order === b.data.order) {
      throw new Error(
        `${a.filePath} and ${b.filePath} both have order ${a.data.order}; give each lesson its own order so the sidebar is unambiguous.`,
      );
    }
  }
  const exerciseHome = new Map<string, string>();
  for (const lesson of lessons) {
    for (const ex of lesson.steps.exercises) {
      const other = exerciseHome.get(ex.id);
      if (other) throw new Error(`${lesson.filePath}:${ex.line}: exercise id "${ex.id}" is already used in ${other}; ids are unique across the course because progress is stored under them.`);
      exerciseHome.set(ex.id, lesson.filePath ?? lesson.id);
    }
  }
}
