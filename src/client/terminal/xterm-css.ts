/**
 * xterm's stylesheet, added to the page the first time a terminal is about to open (the lab's
 * terminals, or the instructor's watch view). xterm measures its character cell when it opens,
 * so the stylesheet must be in place first.
 */
// As a URL, not a CSS import: Astro would hoist an imported stylesheet into every lesson
// page's <head>, and the point of the lazy terminal code is that nothing of xterm loads before Start.
import xtermCssUrl from '@xterm/xterm/css/xterm.css?url';

let cssLoad: Promise<void> | undefined;

export function loadXtermCss(): Promise<void> {
  cssLoad ??= new Promise((resolve, reject) => {
    const link = document.createElement('link');
    link.rel = 'stylesheet';
    link.href = xtermCssUrl;
    link.onload = () => resolve();
    link.onerror = () => {
      cssLoad = undefined;
      link.remove();
      reject(new Error('The terminal stylesheet could not be loaded. Reload the page and try again.'));
    };
    document.head.append(link);
  });
  return cssLoad;
}
