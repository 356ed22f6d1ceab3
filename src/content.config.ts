/**
 * The course: one MDX file per chapter under content/, numbered for a readable file order, and its
 * translation under content/<locale>/ with the same name (src/lib/lessons.ts tells them apart).
 * The frontmatter schema lives in src/lib/lesson-schema.ts so tests can use it outside Astro.
 */
import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { lessonFrontmatterSchema } from './lib/lesson-schema.ts';

const lessons = defineCollection({
  loader: glob({ base: './content', pattern: '**/*.mdx' }),
  schema: lessonFrontmatterSchema,
});

export const collections = { lessons };
