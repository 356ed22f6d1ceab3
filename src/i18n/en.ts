/**
 * English UI text: the catalogue that defines the keys (see index.ts). One block per area of the
 * page; add a key here and the type check asks for it in zh.ts.
 */
export const en = {
  site: {
    title: 'Docker Networking Lab',
    tagline: 'A hands-on course on how Docker connects containers, with a real Docker host in your browser for every chapter.',
  },
  /** Page chrome: skip links, header, sidebar, previous/next, the lesson header. */
  chrome: {
    skipToContent: 'Skip to content',
    skipToLab: 'Skip to the lab',
    chaptersButton: 'Chapters',
    search: 'Search',
    darkTheme: 'Dark theme',
    courseNavigation: 'Course navigation',
    chapters: 'Chapters',
    overview: 'Course overview',
    visited: 'Visited',
    visitedHidden: '(visited)',
    exercisesPassed: 'Exercises passed',
    labBadge: 'lab',
    labBadgeTitle: 'This chapter has a live lab',
    onThisPage: 'On this page',
    goalsTitle: 'In this chapter you will',
    prevNextLabel: 'Previous and next chapter',
    previous: 'Previous',
    next: 'Next',
  },
  /** The course overview (the home page). */
  overview: {
    /** HTML: `badge` is the lab badge's markup. */
    introHtml: (badge: string) =>
      `Each chapter explains one part of Docker networking and then lets you try it. Chapters marked ${badge} come with a lab panel: real Linux machines, each running its own Docker Engine, with a shell in your browser. Commands in the text have a <strong>Run</strong> button that types them into the right machine for you, or you can type them yourself.`,
    startWith: (title: string) => `Start with “${title}”`,
    chapters: 'Chapters',
    exercisesIn: (title: string) => `Exercises in “${title}”`,
    passedHidden: '(passed)',
    visited: 'Visited',
    progressTitle: 'Your progress',
    progressText:
      'The ticks above show the chapters you have opened and the exercises whose check passed. They are kept in this browser only; nothing is sent anywhere.',
    resetProgress: 'Reset progress',
  },
  /** The language switch and its announcements. */
  language: {
    switchLabel: 'Language',
    /** Said by the link to the same page in the other language. */
    readIn: (language: string) => `Read this page in ${language}`,
  },
};

export type Messages = typeof en;
