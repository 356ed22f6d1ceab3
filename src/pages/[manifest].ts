/**
 * dist/lab-manifest.json: which lab hosts each lesson's lab has, read by the runner at start.
 * The route's file name comes from LAB_MANIFEST_PATH (a param) so the site and the runner
 * can't disagree on where it is; the body is validated with the runner's own schema.
 */
import type { APIRoute, GetStaticPaths } from 'astro';
import { LAB_MANIFEST_PATH, labManifestSchema, type LabManifest } from '../../sandbox/src/labspec.ts';
import { getLessons } from '../lib/lessons.ts';

export const getStaticPaths = (() => [{ params: { manifest: LAB_MANIFEST_PATH } }]) satisfies GetStaticPaths;

export const GET: APIRoute = async () => {
  const manifest: LabManifest = { lessons: {} };
  for (const lesson of await getLessons()) {
    if (lesson.data.lab) manifest.lessons[lesson.id] = { title: lesson.data.title, lab: lesson.data.lab };
  }
  const checked = labManifestSchema.parse(manifest);
  return new Response(JSON.stringify(checked, null, 2) + '\n', {
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
  });
};
