/**
 * Reading the lab manifest the site build writes (LAB_MANIFEST: every lesson's lab, exercises
 * with their checks, and run blocks), validated with the contract's schema. For the runner, the
 * lesson verifier and scripts/lab.ts alike; it serves nothing.
 */
import { readFileSync } from 'node:fs';
import { labManifestSchema, type LabManifest } from '../../contract/labspec.ts';

/** The build's lab manifest (LAB_MANIFEST); none, with a note in the log, before the first build. */
export function loadManifest(file: string, log: (line: string) => void): LabManifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    log(`No ${file}: the site is not built, so no lesson has a lab. Run "npm run build".`);
    return { lessons: {}, translations: {} };
  }
  const parsed = labManifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) {
    throw new Error(`${file} is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}. Rebuild the site with "npm run build".`);
  }
  return parsed.data;
}
