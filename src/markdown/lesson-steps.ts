/**
 * Sätteri (Astro 7's Markdown processor) mdast plugin: collects what a lesson asks of its lab, in reading order, and checks it.
 *
 *   <Exercise id="backend-dns" title="Reach a server by name">
 *     The task, in Markdown.
 *     ```sh check                      <- the check: exit 0 means passed; removed from the page
 *     docker run --rm --network backend busybox wget -qO- api
 *     ```
 *     ```sh wrong                      <- a wrong answer the check must not pass (verifier only)
 *     docker network create frontend
 *     ```
 *     (```sh setup: run when the learner starts the exercise; ```sh undo: after a wrong block)
 *     <Hint>Shown after a failed check.</Hint>
 *     <Solution>                       <- behind "Show solution"; its run blocks have Run buttons
 *     ```sh run
 *     docker network create backend
 *     ```
 *     </Solution>
 *   </Exercise>
 *
 * The result ({@link LessonSteps}: exercises and every run block) goes into the page's
 * `remarkPluginFrontmatter.steps`; src/pages/[manifest].ts publishes it for the runner (which
 * runs checks by id, so the browser never sends a script) and for `npm run verify:lessons`.
 * A malformed lesson fails the build with the file, the line and what to change.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mdxToJs, type MdastPluginDefinition } from 'satteri';
import type { Code } from 'mdast';
import { CHECK_TIMEOUT_SECONDS, exerciseAttrsSchema, lessonStepsSchema, type EngineRange, type Exercise, type HiddenScript, type LessonSteps, type RunBlock } from '../../contract/labspec.ts';
import { parseRunMeta, type HiddenBlock, type RunMeta } from './run-meta.ts';

/** The authoring components this plugin knows; LessonLayout passes them to every lesson. */
export const EXERCISE_COMPONENTS = { exercise: 'Exercise', hint: 'Hint', solution: 'Solution' } as const;

/** Named slots of Exercise.astro that Hint and Solution go into (set here, so authors don't). */
export const EXERCISE_SLOTS = { hint: 'hint', solution: 'solution' } as const;

/** Frontmatter key the steps are stored under (read back with `render(entry)`). */
export const STEPS_KEY = 'steps';

/** A failure an author must fix; the build prints it as is. */
export class LessonError extends Error {
  override name = 'LessonError';
}

// The subset of mdast + mdx-jsx this plugin reads; Sätteri hands over plain objects of this shape.
interface Node {
  type: string;
  children?: Node[];
  position?: { start: { line: number } };
}
interface JsxAttribute {
  type: string;
  name?: string;
  value?: unknown;
}
interface JsxElement extends Node {
  type: 'mdxJsxFlowElement' | 'mdxJsxTextElement';
  name: string | null;
  attributes: JsxAttribute[];
}
type Ctx = Parameters<NonNullable<MdastPluginDefinition['before']>>[1];

/** Meta of a code node, or none when it is malformed (visitCode reports that with its line). */
const parseRunMetaSafe = (node: Node) => {
  try {
    const code = node as unknown as Code;
    return parseRunMeta(code.meta ?? undefined, code.lang ?? '');
  } catch {
    return { run: false, fails: false };
  }
};

const isJsx = (n: Node, name?: string): n is JsxElement =>
  (n.type === 'mdxJsxFlowElement' || n.type === 'mdxJsxTextElement') && (name === undefined || (n as JsxElement).name === name);

/**
 * An IPv4 literal outside loopback and the any-address. Checks find containers by name or with
 * `docker inspect`: an address that happened to be right on the author's lab is wrong on the next.
 */
const IPV4 = /(?<![\w.])(?!127\.)(?!0\.0\.0\.0(?![\w.]))(?:\d{1,3}\.){3}\d{1,3}(?![\w.])/g;

/**
 * Sätteri can't set `attributes` on a JSX element in place; replacing the element with a copy
 * that keeps its children works, and keeps the mutations already queued on those children.
 */
function setAttributes(ctx: Ctx, node: JsxElement, attributes: JsxAttribute[]): void {
  ctx.replaceNode(node as never, { ...node, attributes } as never);
}

export function lessonSteps(): MdastPluginDefinition {
  return {
    name: 'dnl:lesson-steps',
    options: { position: true },
    before(root, ctx) {
      const astro = (ctx.data as { astro?: { frontmatter?: Record<string, unknown> } }).astro;
      const frontmatter = astro?.frontmatter ?? {};
      const file = ctx.fileURL ? path.relative(process.cwd(), fileURLToPath(ctx.fileURL)) : '(lesson)';
      const lab = frontmatter.lab as { hosts?: unknown } | undefined;
      const hosts = Array.isArray(lab?.hosts) ? lab.hosts.filter((h): h is string => typeof h === 'string') : [];
      const steps = collectSteps(root as Node, { file, hosts }, ctx);
      if (astro) astro.frontmatter = { ...frontmatter, [STEPS_KEY]: steps };
    },
  };
}

