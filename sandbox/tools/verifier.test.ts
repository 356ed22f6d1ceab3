/** The verifier's summary line per engine, from lesson reports (no runner needed). */
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../../contract/labspec.ts';
import { engineSummary, type LessonReport } from './verifier.ts';

const report = (lesson: string, ok: boolean, wrongAnswers: Record<string, number>): LessonReport => ({
  lesson, title: lesson, ok, durationMs: 1000, blocksRun: 3, blocksTotal: 3, blocksSkipped: 0, exercisesSkipped: 0,
  exercisesProven: Object.keys(wrongAnswers), wrongAnswers, exercisesTotal: Object.keys(wrongAnswers).length,
});

describe('the summary line of an engine', () => {
  it('counts lessons, exercises proven and wrong answers refused, and the seconds it took', () => {
    const reports = [report('a', true, { x: 2, y: 0 }), report('b', true, { z: 1 })];
    expect(engineSummary(ENGINES[0], reports, 421_400)).toBe('Engine 28.5.2: 2 lessons, 3 exercises proven, 3 wrong answers refused, 421 s');
  });

  it('says how many lessons failed', () => {
    expect(engineSummary(ENGINES[1], [report('a', false, {}), report('b', true, { z: 1 })], 9_600)).toBe('Engine 26.1.5: 2 lessons (1 FAILED), 1 exercise proven, 1 wrong answer refused, 10 s');
  });
});
