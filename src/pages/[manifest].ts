/**
 * The lab manifest: each lesson's lab (and, under `translations`, each translated lesson: its checks print in its language), exercises (with their checks, which the pages leave out) and runnable
 * blocks, read by the runner at start (it runs checks by exercise id) and by
 * `npm run verify:lessons`. Built as a route because a route can read the lessons; the body is
 * validated with the runner's own schema. It is emitted into dist/ only for a moment: when the
 * build is done, src/integrations/lab-manifest.ts moves it to .lab/, outside the served site.
 */
import type { APIRoute, GetStaticPaths } from 'astro';
import { LAB_MANIFEST_FILE, labManifestSchema, type LabManifest } from '../../contract/labspec.ts';
import { getLessons } from '../lib/lessons.ts';
import { DEFAULT_LOCALE, LOCALES, type Locale } from '../i18n/locales.ts';

export const getStaticPaths = (() => [{ params: { manifest: LAB_MANIFEST_FILE } }]) satisfies GetStaticPaths;

/** Every lesson of one language that has a lab, by slug, as the runner and the verifier read it. */
async function labLessons(locale: Locale): Promise<LabManifest['lessons']> {
  const lessons: LabManifest['lessons'] = {};
  for (const lesson of await getLessons(locale)) {
    if (!lesson.data.lab) continue;
    lessons[lesson.slug] = {
      title: lesson.data.title,
      ...(lesson.filePath ? { file: lesson.filePath } : {}),
      lab: lesson.data.lab,
      ...lesson.steps,
    };
  }
  return lessons;
}

export const GET: APIRoute = async () => {
  const manifest: LabManifest = { lessons: await labLessons(DEFAULT_LOCALE), translations: {} };
  for (const locale of LOCALES) {
    if (locale !== DEFAULT_LOCALE) manifest.translations[locale] = await labLessons(locale);
  }
  const checked = labManifestSchema.parse(manifest);
  return new Response(JSON.stringify(checked, null, 2) + '\n', {
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
  });
};
