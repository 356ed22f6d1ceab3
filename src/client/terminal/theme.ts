/**
 * The terminals' colours, following the page's light or dark theme (data-theme on <html>, set
 * by src/client/chrome.ts), and their font. Size is the host view's, and the theme toggle
 * itself is chrome.ts's.
 */
import type { ITheme } from '@xterm/xterm';

// Contrast checked against each background (text >= 7:1, ANSI colours >= 4.5:1 where possible).
const THEMES: Record<'light' | 'dark', ITheme> = {
  light: {
    background: '#fbfcfd', foreground: '#1f2328', cursor: '#1f2328', cursorAccent: '#fbfcfd',
    selectionBackground: '#b6d6fb', black: '#1f2328', red: '#b31d28', green: '#116329', yellow: '#7a4d00',
    blue: '#0550ae', magenta: '#8250df', cyan: '#1b6b77', white: '#6e7781', brightBlack: '#57606a',
    brightRed: '#a40e26', brightGreen: '#1a7f37', brightYellow: '#633c01', brightBlue: '#0969da',
    brightMagenta: '#a475f9', brightCyan: '#3192aa', brightWhite: '#8c959f',
  },
  dark: {
    background: '#0d1117', foreground: '#e6edf3', cursor: '#e6edf3', cursorAccent: '#0d1117',
    selectionBackground: '#264f78', black: '#484f58', red: '#ff7b72', green: '#3fb950', yellow: '#d29922',
    blue: '#58a6ff', magenta: '#bc8cff', cyan: '#39c5cf', white: '#b1bac4', brightBlack: '#6e7681',
    brightRed: '#ffa198', brightGreen: '#56d364', brightYellow: '#e3b341', brightBlue: '#79c0ff',
    brightMagenta: '#d2a8ff', brightCyan: '#56d4dd', brightWhite: '#ffffff',
  },
};

/** The terminals' font: the platform's monospace, then common fallbacks. */
export const TERMINAL_FONT = 'ui-monospace, "SF Mono", "Cascadia Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace';

/** The xterm theme for the page's theme now. */
export const currentTheme = () => THEMES[document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light'];

/** Call `apply` with the new xterm theme whenever the page's theme changes; returns how to stop. */
export function followTheme(apply: (theme: ITheme) => void): () => void {
  const observer = new MutationObserver(() => apply(currentTheme()));
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });
  return () => observer.disconnect();
}
