/** Site-wide words and URLs used by more than one layout. */
export const SITE = {
  title: 'Docker Networking Lab',
  tagline: 'A hands-on course on how Docker connects containers, with a real Docker host in your browser for every chapter.',
} as const;

/** Prefix a site path with Astro's base so the site also works under a sub-path. */
export const url = (path: string) => `${import.meta.env.BASE_URL.replace(/\/$/, '')}/${path.replace(/^\//, '')}`;

/** localStorage key for an explicit theme choice (absent = follow the system). */
export const THEME_STORAGE_KEY = 'dnl-theme';
