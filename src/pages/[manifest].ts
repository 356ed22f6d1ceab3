/**
 * The lab manifest: each lesson's lab, exercises (with their checks, which the pages leave out) and runnable
 * blocks, read by the runner at start (it runs checks by exercise id) and by
 * `npm run verify:lessons`. Built as a route because a route can read the lessons; the body is
 * validated with the runner's own schema. It is emitted into dist/ only for a moment: when the
 * build is done, src/integrations/lab-manifest.ts moves it to .lab/, outside the served site.
 */
import type { APIRoute, GetStaticPaths } from 'astro';
import { LAB_MANIFEST_FILE, labManifestSchema, type LabManifest } from '../../contract/labspec.ts';
import { getLessons } from '../lib/lessons.ts';

export const getStaticPaths = (() => [{ params: { manifest: LAB_MANIFEST_FILE } }]) satisfies GetStaticPaths;

export const GET: APIRoute = async () => {
  const manifest: LabManifest = { lessons: {} };
  for (const lesson of await getLessons()) {
    if (!lesson.data.lab) continue;
    manifest.lessons[lesson.id] = {
      title: lesson.data.title,
      ...(lesson.filePath ? { file: lesson.filePath } : {}),
      lab: lesson.data.lab,
      ...lesson.steps,
    };
  }
  const checked = labManifestSchema.parse(manifest);
  return new Response(JSON.stringify(checked, null, 2) + '\n', {
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
  });
};
