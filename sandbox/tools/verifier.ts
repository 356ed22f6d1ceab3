/**
 * Lesson verification: replays every lesson in a real lab, the way a learner would, and proves
 * its exercises. For each lesson it creates the lab through the runner's API and types every run
 * block into the right host's terminal (the WebSocket the page uses). Blocks marked `fails` must
 * exit non-zero; all others must exit 0. Just before an exercise's solution it starts the
 * exercise (its hidden setup, through the runner's API as Start exercise does), runs its check
 * through the check endpoint (it must fail), then types each of its wrong answers, each followed
 * by the check (it must still fail) and the wrong answer's undo (it must exit 0); after the
 * solution the check must pass.
 *
 * A lesson stops at its first problem (later steps would only report its consequences); the
 * report names the lesson, the block or exercise, and shows the output that went wrong.
 *
 * Every lab is created on the Docker Engine being verified (the API's `engine`), and blocks and
 * exercises whose since=/until= leave that engine out are skipped; proveEngine checks first that
 * a lab host of that engine really runs it.
 */
import { CHECK_STATUS, type CheckResult, type LabCreated } from '../../contract/api.ts';
import { engineInRange, type Engine, type Exercise, type LabManifest, type ManifestLesson } from '../../contract/labspec.ts';
import { LabApiError, LabClient } from './lab-client.ts';
import { PROMPT, TerminalClient, stripAnsi } from './terminal-client.ts';

/** A block that runs longer than this is stuck (lessons' longest steps wait ~10 s for a timeout). */
export const BLOCK_TIMEOUT_MS = 120_000;
/** Lab hosts start their own dockerd first; lab-shell itself gives up waiting after 30 s. */
const SHELL_READY_TIMEOUT_MS = 60_000;
/** Output shown with a problem: the end of it, where the error is. */
const REPORT_OUTPUT_CHARS = 3000;

export interface Problem {
  /** A sentence naming the lesson's file and line, the exercise or block, and what went wrong. */
  what: string;
  output: string;
}

export interface LessonReport {
  lesson: string;
  title: string;
  ok: boolean;
  durationMs: number;
  blocksRun: number;
  blocksTotal: number;
  /** Blocks and exercises left out because they apply to other engines (since=/until=). */
  blocksSkipped: number;
  exercisesSkipped: number;
  /** Exercises whose check failed before and passed after their solution. */
  exercisesProven: string[];
  /** Wrong answers each proven exercise's check failed after, by exercise id. */
  wrongAnswers: Record<string, number>;
  exercisesTotal: number;
  problem?: Problem;
}

/** One replay of the course: its lessons on one engine, in one language. */
export interface VerifyRun {
  /** The engine every lab is created with: blocks and exercises for other engines are skipped. */
  engine: Engine;
  /**
   * The language of the lessons: a translation's locale (manifest.translations), whose checks print
   * in that language; English when left out.
   */
  lang?: string;
}

export interface VerifyOptions {
  /** The runner's base URL, e.g. http://127.0.0.1:4321 */
  url: string;
  manifest: LabManifest;
  /** The replays, all from one queue (see nextJob). */
  runs: VerifyRun[];
  /** Lessons verified at once, across all runs. */
  parallel: number;
  /** Only these lessons (all with a lab when empty). */
  only?: string[];
  /** Progress lines as lessons start and finish. */
  log?: (line: string) => void;
}

/** A lesson of one run, waiting in the queue. */
export interface Job {
  run: number;
  slug: string;
}

/**
 * The job to start next. Lessons never replayed yet come first, in run and reading order; once a
 * lesson has been replayed (in any run: its length barely depends on engine or language, 07 and 14
 * take ~80 s against ~10 s for 01), its other runs wait and go longest first, so the queue ends
 * on short lessons rather than one worker finishing a long one while the others idle. Pure, for
 * its unit test; takes the job out of `pending`.
 */
export function nextJob(pending: Job[], measuredMs: ReadonlyMap<string, number>): Job | undefined {
  let best = pending.findIndex((j) => !measuredMs.has(j.slug));
  if (best < 0) {
    for (const [i, j] of pending.entries()) {
      if (best < 0 || measuredMs.get(j.slug)! > measuredMs.get(pending[best]!.slug)!) best = i;
    }
  }
  return best < 0 ? undefined : pending.splice(best, 1)[0];
}

