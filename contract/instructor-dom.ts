/**
 * The DOM names of the instructor dashboard (src/pages/[...lang]/instructor/index.astro renders
 * them, src/client/instructor/dashboard.ts finds its parts by them). Apart from ./dom.ts, which
 * every lesson page loads before Start lab in a chunk its scripts share: a lesson page carries
 * none of the dashboard's names (e2e/files.test.ts looks for one of them).
 */

/** The instructor dashboard (src/pages/instructor/index.astro, src/client/instructor/dashboard.ts). */
export const INSTRUCTOR_TAG = 'instructor-dashboard';

export const INSTRUCTOR_ATTRS = {
  /** On the element: JSON of the course's lessons with labs, `{slug: {title, exercises}}`, for the roster's names. */
  lessons: 'data-lessons',
  /** The status line (role=status): signed out, the dashboard off, the stream reconnecting, an action that failed. */
  status: 'data-instructor-status',
  /** The sign-in form and its password field. */
  signIn: 'data-instructor-signin',
  code: 'data-instructor-code',
  /** Everything shown once signed in; the Sign out button. */
  dashboard: 'data-instructor-dashboard',
  signOut: 'data-instructor-signout',
  /** The capacity line. */
  capacity: 'data-instructor-capacity',
  /** The line saying what a lab that is broken out of gives on this machine (RoomSnapshot capacity.isolation); `data-tone` caution when root-equivalent. */
  isolation: 'data-instructor-isolation',
  /** The message form, its field, the message shown now and the Take down button. */
  broadcast: 'data-instructor-broadcast',
  broadcastText: 'data-instructor-broadcast-text',
  notice: 'data-instructor-notice',
  takeDown: 'data-instructor-take-down',
  /** The warm-for-the-room form, its lesson, engine, count and minutes fields. */
  warm: 'data-instructor-warm',
  warmLesson: 'data-instructor-warm-lesson',
  warmEngine: 'data-instructor-warm-engine',
  warmCount: 'data-instructor-warm-count',
  warmMinutes: 'data-instructor-warm-minutes',
  /** Beside the warm form, shown only in a workshop of several machines: it warms this machine's pool. */
  warmHere: 'data-instructor-warm-here',
  /** The Machines panel (a workshop of several machines only) and its list, one item per machine. */
  machines: 'data-instructor-machines',
  machineList: 'data-instructor-machine-list',
  /** The list of warmings under way (one per lab shape), each with a Cancel button (`data-action="cancel-warm"`, `data-lesson`). */
  warmings: 'data-instructor-warmings',
  lesson: 'data-lesson',
  /** The roster's body: one row per lab, `data-lab-id` on each. */
  roster: 'data-instructor-roster',
  /** On a roster row's buttons: what it does (`watch`, `extend`, `end`, `clear-help`) and, for watch, the host. */
  action: 'data-action',
  host: 'data-host',
  labId: 'data-lab-id',
  /** On a roster row: present while the learner asks for help. */
  needsHelp: 'data-needs-help',
  /** The watch pane, its title, where its terminal goes, and its Close button. */
  watch: 'data-instructor-watch',
  watchTitle: 'data-instructor-watch-title',
  watchTerminal: 'data-instructor-watch-terminal',
  watchClose: 'data-instructor-watch-close',
} as const;