/**
 * Compile an MDX body (frontmatter already removed) the way the site build does, outside Astro,
 * and return its steps and compiled JS. For tests and tools: fixture lessons, the course checks.
 */
export async function compileLesson(body: string, file: URL, frontmatter: Record<string, unknown>): Promise<{ steps: LessonSteps; code: string }> {
  // The shape Astro's MDX processor hands its plugins (see @astrojs/markdown-satteri).
  const astro = { frontmatter: { ...frontmatter }, headings: [], localImagePaths: new Set<string>(), remoteImagePaths: new Set<string>() };
  const { code } = await mdxToJs(body, { mdastPlugins: [lessonSteps()], data: { astro }, fileURL: file });
  return { steps: lessonStepsSchema.parse(astro.frontmatter[STEPS_KEY]), code };
}

interface Where {
  file: string;
  /** The lesson lab's hosts; empty when the lesson has no lab. */
  hosts: string[];
}

interface OpenExercise {
  attrs: { id: string; title: string; host: string; timeoutSeconds: number } & EngineRange;
  line: number;
  check?: string;
  setup?: HiddenScript;
  wrong: Array<HiddenScript & { undo?: HiddenScript }>;
  hints: number;
  solutions: number;
  solutionBlocks: number;
  /** The task's own text: addresses it names may appear in the check. */
  taskText: string;
}

/** Walk the tree in reading order; mutate it through `ctx`; return the steps or throw a LessonError. */
export function collectSteps(root: Node, where: Where, ctx: Ctx): LessonSteps {
  const collector = new StepCollector(root, where, ctx);
  collector.walk(root, undefined, false);
  return { exercises: collector.exercises, blocks: collector.blocks };
}

/** The parts of an exercise other than its check, each with the slot it goes into. */
const EXERCISE_PARTS = [
  ['hint', EXERCISE_SLOTS.hint],
  ['solution', EXERCISE_SLOTS.solution],
] as const;

/**
 * One lesson's walk: what it has found so far, and one method per kind of node it handles.
 * It only reads and validates; every change to the page goes through `ctx`.
 */
class StepCollector {
  readonly exercises: Exercise[] = [];
  readonly blocks: RunBlock[] = [];
  readonly #root: Node;
  readonly #where: Where;
  readonly #ctx: Ctx;

  constructor(root: Node, where: Where, ctx: Ctx) {
    this.#root = root;
    this.#where = where;
    this.#ctx = ctx;
  }

  /**
   * Visit `node` and its descendants. `exercise`: the exercise it sits in; `inSolution`: within
   * that exercise's <Solution>; `direct`: a child of the exercise element itself (where checks,
   * hints and solutions go).
   */
  walk(node: Node, exercise: OpenExercise | undefined, inSolution: boolean, direct = false): void {
    if (node.type === 'code') return this.#code(node, exercise, inSolution, direct);
    if (isJsx(node, EXERCISE_COMPONENTS.exercise)) return this.#exercise(node, exercise);
    for (const [key, slot] of EXERCISE_PARTS) {
      if (isJsx(node, EXERCISE_COMPONENTS[key])) return this.#part(node, key, slot, exercise, direct);
    }
    for (const child of node.children ?? []) this.walk(child, exercise, inSolution);
  }