/** Replays every run's lessons from one queue; a report list per run, in reading order. */
export async function verifyLessons(opts: VerifyOptions): Promise<LessonReport[][]> {
  const courses = opts.runs.map((run) => {
    const lessons = run.lang === undefined ? opts.manifest.lessons : opts.manifest.translations[run.lang];
    if (!lessons) throw new Error(`The course has no lessons in the language "${run.lang}"; it has en, ${Object.keys(opts.manifest.translations).join(', ')}.`);
    const all = Object.keys(lessons);
    const unknown = (opts.only ?? []).filter((l) => !all.includes(l));
    if (unknown.length > 0) throw new Error(`No lesson with a lab is called ${unknown.join(', ')}; lessons with labs: ${all.join(', ')}.`);
    return { lessons, order: opts.only?.length ? opts.only : all };
  });
  const pending: Job[] = courses.flatMap((c, run) => c.order.map((slug) => ({ run, slug })));
  const measuredMs = new Map<string, number>();
  const reports = courses.map(() => new Map<string, LessonReport>());
  const label = (run: VerifyRun) => (opts.runs.length > 1 ? ` (Engine ${run.engine.version}${run.lang ? `, ${run.lang}` : ''})` : '');
  const worker = async () => {
    for (let job = nextJob(pending, measuredMs); job !== undefined; job = nextJob(pending, measuredMs)) {
      const run = opts.runs[job.run]!;
      opts.log?.(`  started ${job.slug}${label(run)}`);
      const report = await verifyLesson(opts.url, job.slug, forEngine(courses[job.run]!.lessons[job.slug]!, run.engine), run.engine, run.lang);
      opts.log?.(`  ${report.ok ? 'passed' : 'FAILED'} ${job.slug}${label(run)} (${(report.durationMs / 1000).toFixed(1)} s)`);
      if (!measuredMs.has(job.slug)) measuredMs.set(job.slug, report.durationMs);
      reports[job.run]!.set(job.slug, report);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(opts.parallel, pending.length)) }, worker));
  // Report in manifest (reading) order, whatever order lessons finished in.
  return courses.map((c, run) => c.order.map((slug) => reports[run]!.get(slug)!));
}

/** The lesson as it runs on `engine`: without the blocks and exercises whose range leaves it out. */
function forEngine(lesson: ManifestLesson, engine: Engine): ManifestLesson & { skipped: { blocks: number; exercises: number } } {
  const blocks = lesson.blocks.filter((b) => engineInRange(engine.version, b));
  const exercises = lesson.exercises.filter((e) => engineInRange(engine.version, e));
  return { ...lesson, blocks, exercises, skipped: { blocks: lesson.blocks.length - blocks.length, exercises: lesson.exercises.length - exercises.length } };
}

class LessonFailure extends Error {
  readonly output: string;
  constructor(what: string, output = '') {
    super(what);
    this.output = output;
  }
}

