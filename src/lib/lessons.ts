/**
 * The lesson list in reading order, with the build-time checks that need more than one
 * entry (unique order) or the body (run blocks must target a host the lab has).
 */
import { getCollection, type CollectionEntry } from 'astro:content';
import { findRunBlocks } from '../markdown/run-meta.ts';

export type Lesson = CollectionEntry<'lessons'>;

export const lessonHref = (lesson: Pick<Lesson, 'id'>) => `${import.meta.env.BASE_URL.replace(/\/$/, '')}/lessons/${lesson.id}/`;

let cached: Promise<Lesson[]> | undefined;

/** All lessons sorted by `order`. Throws (failing the build) on a duplicate order or a bad run block. */
export function getLessons(): Promise<Lesson[]> {
  cached ??= load();
  return cached;
}

async function load(): Promise<Lesson[]> {
  const lessons = (await getCollection('lessons')).sort((a, b) => a.data.order - b.data.order);
  for (let i = 1; i < lessons.length; i++) {
    const [a, b] = [lessons[i - 1]!, lessons[i]!];
    if (a.data.order === b.data.order) {
      throw new Error(
        `${a.filePath} and ${b.filePath} both have order ${a.data.order}; give each lesson its own order so the sidebar is unambiguous.`,
      );
    }
  }
  for (const lesson of lessons) checkRunBlocks(lesson);
  return lessons;
}

function checkRunBlocks(lesson: Lesson): void {
  const blocks = findRunBlocks(lesson.body ?? '');
  if (blocks.length === 0) return;
  const hosts = lesson.data.lab?.hosts;
  if (!hosts) {
    throw new Error(`${lesson.filePath} has \`run\` code blocks but no \`lab:\` in its frontmatter; add one (for example \`lab: { hosts: [host1] }\`).`);
  }
  for (const block of blocks) {
    if (block.host && !hosts.includes(block.host)) {
      throw new Error(`${lesson.filePath} has a run block for host "${block.host}", but its lab only has ${hosts.join(', ')}.`);
    }
  }
}
