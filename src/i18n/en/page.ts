/**
 * English words of what a page's scripts show as it loads and before Start lab: the lab panel,
 * the terminals' sentences, exercises, code blocks, progress, engine marks, previews and search.
 * A block per area, as en.ts composes them; a file of their own so the browser's bundle takes
 * these and not the words of the Map tab or the instructor dashboard (a lesson page's JavaScript
 * budget, e2e/lesson.test.ts). Lists of hosts come joined with `lab.listSeparator`.
 */
import type { CheckStatus } from '../../../contract/api.ts';

/**
 * What the lab panel's script says (src/client/lab-panel.ts, terminal/room.ts); its markup's words are en.ts's labPanel.
 * Lists of hosts come joined with `listSeparator`.
 */
export const lab = {
  listSeparator: ', ',
  engineDefault: (version: string) => `${version} (default)`,
  engineRunning: (version: string) => `Docker Engine ${version}`,
  start: 'Start lab',
  startAgain: 'Start a new lab',
  stop: 'Stop lab',
  starting: 'Starting…',
  stopping: 'Stopping…',
  reconnecting: 'Reconnecting…',
  askHelp: 'Ask for help',
  cancelHelp: 'Cancel help request',
  stopped: 'Lab stopped: its hosts and everything you ran on them are gone. Start lab gives you fresh ones.',
  stopFailed: 'Could not reach the lab server to stop the lab; it will be removed on its own when it expires.',
  noSuchHost: (host: string) => `This lesson's lab has no host named ${host}.`,
  noHost: '(none)',
  notReady: (host: string, seconds: number) => `The shell on ${host} did not become ready in ${seconds} seconds. Stop the lab and start a new one.`,
  noLabToCheck: 'Start the lab and do the task first: the check looks at what you did in your lab.',
  codeForExercise: 'This workshop needs an access code: enter it in the lab panel, then press Start exercise again.',
  reconnectingToLab: 'Reconnecting to your lab…',
  engineStarting: (hosts: string) => `Still starting the Docker engine on ${hosts}: this machine is slower than usual. Your terminal's prompt comes as soon as it is ready.`,
  startingLab: (hosts: string) => `Starting your lab (${hosts})… this takes a few seconds.`,
  gone: (reason: string) => `${reason} Start a new lab to continue; you will need to repeat earlier steps.`,
  nameNotSent: 'Your name could not be sent to the instructor; it will be sent with your next lab.',
  helpNotSent: (why: string) => `The help request could not be sent: ${why}`,
};

/** What the lab panel says about the lab server and its API (src/client/terminal/api.ts, check.ts), before and after Start lab. */
export const labApi = {
  unreachable: 'The lab server is not reachable: it is not running, or the connection to it dropped. Start it (npm start) and try again.',
  unavailable:
    'Labs are unavailable here: this copy of the site is served without the lab server, so there is nothing to run a lab on. Serve the course with npm start to get terminals.',
  gone: 'This lab has expired or was removed.',
  mismatch: 'The lab server sent a reply this page does not understand; the site and the server may be different versions. Rebuild and restart both.',
  loadFailed: 'The terminal code could not be loaded (the connection dropped, or the site was rebuilt since this page was opened). Reload the page and try again.',
  unexpected: (status: number) => `The lab server answered with an unexpected error (HTTP ${status}). Try again in a moment.`,
  checkNoAnswer: (seconds: number) => `The lab server did not answer the check in ${seconds} seconds. Reload the page; if your lab is gone, start a new one.`,
  setupNoAnswer: (seconds: number) =>
    `The lab server did not answer the start of the exercise in ${seconds} seconds. Reload the page; if your lab is gone, start a new one.`,
};