async function verifyLesson(url: string, slug: string, lesson: ReturnType<typeof forEngine>, engine: Engine, lang?: string): Promise<LessonReport> {
  const started = performance.now();
  const report: LessonReport = {
    lesson: slug, title: lesson.title, ok: false, durationMs: 0,
    blocksRun: 0, blocksTotal: lesson.blocks.length, exercisesProven: [], wrongAnswers: {}, exercisesTotal: lesson.exercises.length,
    blocksSkipped: lesson.skipped.blocks, exercisesSkipped: lesson.skipped.exercises,
  };
  const where = (line: number) => `${lesson.file ?? slug}:${line}`;
  const shells = new Map<string, Promise<Shell>>();
  const client = new LabClient(url, { lang });
  let lab: LabCreated | undefined;
  try {
    lab = await createLab(client, slug, engine);
    // Like the lab page: a terminal on every host at once, each at its prompt before the first
    // block. Later hosts start after the first one (engine.ts, startInTurn), so a block on host1
    // that reaches host2 must not run before host2 is there.
    for (const host of lab.hosts) shells.set(host, Shell.open(url, lab, host));
    await Promise.all(shells.values());
    // The build checks that every block's host is one of the lab's, so each has its shell here.
    const shellFor = (host: string) => shells.get(host)!;
    const checked = new Set<string>();
    const started = new Set<string>();
    for (const [i, block] of lesson.blocks.entries()) {
      const exercise = block.exercise ? lesson.exercises.find((e) => e.id === block.exercise) : undefined;
      if (block.exercise && !exercise) throw new LessonFailure(`${where(block.line)}: a solution block names exercise "${block.exercise}", which the lesson doesn't have.`);
      // An exercise starts (its setup runs, as Start exercise does) before its first block, in its task or its solution.
      const startsHere = exercise ?? lesson.exercises.find((e) => e.id === block.task);
      if (startsHere && !started.has(startsHere.id)) {
        started.add(startsHere.id);
        await startExercise({ client, lab, shellFor, where }, startsHere);
      }
      if (exercise && !checked.has(exercise.id)) {
        checked.add(exercise.id);
        report.wrongAnswers[exercise.id] = await beforeSolution({ client, lab, shellFor, where }, exercise);
      }
      const run = await (await shellFor(block.host)).run(block);
      report.blocksRun++;
      const failedAsExpected = block.expect === 'failure';
      if ((run.status === 0) === failedAsExpected || run.timedOut) {
        const what = run.timedOut
          ? `did not finish within ${BLOCK_TIMEOUT_MS / 1000} s`
          : failedAsExpected
            ? 'is marked `fails` but exited 0'
            : `exited with status ${run.status}`;
        throw new LessonFailure(`${where(block.line)}: the run block on ${block.host}${exercise ? ` (solution of exercise "${exercise.id}")` : ''} ${what}.`, run.output);
      }
      const next = lesson.blocks[i + 1];
      if (exercise && next?.exercise !== exercise.id) {
        const after = await runCheck(client, lab, exercise.id);
        if (!after.passed) {
          throw new LessonFailure(
            `${where(exercise.line)}: exercise "${exercise.id}": the check ${after.status === CHECK_STATUS.timedOut ? `timed out (after ${exercise.timeoutSeconds} s)` : 'still fails'} after the solution ran.`,
            after.output,
          );
        }
        report.exercisesProven.push(exercise.id);
      }
    }
    const unproven = lesson.exercises.filter((e) => !checked.has(e.id));
    if (unproven.length > 0) throw new LessonFailure(`${where(unproven[0]!.line)}: exercise "${unproven[0]!.id}" has no solution blocks to verify.`);
    report.ok = true;
  } catch (err) {
    const output = err instanceof LessonFailure ? err.output : '';
    report.problem = { what: (err as Error).message, output: output.length > REPORT_OUTPUT_CHARS ? `…${output.slice(-REPORT_OUTPUT_CHARS)}` : output };
  } finally {
    for (const shell of shells.values()) shell.then((s) => s.close(), () => {});
    if (lab) await client.delete(lab).catch(() => {});
    report.durationMs = performance.now() - started;
  }
  return report;
}

interface LessonRun {
  client: LabClient;
  lab: LabCreated;
  shellFor: (host: string) => Promise<Shell>;
  /** `file:line` of a line of the lesson. */
  where: (line: number) => string;
}

/** Start an exercise as Start exercise does: its hidden setup, through the runner. */
async function startExercise({ client, lab, where }: LessonRun, exercise: Exercise): Promise<void> {
  if (!exercise.setup) return;
  await orFailure(client.setup(lab, exercise.id), `${where(exercise.setup.line)}: exercise "${exercise.id}": its setup on ${exercise.setup.host} could not start it (its output is in the runner's log: --verbose)`);
}

/**
 * What comes before an exercise's solution, once it is started: prove its check fails, and
 * still fails after each wrong answer (each then undone). Returns how many wrong answers there were.
 */