  #code(node: Node, exercise: OpenExercise | undefined, inSolution: boolean, direct: boolean): void {
    const hidden = parseRunMetaSafe(node).hidden;
    if (exercise && !inSolution && !direct && hidden) {
      return this.#fail(node, `a \`\`\`sh ${hidden} block belongs directly inside <Exercise id="${exercise.attrs.id}">, not nested in other elements.`);
    }
    const code = node as unknown as Code;
    let meta: RunMeta;
    try {
      meta = parseRunMeta(code.meta ?? undefined, code.lang ?? '');
    } catch (e) {
      return this.#fail(code, (e as Error).message);
    }
    if (meta.hidden === 'check') return this.#check(code, exercise, inSolution);
    if (meta.hidden) return this.#hidden(code, meta, meta.hidden, exercise, inSolution);
    if (meta.run) this.#runBlock(code, meta, exercise, inSolution);
  }

  /** A setup, wrong or undo block: kept for the manifest with its host, taken off the page. */
  #hidden(node: Code, meta: RunMeta, kind: Exclude<HiddenBlock, 'check'>, exercise: OpenExercise | undefined, inSolution: boolean): void {
    if (!exercise || inSolution) return this.#fail(node, `a \`\`\`sh ${kind} block belongs directly inside an <Exercise>, outside its <Solution>.`);
    const name = `<Exercise id="${exercise.attrs.id}">`;
    const host = meta.host ?? exercise.attrs.host;
    if (!this.#where.hosts.includes(host)) return this.#fail(node, `a ${kind} block of ${name} is for host "${host}", but the lesson's lab only has ${this.#where.hosts.join(', ')}.`);
    const code = node.value.trim();
    if (!code) return this.#fail(node, `${name} has an empty ${kind} block.`);
    const script = { host, code, line: node.position?.start.line ?? 0 };
    if (kind === 'setup') {
      if (exercise.setup) return this.#fail(node, `${name} has more than one setup block; put the whole setup in one.`);
      exercise.setup = script;
    } else if (kind === 'wrong') {
      exercise.wrong.push(script);
    } else {
      const last = exercise.wrong.at(-1);
      if (!last || last.undo) return this.#fail(node, `an undo block in ${name} must come right after the wrong block it undoes.`);
      last.undo = script;
    }
    this.#ctx.removeNode(node as never);
  }

  /** An exercise's check: kept for the manifest, taken off the page. */
  #check(node: Code, exercise: OpenExercise | undefined, inSolution: boolean): void {
    if (!exercise || inSolution) return this.#fail(node, 'a ```sh check block belongs directly inside an <Exercise>, outside its <Solution>.');
    if (exercise.check !== undefined) return this.#fail(node, `<Exercise id="${exercise.attrs.id}"> has more than one check block; put the whole check in one.`);
    const check = node.value.trim();
    if (!check) return this.#fail(node, `<Exercise id="${exercise.attrs.id}"> has an empty check block.`);
    const task = exercise.taskText;
    const fixed = [...check.matchAll(IPV4)].map((m) => m[0]).filter((ip) => !task.includes(ip));
    if (fixed.length > 0) {
      return this.#fail(node, `the check of <Exercise id="${exercise.attrs.id}"> uses the address ${fixed[0]}, which the task doesn't ask for; find it by name or with docker inspect instead, since addresses differ from lab to lab.`);
    }
    exercise.check = check;
    this.#ctx.removeNode(node as never);
  }

  /** A ```sh run block: its host resolved and checked, then listed for the manifest. */
  #runBlock(node: Code, meta: RunMeta, exercise: OpenExercise | undefined, inSolution: boolean): void {
    const hosts = this.#where.hosts;
    const host = meta.host ?? (inSolution && exercise ? exercise.attrs.host : this.#firstHost());
    if (!hosts.includes(host)) {
      return this.#fail(node, hosts.length === 0
        ? 'this lesson has run blocks but no `lab:` in its frontmatter; add one (for example `lab: { hosts: [host1] }`).'
        : `a run block is for host "${host}", but the lesson's lab only has ${hosts.join(', ')}.`);
    }
    if (!node.value.trim()) return this.#fail(node, 'a run block is empty.');
    // A solution block without host= runs where its exercise's check runs; the Run button
    // needs that written on the block, since the Shiki transformer sees one block at a time.
    // A solution block applies where its exercise does, unless it says otherwise.
    const range = meta.since || meta.until || !inSolution || !exercise ? meta : exercise.attrs;
    const extra = [
      ...(!meta.host && host !== hosts[0] ? [`host=${host}`] : []),
      ...(range !== meta && range.since ? [`since=${range.since}`] : []),
      ...(range !== meta && range.until ? [`until=${range.until}`] : []),
    ];
    if (extra.length > 0) this.#ctx.setProperty(node as never, 'meta' as never, [node.meta ?? '', ...extra].join(' ').trim() as never);
    this.blocks.push({
      host,
      code: node.value,
      expect: meta.fails ? 'failure' : 'success',
      ...(inSolution && exercise ? { exercise: exercise.attrs.id } : {}),
      ...(!inSolution && exercise ? { task: exercise.attrs.id } : {}),
      line: node.position?.start.line ?? 0,
      ...(range.since ? { since: range.since } : {}),
      ...(range.until ? { until: range.until } : {}),
    });
    if (inSolution && exercise) exercise.solutionBlocks++;
  }

  #exercise(node: JsxElement, outer: OpenExercise | undefined): void {
    if (outer) return this.#fail(node, `<Exercise> inside <Exercise id="${outer.attrs.id}">; exercises can't be nested.`);
    const ex = this.#openExercise(node);
    // The task is everything but the parts the plugin handles, read before any is removed.
    ex.taskText = (node.children ?? [])
      .filter((c) => c.type !== 'code' && !isJsx(c, EXERCISE_COMPONENTS.solution))
      .map((c) => this.#ctx.textContent(c as never))
      .join('\n');
    for (const child of node.children ?? []) this.walk(child, ex, false, true);
    this.#closeExercise(node, ex);
  }

  /** Read and validate an <Exercise>'s attributes; its check host defaults to the lab's first host. */
  #openExercise(node: JsxElement): OpenExercise {
    const raw: Record<string, unknown> = {};
    for (const attr of node.attributes) {
      if (attr.type !== 'mdxJsxAttribute' || !attr.name) return this.#fail(node, '<Exercise> takes plain attributes only (id, title, host, timeout, since, until), no {...spread}.');
      if (typeof attr.value !== 'string') return this.#fail(node, `<Exercise> attribute ${attr.name} must be a quoted string, like ${attr.name}="..."`);
      raw[attr.name] = attr.value;
    }
    const parsed = exerciseAttrsSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : 'attributes');
      return this.#fail(node, `<Exercise${raw.id ? ` id="${String(raw.id)}"` : ''}> attribute ${field}: ${issue.message}.`);
    }
    const hosts = this.#where.hosts;
    const host = parsed.data.host ?? this.#firstHost();
    if (!hosts.includes(host)) return this.#fail(node, `<Exercise id="${parsed.data.id}"> runs its check on "${host}", but the lesson's lab only has ${hosts.join(', ')}.`);
    const { since, until } = parsed.data;
    return {
      attrs: {
        id: parsed.data.id, title: parsed.data.title, host, timeoutSeconds: parsed.data.timeout ?? CHECK_TIMEOUT_SECONDS.default,
        ...(since ? { since } : {}), ...(until ? { until } : {}),
      },
      line: node.position?.start.line ?? 0,
      wrong: [],
      hints: 0,
      solutions: 0,
      solutionBlocks: 0,
      taskText: '',
    };
  }

  /** Check that the exercise has everything, give the component its resolved attributes, list it. */
  #closeExercise(node: JsxElement, ex: OpenExercise): void {
    const name = `<Exercise id="${ex.attrs.id}">`;
    if (ex.check === undefined) this.#fail(node, `${name} has no check; add a \`\`\`sh check block whose exit status 0 means the exercise is done.`);
    if (ex.hints !== 1) this.#fail(node, `${name} needs exactly one <Hint>, shown when a check fails; it has ${ex.hints}.`);
    if (ex.solutions !== 1) this.#fail(node, `${name} needs exactly one <Solution>; it has ${ex.solutions}.`);
    if (ex.solutionBlocks === 0) this.#fail(node, `${name}'s <Solution> has no \`\`\`sh run block; the solution must be something the learner can run.`);
    if (this.exercises.some((e) => e.id === ex.attrs.id)) this.#fail(node, `${name} appears twice in this lesson; give each exercise its own id.`);
    // The component gets the resolved host: it shows where the check runs.
    setAttributes(this.#ctx, node, [
      { type: 'mdxJsxAttribute', name: 'id', value: ex.attrs.id },
      { type: 'mdxJsxAttribute', name: 'title', value: ex.attrs.title },
      { type: 'mdxJsxAttribute', name: 'host', value: ex.attrs.host },
      ...(ex.attrs.since ? [{ type: 'mdxJsxAttribute', name: 'since', value: ex.attrs.since }] : []),
      ...(ex.attrs.until ? [{ type: 'mdxJsxAttribute', name: 'until', value: ex.attrs.until }] : []),
      ...(ex.setup ? [{ type: 'mdxJsxAttribute', name: 'setup', value: 'true' }] : []),
    ]);
    this.exercises.push({ ...ex.attrs, check: ex.check!, line: ex.line, wrong: ex.wrong, ...(ex.setup ? { setup: ex.setup } : {}) });
  }

  /** A <Hint> or <Solution>: counted, put in its slot of Exercise.astro, its content walked. */
  #part(node: JsxElement, key: 'hint' | 'solution', slot: string, exercise: OpenExercise | undefined, direct: boolean): void {
    const name = EXERCISE_COMPONENTS[key];
    if (!exercise || !direct) return this.#fail(node, `<${name}> belongs directly inside an <Exercise>.`);
    if (key === 'hint') exercise.hints++;
    else exercise.solutions++;
    setAttributes(this.#ctx, node, [...node.attributes, { type: 'mdxJsxAttribute', name: 'slot', value: slot }]);
    for (const child of node.children ?? []) this.walk(child, exercise, key === 'solution');
  }

  /** Run blocks and exercises without host= use the lab's first host; a lesson without a lab has none. */
  #firstHost(): string {
    return this.#where.hosts[0] ?? this.#fail(this.#root, 'this lesson has runnable blocks or exercises but no `lab:` in its frontmatter; add one (for example `lab: { hosts: [host1] }`).');
  }

  #fail(node: Node, message: string): never {
    throw new LessonError(`${this.#where.file}:${node.position?.start.line ?? '?'}: ${message}`);
  }
}
