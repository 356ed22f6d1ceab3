/**
 * Names shared by the build (layouts, components, the Shiki transformer) and the browser
 * scripts: element names, data attributes and the lab panel's API. Defined once here. This
 * module must stay dependency-free (type-only imports aside): every page's script imports it.
 */
import type { CheckResult, SetupResult } from './api.ts';

/** The lab panel custom element. */
export const LAB_PANEL_TAG = 'lab-panel';

/**
 * The lab panel's parts: src/layouts/parts/LabPanel.astro renders them, src/client/lab-panel.ts
 * finds them and src/client/terminal/ fills the tab strip and the terminals. The attributes on
 * each host's tab and panel are not here but in src/client/terminal/host-view.ts, the one module
 * that writes them: importing this module there would make the lazily loaded terminal code share
 * a chunk with the page, which costs every lesson page a preload list before Start lab.
 */
export const LAB_ATTRS = {
  /** On the element: the slug of the lesson whose lab it starts. */
  lesson: 'data-lesson',
  /** On the element: the lab's hosts, comma-separated, in the author's order (Run buttons read it too). */
  hosts: 'data-hosts',
  /** The Start lab button. */
  start: 'data-lab-start',
  /** The Stop lab button. */
  stop: 'data-lab-stop',
  /** The status line (role=status); its `data-tone` is `info` or `error`. */
  status: 'data-lab-status',
  /** The access-code form, shown when the runner asks for a code. */
  code: 'data-lab-code',
  /** Its password field. */
  codeInput: 'data-lab-code-input',
  /**
   * The "Screen reader mode" checkbox: xterm's screenReaderMode in every terminal of the lab,
   * remembered by the browser. Beside it, the hint naming the key that leaves a terminal (its id
   * describes each terminal's input).
   */
  screenReader: 'data-lab-screen-reader',
  keys: 'data-lab-keys',
  /** The tab strip (role=tablist), hidden until a lab is running: one tab per host. */
  tabs: 'data-lab-tabs',
  /** Where each host's terminal panel (role=tabpanel) goes. */
  terminals: 'data-lab-terminals',
  /** The room strip (hidden until a lab runs): the instructor's message, help, being watched, the name. */
  room: 'data-lab-room',
  /** The instructor's message (role=alert), its text and its Dismiss button. */
  notice: 'data-lab-notice',
  noticeText: 'data-lab-notice-text',
  noticeDismiss: 'data-lab-notice-dismiss',
  /** Shown while an instructor watches one of this lab's terminals. */
  watching: 'data-lab-watching',
  /** Says which hosts' Docker engines are still starting (a slow machine), hidden once none is. */
  starting: 'data-lab-starting',
  /** The Ask for help button (aria-pressed while asking); shown when the runner has an instructor dashboard. */
  help: 'data-lab-help',
  /** The form asking, once per browser, the learner's name for the instructor; its field and Skip button. */
  name: 'data-lab-name',
  nameInput: 'data-lab-name-input',
  nameSkip: 'data-lab-name-skip',
  /** The web previews (hidden while there are none) and its list: one link per published port ("host1:8080"). */
  previews: 'data-lab-previews',
  previewList: 'data-lab-preview-list',
  /**
   * The choice of Docker Engine before Start lab (hidden until the runner says which it offers,
   * and while a lab runs) and its select (values: ENGINES ids, remembered by the browser); the
   * running lab's engine, shown instead while it runs.
   */
  engineChoice: 'data-lab-engine-choice',
  engine: 'data-lab-engine',
  engineRunning: 'data-lab-engine-running',
} as const;

/** Attributes the Shiki transformer writes on a runnable `<pre>`. */
export const RUN_ATTRS = {
  /** Present on ```` ```sh run ```` blocks. */
  run: 'data-run',
  /** The lab host named with `host=`; absent means the lab's first host. */
  host: 'data-run-host',
} as const;

/**
 * Where a part of a page applies, by Docker Engine version (contract/labspec.ts engineInRange):
 * on version notes (<EngineNote>), on run blocks with since=/until= and on exercises with
 * since/until. The page marks those that apply to the lab's chosen engine.
 */
export const ENGINE_ATTRS = {
  since: 'data-engine-since',
  until: 'data-engine-until',
  /**
   * Set by the page (src/client/engine-marks.ts) on each of those elements: `yes` when it applies
   * to the engine of the lab (the running one, else the one chosen in the lab panel), `no` when
   * not. A version note gets a label saying so; a run block's Run button and an exercise's Check
   * read `why`, the sentence saying which engine it needs, when it is `no`.
   */
  applies: 'data-engine-applies',
  why: 'data-engine-why',
  /** The label the page puts in a version note: "Applies to your lab (Engine 26.1.5)". */
  label: 'data-engine-label',
} as const;

/**
 * Dispatched on `document` after the page marked its ENGINE_ATTRS elements anew (the lab panel's
 * engine changed: chosen, started, stopped). `detail`: the Docker Engine version it marked for.
 */
export const LAB_ENGINE_EVENT = 'lab-engine';

/**
 * What a Run or Check button may ask of the lab panel. The element implements it; other
 * scripts call it after `customElements.whenDefined(LAB_PANEL_TAG)`.
 */
