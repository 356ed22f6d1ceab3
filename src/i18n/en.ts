/**
 * English UI text: the catalogue that defines the keys (see index.ts). One block per area of the
 * page; add a key here and the type check asks for it in zh.ts.
 */
export const en = {
  site: {
    title: 'Docker Networking Lab',
    tagline: 'A hands-on course on how Docker connects containers, with a real Docker host in your browser for every chapter.',
  },
  /** The language switch and its announcements. */
  language: {
    switchLabel: 'Language',
    /** Said by the link to the same page in the other language. */
    readIn: (language: string) => `Read this page in ${language}`,
  },
};

export type Messages = typeof en;
