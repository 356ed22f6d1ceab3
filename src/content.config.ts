/**
 * The course: one MDX file per chapter under content/, numbered for a readable file order.
 * The `order` field decides the reading order; the lab spec is the runner's own schema,
 * imported rather than redefined, so a lesson can't ask for a lab the runner would refuse.
 */
import { defineCollection } from 'astro:content';
import { glob } from 'astro/loaders';
import { z } from 'zod';
import { labSpecSchema } from '../sandbox/src/labspec.ts';

const lessons = defineCollection({
  loader: glob({ base: './content', pattern: '**/*.mdx' }),
  schema: z
    .object({
      title: z.string().min(1),
      /** One or two sentences; shown on the overview page and as the meta description. */
      description: z.string().min(1),
      order: z.number().int().nonnegative(),
      /** What the learner can do after the chapter, each a short sentence. */
      goals: z.array(z.string().min(1)).min(1),
      lab: labSpecSchema.optional(),
    })
    .strict(),
});

export const collections = { lessons };