async function beforeSolution({ client, lab, shellFor, where }: LessonRun, exercise: Exercise): Promise<number> {
  const failsNow = async (when: string, whenPassed = `the check already passes ${when}, so it proves nothing`) => {
    const result = await runCheck(client, lab, exercise.id);
    if (result.status === CHECK_STATUS.failed) return;
    throw new LessonFailure(
      result.passed
        ? `${where(exercise.line)}: exercise "${exercise.id}": ${whenPassed}.`
        : `${where(exercise.line)}: exercise "${exercise.id}": the check timed out ${when} (after ${exercise.timeoutSeconds} s); it must fail fast.`,
      result.output,
    );
  };
  await failsNow('before the solution ran');
  for (const wrong of exercise.wrong) {
    // Its exit status does not matter (a wrong answer may well fail); a hang does.
    const tried = await (await shellFor(wrong.host)).run(wrong);
    if (tried.timedOut) throw new LessonFailure(`${where(wrong.line)}: exercise "${exercise.id}": the wrong answer on ${wrong.host} did not finish within ${BLOCK_TIMEOUT_MS / 1000} s.`, tried.output);
    await failsNow(`after the wrong answer at ${where(wrong.line)}`, `wrong answer at ${where(wrong.line)} passes the check`);
    if (!wrong.undo) continue;
    const undone = await (await shellFor(wrong.undo.host)).run(wrong.undo);
    if (undone.status !== 0 || undone.timedOut) {
      const what = undone.timedOut ? `did not finish within ${BLOCK_TIMEOUT_MS / 1000} s` : `exited with status ${undone.status}`;
      throw new LessonFailure(`${where(wrong.undo.line)}: exercise "${exercise.id}": the undo block on ${wrong.undo.host} ${what}.`, undone.output);
    }
  }
  return exercise.wrong.length;
}

/**
 * One host's terminal, driven like a learner at the keyboard: each line of a block typed with
 * Enter, as the Run button does. Bash's ERR trap records the status of any command that fails,
 * and a marker printed after the block carries it back (its own echo can't match the pattern:
 * the echo shows `"$__dnl_rc"`, not digits).
 */
class Shell {
  private readonly term: TerminalClient;
  private runs = 0;

  private constructor(term: TerminalClient) {
    this.term = term;
  }

  static async open(url: string, lab: LabCreated, host: string): Promise<Shell> {
    const term = await TerminalClient.open({ url }, lab, host);
    await term.waitFor(PROMPT, SHELL_READY_TIMEOUT_MS);
    term.type("trap '__dnl_rc=$?' ERR\r");
    return new Shell(term);
  }

  async run(block: { code: string }): Promise<{ status: number; timedOut: boolean; output: string }> {
    const n = ++this.runs;
    const marker = `__DNL_DONE_${n}__`;
    const from = this.term.position;
    this.term.type('__dnl_rc=0\r');
    for (const line of block.code.split('\n')) this.term.type(`${line}\r`);
    this.term.type(`printf '\\n%s %s\\n' ${marker} "$__dnl_rc"\r`);
    const done = new RegExp(`${marker} (\\d+)`);
    try {
      const seen = await this.term.waitFor(done, BLOCK_TIMEOUT_MS, from);
      const m = done.exec(seen)!;
      return { status: Number(m[1]), timedOut: false, output: cleanOutput(seen.slice(0, m.index)) };
    } catch {
      this.term.type('\x03');
      return { status: -1, timedOut: true, output: cleanOutput(stripAnsi(this.term.since(from))) };
    }
  }

  close(): void {
    this.term.close();
  }
}

/** The block's output without the verifier's own bookkeeping lines. */
function cleanOutput(text: string): string {
  return text
    .replace(/\r/g, '')
    .split('\n')
    .filter((line) => !/__dnl_rc=0$|__DNL_DONE_\d+__/.test(line))
    .join('\n')
    .trim();
}

/** The API's refusal as the lesson's problem, in the report's words: `what` failed, and the runner's sentence. */
async function orFailure<T>(call: Promise<T>, what: string): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof LabApiError) throw new LessonFailure(`${what} (HTTP ${err.status}): ${err.sentence ?? ''}`);
    throw err;
  }
}

const createLab = (client: LabClient, lesson: string, engine: Engine) =>
  orFailure(client.create(lesson, { engine: engine.id }), `the lab could not be created on Docker Engine ${engine.version}`);

/**
 * Make sure a lab created with `engine` really runs it: one lab of `lesson`, `docker version` in
 * its first host. Throws with a sentence saying what answered instead, or why there was no answer.
 */
