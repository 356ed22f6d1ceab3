/** The verifier's summary line per engine and its queue order, from lesson reports (no runner needed). */
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../../contract/labspec.ts';
import { engineSummary, nextJob, totalLine, type Job, type LessonReport } from './verifier.ts';

const report = (lesson: string, ok: boolean, wrongAnswers: Record<string, number>, durationMs = 1000): LessonReport => ({
  lesson, title: lesson, ok, durationMs, blocksRun: 3, blocksTotal: 3, blocksSkipped: 0, exercisesSkipped: 0,
  exercisesProven: Object.keys(wrongAnswers), wrongAnswers, exercisesTotal: Object.keys(wrongAnswers).length,
});

describe('the summary line of an engine', () => {
  it('counts lessons, exercises proven and wrong answers refused, and the seconds its lessons took', () => {
    const reports = [report('a', true, { x: 2, y: 0 }, 200_000), report('b', true, { z: 1 }, 221_400)];
    expect(engineSummary(ENGINES[0], reports)).toBe('Engine 28.5.2: 2 lessons, 3 exercises proven, 3 wrong answers refused, 421 s of replay');
  });

  it('says how many lessons failed, and the language', () => {
    expect(engineSummary(ENGINES[1], [report('a', false, {}, 4_000), report('b', true, { z: 1 }, 5_600)], 'zh')).toBe('Engine 26.1.5, zh: 2 lessons (1 FAILED), 1 exercise proven, 1 wrong answer refused, 10 s of replay');
  });

  it('ends with the queue\'s wall time and the failures of all runs', () => {
    expect(totalLine([[report('a', true, {})], [report('a', false, {}), report('b', true, {})]], 61_250, 4)).toBe('3 lesson replay(s) in 61.3 s wall time, up to 4 at once: 2 passed, 1 failed.');
  });
});

describe('the verification queue', () => {
  const drain = (pending: Job[], measured: Map<string, number>) => {
    const out: string[] = [];
    for (let j = nextJob(pending, measured); j; j = nextJob(pending, measured)) out.push(`${j.run}:${j.slug}`);
    return out;
  };

  it('starts lessons not yet replayed first, in run and reading order', () => {
    const pending: Job[] = [{ run: 0, slug: 'a' }, { run: 0, slug: 'b' }, { run: 1, slug: 'a' }, { run: 1, slug: 'c' }];
    expect(drain(pending, new Map([['a', 5]]))).toEqual(['0:b', '1:c', '0:a', '1:a']);
  });

  it('then takes the longest lesson first, so the queue ends on short ones', () => {
    const pending: Job[] = ['a', 'b', 'c'].flatMap((slug) => [0, 1].map((run) => ({ run, slug })));
    expect(drain(pending, new Map([['a', 10], ['b', 80], ['c', 40]]))).toEqual(['0:b', '1:b', '0:c', '1:c', '0:a', '1:a']);
  });
});
