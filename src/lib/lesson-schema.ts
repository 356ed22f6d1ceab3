/**
 * A lesson's frontmatter, written once in zod: the content collection (src/content.config.ts)
 * validates every lesson with it at build time, and the course tests read lessons with it.
 * The lab spec is the runner's own schema, so a lesson can't ask for a lab the runner would refuse.
 */
import { z } from 'zod';
import { labSpecSchema } from '../../contract/labspec.ts';

export const lessonFrontmatterSchema = z
  .object({
    title: z.string().min(1),
    /** One or two sentences; shown on the overview page and as the meta description. */
    description: z.string().min(1),
    /** Reading order; 0 is the introduction, chapters are numbered from 1. */
    order: z.number().int().nonnegative(),
    /** What the learner can do after the chapter, each a short sentence. */
    goals: z.array(z.string().min(1)).min(1),
    lab: labSpecSchema.optional(),
  })
  .strict();
