/**
 * What every chapter of the course must have, read from the lesson sources with the site's own
 * schema and Markdown plugin: learning goals, at least one diagram, and at least two exercises.
 * The introduction (order 0, no lab) is the one lesson that is not a chapter.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { compileLesson } from '../markdown/lesson-steps.ts';
import { lessonFrontmatterSchema } from './lesson-schema.ts';

const CONTENT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../content');
/** Exercises a chapter needs at least (the course plan asks for two to four per chapter). */
const MIN_EXERCISES = 2;

/** The problems that keep `source` from being a complete chapter; empty when it is one. */
async function chapterProblems(source: string, file: string): Promise<string[]> {
  const m = /^---\n([\s\S]*?)\n---\n/.exec(source);
  if (!m) return ['no frontmatter'];
  // The schema requires learning goals (at least one), so a chapter without any stops here.
  const frontmatter = lessonFrontmatterSchema.safeParse(parseYaml(m[1]!));
  if (!frontmatter.success) return frontmatter.error.issues.map((i) => `frontmatter ${i.path.join('.')}: ${i.message}`);
  const data = frontmatter.data;
  if (data.order === 0 && !data.lab) return []; // the introduction
  const problems: string[] = [];
  if (!data.lab) problems.push('no lab: every chapter has hands-on steps');
  // Keep line numbers: the frontmatter becomes blank lines, as Astro does.
  const body = '\n'.repeat(m[0].split('\n').length - 1) + source.slice(m[0].length);
  const { steps } = await compileLesson(body, pathToFileURL(file), data);
  if (steps.exercises.length < MIN_EXERCISES) problems.push(`${steps.exercises.length} exercise(s); a chapter needs at least ${MIN_EXERCISES}`);
  // A diagram: an SVG from content/diagrams imported as a component and shown in a <Figure>.
  const diagrams = [...body.matchAll(/^import (\w+) from '\.\/diagrams\/[\w-]+\.svg';$/gm)].map((d) => d[1]!);
  const shown = diagrams.filter((name) => new RegExp(`<Figure[^>]*>\\s*<${name}\\s*/>`).test(body));
  if (shown.length === 0) problems.push('no diagram: import an SVG from ./diagrams/ and show it in a <Figure>');
  return problems;
}

const lessons = readdirSync(CONTENT).filter((f) => f.endsWith('.mdx')).sort();

describe('the course', () => {
  it('has lessons to check', () => {
    expect(lessons.length).toBeGreaterThan(1);
  });

  for (const file of lessons) {
    it(`${file} has learning goals, a diagram and at least two exercises (or is the introduction)`, async () => {
      const full = path.join(CONTENT, file);
      expect(await chapterProblems(readFileSync(full, 'utf8'), full)).toEqual([]);
    });
  }

  it('reports a chapter that lacks goals, a diagram or exercises', async () => {
    const bare = '---\ntitle: T\ndescription: D\norder: 3\ngoals: []\nlab: { hosts: [host1] }\n---\n\nText.\n';
    expect(await chapterProblems(bare, '/x/03-bare.mdx')).toEqual(['frontmatter goals: Too small: expected array to have >=1 items']);
    const noDiagram = bare.replace('goals: []', 'goals: [Do things.]');
    expect(await chapterProblems(noDiagram, '/x/03-bare.mdx')).toEqual([
      '0 exercise(s); a chapter needs at least 2',
      'no diagram: import an SVG from ./diagrams/ and show it in a <Figure>',
    ]);
  });
});
