/**
 * dist/lab-manifest.json: each lesson's lab, exercises (with their checks) and runnable blocks,
 * read by the runner at start (it runs checks by exercise id) and by `npm run verify:lessons`.
 * The route's file name comes from LAB_MANIFEST_PATH (a param) so the site and the runner
 * can't disagree on where it is; the body is validated with the runner's own schema.
 * The runner does not serve this file to browsers (see server.ts).
 */
import type { APIRoute, GetStaticPaths } from 'astro';
import { LAB_MANIFEST_PATH, labManifestSchema, type LabManifest } from '../../sandbox/src/labspec.ts';
import { getLessons } from '../lib/lessons.ts';

export const getStaticPaths = (() => [{ params: { manifest: LAB_MANIFEST_PATH } }]) satisfies GetStaticPaths;

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
