/**
 * The lab spec a lesson declares in its frontmatter (`lab:`), written once in zod and used by
 * the site's content collection and by the runner. No `node:` imports: the site build uses it.
 */
import { z } from 'zod';

/** Upper bound on lab hosts a lesson may ask for; each host runs its own dockerd. */
export const MAX_HOSTS_PER_LAB = 4;

/** A lab host's name: what the learner types (`ping host2`), its hostname and its DNS alias. */
export const hostNameSchema = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,15}$/, 'a host name is 1-16 lowercase letters, digits or dashes, starting with a letter');

export const labSpecSchema = z
  .object({
    hosts: z.array(hostNameSchema).min(1).max(MAX_HOSTS_PER_LAB),
  })
  .strict()
  .refine((spec) => new Set(spec.hosts).size === spec.hosts.length, {
    message: 'host names must be unique',
    path: ['hosts'],
  });

export type LabSpec = z.infer<typeof labSpecSchema>;

/** What the site build publishes for the runner: every lesson that has a lab, by slug. */
export const labManifestSchema = z.object({
  lessons: z.record(z.string(), z.object({ title: z.string(), lab: labSpecSchema })),
});

export type LabManifest = z.infer<typeof labManifestSchema>;

/** Where the built site puts the manifest, relative to the site root. */
export const LAB_MANIFEST_PATH = 'lab-manifest.json';
