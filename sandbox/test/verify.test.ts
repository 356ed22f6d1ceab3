/**
 * The lesson verifier, itself verified: fixture lessons in MDX (sandbox/test/fixtures/lessons),
 * compiled by the site's own plugin, replayed in real labs by a real runner.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_ENGINE, labManifestSchema } from '../../contract/labspec.ts';
import { formatReport, totalLine, verifyLessons, type LessonReport } from '../tools/verifier.ts';
import { ROOT, fixtureSite, instanceObjects, lessonFromMdx, startRunner, uniqueInstance, type FixtureLesson, type RunningRunner } from './harness.ts';
import { readFileSync } from 'node:fs';

const FIXTURES = path.join(ROOT, 'sandbox/test/fixtures/lessons');
const NAMES = ['good', 'wrong-solution', 'failing-block', 'trivial-check', 'wrong-answer-passes', 'setup-wrong-undo'] as const;

describe('lesson verification', () => {
  let runner: RunningRunner;
  let reports: Record<(typeof NAMES)[number], LessonReport>;
  let text: string;
  const instance = uniqueInstance('verify');

  beforeAll(async () => {
    const lessons: Record<string, FixtureLesson> = {};
    for (const name of NAMES) lessons[name] = await lessonFromMdx(path.join(FIXTURES, `${name}.mdx`));
    const site = fixtureSite(lessons);
    runner = await startRunner({ ...site, LAB_INSTANCE: instance });
    const manifest = labManifestSchema.parse(JSON.parse(readFileSync(site.LAB_MANIFEST, 'utf8')));
    const started = performance.now();
    const [list] = await verifyLessons({ url: runner.url, manifest, runs: [{ engine: DEFAULT_ENGINE }], parallel: 3 });
    text = `${formatReport(list!)}\n${totalLine([list!], performance.now() - started, 3)}`;
    reports = Object.fromEntries(list!.map((r) => [r.lesson, r])) as typeof reports;
  }, 180_000);
  afterAll(async () => {
    await runner?.stop();
  });

  it('passes a correct lesson: the check fails before the solution and passes after, and a `fails` block fails', () => {
    expect(reports.good).toMatchObject({ ok: true, blocksRun: 3, blocksTotal: 3, exercisesProven: ['fixture-good-net'] });
    expect(text).toMatch(/PASS {2}good .*exercise fixture-good-net: check failed before the solution, passed after/s);
  });

  it('fails a lesson whose solution is wrong, naming the exercise and showing the check output', () => {
    expect(reports['wrong-solution'].ok).toBe(false);
    expect(reports['wrong-solution'].problem!.what).toBe(
      'sandbox/test/fixtures/lessons/wrong-solution.mdx:8: exercise "fixture-frontend-net": the check still fails after the solution ran.',
    );
    expect(reports['wrong-solution'].problem!.output).toMatch(/network frontend not found/);
    expect(text).toMatch(/FAIL {2}wrong-solution[\s\S]*fixture-frontend-net[\s\S]*\| .*network frontend not found/);
  });

  it('fails a lesson whose block fails unannounced, naming the line and showing its output', () => {
    const { problem } = reports['failing-block'];
    expect(problem!.what).toBe('sandbox/test/fixtures/lessons/failing-block.mdx:4: the run block on host1 exited with status 2.');
    expect(problem!.output).toMatch(/before[\s\S]*No such file or directory[\s\S]*after/);
  });

  it('fails a lesson whose check already passes before the solution', () => {
    expect(reports['trivial-check'].problem!.what).toMatch(/exercise "fixture-trivial": the check already passes before the solution ran/);
  });

  it('fails a lesson whose wrong answer passes the check, naming the wrong answer and showing the check output', () => {
    expect(reports['wrong-answer-passes'].ok).toBe(false);
    expect(reports['wrong-answer-passes'].problem!.what).toBe(
      'sandbox/test/fixtures/lessons/wrong-answer-passes.mdx:4: exercise "fixture-loose-check": wrong answer at sandbox/test/fixtures/lessons/wrong-answer-passes.mdx:11 passes the check.',
    );
    expect(text).toMatch(/FAIL {2}wrong-answer-passes[\s\S]*wrong answer at \S+wrong-answer-passes\.mdx:11 passes the check/);
  });

  it('starts an exercise through its setup, tries each wrong answer and its undo, then proves the solution', () => {
    expect(reports['setup-wrong-undo']).toMatchObject({ ok: true, exercisesProven: ['fixture-setup-fix'], wrongAnswers: { 'fixture-setup-fix': 2 } });
    expect(text).toMatch(/PASS {2}setup-wrong-undo .*exercise fixture-setup-fix: check failed before the solution and after 2 wrong answers, passed after/s);
  });

  it('removes every lab it created', async () => {
    expect(await instanceObjects(instance)).toEqual({ containers: 0, networks: 0 });
  });
});