export async function proveEngine(url: string, lesson: string, engine: Engine): Promise<void> {
  const client = new LabClient(url);
  let lab: LabCreated | undefined;
  let shell: Shell | undefined;
  try {
    lab = await createLab(client, lesson, engine);
    shell = await Shell.open(url, lab, lab.hosts[0]!);
    const { status, output } = await shell.run({ code: "docker version --format 'server={{.Server.Version}}'" });
    // Debian's packages add a suffix: "26.1.5+dfsg1".
    const answered = /^server=(\S+)/m.exec(output)?.[1];
    if (status !== 0 || answered === undefined) throw new Error(`\`docker version\` in a lab host of Docker Engine ${engine.version} did not answer (exit ${status}): ${output.slice(-300)}`);
    if (answered !== engine.version && !answered.startsWith(`${engine.version}+`)) {
      throw new Error(`A lab host created for Docker Engine ${engine.version} runs ${answered}: its image (Debian ${engine.suite}) no longer ships that version. Rebuild it (npm run build:images -- --suite ${engine.suite}) and update ENGINES in contract/engines.ts to what it ships.`);
    }
  } catch (err) {
    if (err instanceof LessonFailure) throw new Error(`${err.message} ${err.output}`.trim());
    throw err;
  } finally {
    shell?.close();
    if (lab) await client.delete(lab).catch(() => {});
  }
}

const runCheck = (client: LabClient, lab: LabCreated, exerciseId: string): Promise<CheckResult> =>
  orFailure(client.check(lab, exerciseId), `the check of exercise "${exerciseId}" could not run`);

/**
 * One engine's run in a line: "Engine 28.5.2: 11 lessons, 30 exercises proven, 12 wrong answers refused, 420 s",
 * with the language after the version ("Engine 28.5.2, zh: ...") for a translation.
 */
export function engineSummary(engine: Engine, reports: LessonReport[], lang?: string): string {
  const failed = reports.filter((r) => !r.ok).length;
  const proven = reports.reduce((n, r) => n + r.exercisesProven.length, 0);
  const refused = reports.reduce((n, r) => n + Object.values(r.wrongAnswers).reduce((a, b) => a + b, 0), 0);
  // Runs share one queue, so a run has no wall time of its own: the sum of its lessons' times.
  const replayMs = reports.reduce((n, r) => n + r.durationMs, 0);
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  return `Engine ${engine.version}${lang ? `, ${lang}` : ''}: ${count(reports.length, 'lesson')}${failed > 0 ? ` (${failed} FAILED)` : ''}, ${count(proven, 'exercise')} proven, ${count(refused, 'wrong answer')} refused, ${Math.round(replayMs / 1000)} s of replay`;
}

/** One run's report as text: one line per lesson, and for a failed one the problem and its output. */
export function formatReport(reports: LessonReport[]): string {
  const lines: string[] = [];
  for (const r of reports) {
    const secs = `${(r.durationMs / 1000).toFixed(1)} s`;
    const skipped = r.blocksSkipped + r.exercisesSkipped > 0 ? ` (${r.blocksSkipped} blocks, ${r.exercisesSkipped} exercises for other engines)` : '';
    const counts = `${r.blocksRun}/${r.blocksTotal} blocks, ${r.exercisesProven.length}/${r.exercisesTotal} exercises proven${skipped}`;
    lines.push(`${r.ok ? 'PASS' : 'FAIL'}  ${r.lesson}  ${counts}  ${secs}`);
    for (const id of r.exercisesProven) {
      const wrong = r.wrongAnswers[id] ?? 0;
      lines.push(`        exercise ${id}: check failed before the solution${wrong > 0 ? ` and after ${wrong} wrong answer${wrong === 1 ? '' : 's'}` : ''}, passed after`);
    }
    if (r.problem) {
      lines.push(`        ${r.problem.what}`);
      if (r.problem.output) lines.push('        output:', ...r.problem.output.split('\n').map((l) => `        | ${l}`));
    }
  }
  return lines.join('\n');
}

/** The line under all runs' reports: how many replays, how long the queue took, how many failed. */
export function totalLine(runs: LessonReport[][], wallMs: number, parallel: number): string {
  const all = runs.flat();
  const failed = all.filter((r) => !r.ok).length;
  return `${all.length} lesson replay(s) in ${(wallMs / 1000).toFixed(1)} s wall time, up to ${parallel} at once: ${all.length - failed} passed, ${failed} failed.`;
}
