// Kept thin: the markdown pieces live in src/markdown/ so they can be read (and type-checked) on their own.
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';
import { satteri } from '@astrojs/markdown-satteri';
import { runBlocks } from './src/markdown/shiki-run-blocks.ts';
import { lessonSteps } from './src/markdown/lesson-steps.ts';
import { labManifestOutsideSite } from './src/integrations/lab-manifest.ts';
import { MOVED_LESSONS } from './src/lib/moved-lessons.ts';
import { DEFAULT_LOCALE, LOCALES } from './src/i18n/locales.ts';

export default defineConfig({
  // Where the site is published. Only the hreflang alternates need it (they must be absolute URLs); set
  // SITE_URL when building for a public address. The default is where `npm start` serves it.
  site: process.env.SITE_URL || 'http://127.0.0.1:4321',
  // English at the root as before, each other language under its own prefix (/zh/): the pages
  // themselves are src/pages/[...lang]/, one file for every language (src/lib/locale-routes.ts).
  i18n: { locales: [...LOCALES], defaultLocale: DEFAULT_LOCALE, routing: { prefixDefaultLocale: false } },
  // The lab manifest (every exercise's check) leaves dist/ once the build is done.
  integrations: [mdx(), labManifestOutsideSite()],
  // The runner serves /lessons/x/ and /lessons/x alike (sandbox/src/static.ts), so no rewrites are needed.
  trailingSlash: 'ignore',
  build: { format: 'directory' },
  // Old chapter URLs lead to the chapter's new one (a static page with a meta refresh).
  redirects: Object.fromEntries(Object.entries(MOVED_LESSONS).map(([from, to]) => [`/lessons/${from}`, `/lessons/${to}`])),
  markdown: {
    // Collects each lesson's exercises and runnable blocks for the lab manifest, and fails the
    // build on a malformed exercise (src/markdown/lesson-steps.ts).
    processor: satteri({ mdastPlugins: [lessonSteps()] }),
    shikiConfig: {
      // Both themes are emitted as CSS variables (--shiki-light / --shiki-dark) and
      // src/styles/code.css picks one by the page's data-theme, so the toggle needs no re-render.
      themes: { light: 'github-light', dark: 'github-dark' },
      defaultColor: false,
      transformers: [runBlocks()],
    },
  },
  devToolbar: { enabled: false },
});