export interface LabPanelApi {
  /** Hosts of this lesson's lab, in the author's order (the first is the default). */
  readonly hosts: readonly string[];
  /**
   * Type `lines` into `host`'s shell, each followed by Enter: starts the lab if needed,
   * switches to that host's tab and waits until its shell is ready. Rejects with an Error
   * whose message is a sentence for the learner.
   */
  run(lines: readonly string[], host?: string): Promise<void>;
  /**
   * Run an exercise's check in the running lab. Never starts a lab: a fresh one could only
   * say "not yet". Resolves for passed, failed and timed-out checks alike; rejects with an
   * Error whose message is a sentence for the learner (no lab running, lab gone, busy).
   */
  check(exerciseId: string): Promise<CheckResult>;
  /**
   * Start an exercise that has a setup: starts the lab if needed, then has the runner run the
   * setup (once per lab). Rejects with an Error whose message is a sentence for the learner.
   */
  startExercise(exerciseId: string): Promise<SetupResult>;
  /** The exercises started in the running lab; undefined while no lab runs (LAB_EXERCISES_EVENT tells of changes). */
  readonly startedExercises: readonly string[] | undefined;
}

/**
 * The event the lab panel dispatches on `document` when the exercises started in its lab change:
 * a lab was started or resumed after a reload (`detail.started` as the runner knows it), an
 * exercise was started, or (`detail` null) the lab ended or stopped.
 */
export const LAB_EXERCISES_EVENT = 'lab-exercises';
export type LabExercisesDetail = { started: readonly string[] } | null;

/** An exercise: src/components/Exercise.astro renders it, src/client/exercise.ts defines it. */
export const EXERCISE_TAG = 'lesson-exercise';

export const EXERCISE_ATTRS = {
  /** On the element: the exercise id (unique across the course; progress is stored under it). */
  id: 'data-exercise-id',
  /** On the element: the slug of the lesson it belongs to. */
  lesson: 'data-exercise-lesson',
  /** On the element: the status of the last check in this page (a CHECK_STATUS value). */
  result: 'data-result',
  /** The Check button. */
  check: 'data-exercise-check',
  /** On the element: present when the exercise has a setup, which its Start exercise button runs. */
  setup: 'data-exercise-setup',
  /** The Start exercise button (exercises with a setup). */
  start: 'data-exercise-start',
  /** On the element: set by the script once the exercise was started in the running lab. */
  started: 'data-started',
  /** The status line (role=status). */
  status: 'data-exercise-status',
  /** The "Passed" mark in the heading. */
  tick: 'data-exercise-tick',
  /** Hint.astro's wrapper: hidden until a check fails. */
  hint: 'data-exercise-hint',
  /** Where the failed check's output goes. */
  output: 'data-exercise-output',
} as const;

/** The id of an exercise's heading, for links to it (the overview lists exercises). */
export const exerciseAnchor = (exerciseId: string) => `exercise-${exerciseId}`;

/**
 * Progress marks (src/client/progress-marks.ts fills them in from src/client/progress.ts).
 * Pages server-render which lesson or exercise an element stands for; the script needs no
 * manifest.
 */
export const PROGRESS_ATTRS = {
  /** On a lesson page: the slug this page records as visited. */
  visit: 'data-progress-visit',
  /** An element standing for a lesson (its slug); gets `visited` and `complete`. */
  lesson: 'data-progress-lesson',
  /** On the same element: the lesson's exercise ids, comma-separated (empty: none). */
  exercises: 'data-progress-exercises',
  /** An element standing for one exercise (its id); gets `passed` (as does the exercise itself). */
  exercise: 'data-progress-exercise',
  /** State the script sets on those elements, for styling and tests. */
  visited: 'data-visited',
  complete: 'data-complete',
  passed: 'data-passed',
  /** A descendant shown only while its lesson/exercise element is in that state: `visited` or `passed`. */
  showWhen: 'data-progress-show',
  /** A descendant that shows done/total of the lesson's exercises, or a tick when all are done. */
  count: 'data-progress-count',
  /** A button that wipes all progress (after confirm()). */
  reset: 'data-progress-reset',
  /** The status line next to it. */
  resetStatus: 'data-progress-reset-status',
} as const;

/**
 * The language switch in the header (src/layouts/parts/SiteHeader.astro, src/client/language-switch.ts):
 * a link to the same page in another language that keeps the reader's section and remembers the choice.
 */
export const LANGUAGE_ATTRS = {
  /** The locale the link leads to. */
  to: 'data-lang-to',
  /** On a chapter: this page's section (heading) ids in order, space-separated. */
  sections: 'data-lang-sections',
  /** The other language's section ids of the same chapter, in the same order (sections match by position). */
  targetSections: 'data-lang-target-sections',
} as const;

/** `[attr]` or `[attr="value"]`, for querySelector (values here are ids and slugs: no quotes). */
export const sel = (attr: string, value?: string) => (value === undefined ? `[${attr}]` : `[${attr}="${value}"]`);

/**
 * The event the lab panel dispatches on `document` whenever its lab's event state changes
 * (`detail`: protocol.ts LabEventState), and with `detail` null when the lab ends or stops.
 * Elements in the lesson text that depend on the lab (a preview link) listen for it.
 */
export const LAB_STATE_EVENT = 'lab-state';

/**
 * A link to a web preview in the lesson text: src/components/Preview.astro renders it,
 * src/client/preview-link.ts defines it. Inert text until the lab's state (LAB_STATE_EVENT)
 * lists a preview of that host and port; a link to it from then on.
 */
export const PREVIEW_TAG = 'lab-preview';

export const PREVIEW_ATTRS = {
  /** On the element: the lab host whose published port it opens. */
  host: 'data-preview-host',
  /** On the element: the port published on that host. */
  port: 'data-preview-port',
  /** Set by the script while the element is a link. */
  live: 'data-live',
} as const;
