/**
 * The DOM names of a lesson's "Open compose.yaml on host1" button (src/components/OpenFile.astro
 * renders it, src/client/open-file.ts answers it). Apart from ./dom.ts, and the script imports
 * nothing of that module: every lesson page loads ./dom.ts before Start lab in a chunk shared by
 * its scripts, which a script of its own importing it would split in two. So only the pages with
 * an <OpenFile> load anything for it (e2e/files.test.ts).
 */
export const OPEN_FILE_ATTRS = {
  /** On the wrapper: the lab host the file is on. */
  host: 'data-file-host',
  /** On the wrapper: the file's path (absolute, `~/…`, or relative to the shell's working directory). */
  path: 'data-file-path',
  /** On the wrapper: the lab panel's tag name (./dom.ts LAB_PANEL_TAG), where the script finds the panel. */
  panel: 'data-file-panel',
  /** The button inside it. */
  button: 'data-file-open',
} as const;
