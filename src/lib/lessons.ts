/**
 * The lesson list in reading order, each with the steps its MDX declares (exercises and run
 * blocks, collected by src/markdown/lesson-steps.ts), plus the build-time checks that need more
 * than one lesson: a unique order, and exercise ids unique across the course (learner progress
 * is stored under them).
 */
import { getCollection, render, type CollectionEntry } from 'astro:content';
import { lessonStepsSchema, type LessonSteps } from '../../contract/labspec.ts';
import { STEPS_KEY } from '../markdown/lesson-steps.ts';

export type Lesson = CollectionEntry<'lessons'> & { steps: LessonSteps };

export const lessonHref = (lesson: Pick<Lesson, 'id'>) => `${import.meta.env.BASE_URL.replace(/\/$/, '')}/lessons/${lesson.id}/`;

let cached: Promise<Lesson[]> | undefined;

/** All lessons sorted by `order`. Throws (failing the build) on a duplicate order or exercise id. */
export function getLessons(): Promise<Lesson[]> {
  cached ??= load();
  return cached;
}

async function load(): Promise<Lesson[]> {
  const entries = (await getCollection('lessons')).sort((a, b) => a.data.order - b.data.order);
  for (let i = 1; i < entries.length; i++) {
    const [a, b] = [entries[i - 1]!, entries[i]!];
    if (a.data.order === b.data.order) {
      throw new Error(
        `${a.filePath} and ${b.filePath} both have order ${a.data.order}; give each lesson its own order so the sidebar is unambiguous.`,
      );
    }
  }
  const lessons: Lesson[] = [];
  const exerciseHome = new Map<string, string>();
  for (const entry of entries) {
    const { remarkPluginFrontmatter } = await render(entry);
    const steps = lessonStepsSchema.parse(remarkPluginFrontmatter[STEPS_KEY] ?? { exercises: [], blocks: [] });
    for (const ex of steps.exercises) {
      const other = exerciseHome.get(ex.id);
      if (other) throw new Error(`${entry.filePath}:${ex.line}: exercise id "${ex.id}" is already used in ${other}; ids are unique across the course because progress is stored under them.`);
      exerciseHome.set(ex.id, entry.filePath ?? entry.id);
    }
    lessons.push({ ...entry, steps });
  }
  return lessons;
}