/** An exercise (src/components/Exercise.astro, Hint, Solution; src/client/exercise.ts). */
export const exercise = {
  title: (title: string) => `Exercise: ${title}`,
  passedPill: 'Passed',
  start: 'Start exercise',
  check: 'Check',
  looksAt: (host: string) => `The check looks at ${host} in your lab.`,
  hint: 'Hint',
  showSolution: 'Show solution',
  notStarted: 'Press Start exercise first: it sets the problem up in your lab (and starts the lab if needed). Then Check looks at your fix.',
  checkBeforeStart: 'Not yet: this exercise starts with Start exercise, which sets up the problem in your lab. Press it first, then Check.',
  ready: 'The exercise is ready in your lab. Do the task, then press Check.',
  passedEarlier: 'Passed earlier in this browser. Check again any time.',
  otherEngine: (why: string) => `${why} Start a lab on another engine to do this exercise.`,
  noLabToStart: 'This page has no lab to start the exercise in.',
  noLabToCheck: 'This page has no lab to check the exercise in.',
  starting: 'Starting the exercise in your lab…',
  checking: 'Checking your lab…',
  passed: 'Passed.',
  notYet: 'Not yet.',
  output: 'What the check printed',
  /**
   * A check's outcome, for pages not in English: an English page shows the runner's sentence
   * (CheckResult.message), which names the exercise, its host and its time limit.
   */
  checkStatus: {
    passed: 'Passed: the check found what the exercise asks for.',
    failed: 'Not yet: the check did not pass. Read the hint and what the check printed, then try again.',
    'timed-out': 'The check did not finish in time, so it was stopped. Your lab is still usable: check that nothing you started is stuck, then press Check again.',
  } satisfies Record<CheckStatus, string>,
};

/** Copy and Run buttons on code blocks (src/client/code-blocks.ts). */
export const code = {
  run: 'Run',
  runOn: (host: string) => `Run on ${host}`,
  runsOn: (host: string) => `Runs on lab host ${host}`,
  running: 'Running…',
  sent: 'Sent',
  sentTo: (host: string) => `Sent to ${host}'s terminal.`,
  copy: 'Copy',
  copyCode: 'Copy code',
  copied: 'Copied',
  copiedSaid: 'Copied to the clipboard.',
  copyFailed: 'Copy failed',
  copyFailedSaid: 'Could not copy: the browser refused clipboard access. Select the text and copy it by hand.',
};

/** Progress marks and Reset progress (src/client/progress-marks.ts). */
export const progress = {
  confirmReset: 'Reset your progress? This browser forgets which chapters you visited and which exercises you passed. Your labs are not affected.',
  resetDone: 'Progress reset: no chapters visited, no exercises passed.',
  allPassed: (total: number) => `all ${total} exercises passed`,
  somePassed: (done: number, total: number) => `${done} of ${total} exercises passed`,
};

/** What applies to which Docker Engine (EngineNote.astro, src/client/engine-marks.ts). */
export const engine = {
  /** A version range as words; '' for a missing end. */
  range: (since: string, until: string) =>
    since && until ? `${since} up to (not including) ${until}` : since ? `${since} and later` : until ? `before ${until}` : '',
  noteTitle: (range: string) => `Docker Engine ${range}`,
  notFor: (range: string, version: string) => `This is for Docker Engine ${range}; your lab runs Engine ${version}.`,
  applies: (version: string) => `Applies to your lab (Engine ${version})`,
  notApplies: (version: string) => `Not for your lab (Engine ${version})`,
};

/** A web preview link in a lesson (Preview.astro, src/client/preview-link.ts). */
export const preview = {
  waiting: (port: number, host: string) => `Becomes a link once a container in your lab publishes port ${port} on ${host}`,
  newTab: (host: string, port: number) => `${host}:${port}, in a new tab`,
};

/** The search dialog (SearchDialog.astro, src/client/chrome.ts). */
export const search = {
  title: 'Search the course',
  close: 'Close search',
  devServer: 'Search is available in the built site (npm run build), not in the development server.',
  noIndex: 'Search is available in the built site, but its index could not be loaded. Rebuild the site with npm run build.',
};
