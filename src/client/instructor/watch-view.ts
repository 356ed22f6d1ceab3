/**
 * The instructor's read-only view of a learner's terminal: an xterm with input switched off,
 * fed by the watch socket (INSTRUCTOR_ROUTES.watch, protocol.ts WATCH_MESSAGES) and sized as
 * the learner's terminal is, so lines wrap where theirs do. Nothing typed here is sent: the
 * terminal takes no input and the socket has no sender. Imported on the first Watch click.
 */
import { Terminal } from '@xterm/xterm';
import { CLOSE_CODES, parseWatchMessage } from '../../../contract/protocol.ts';
import { currentTheme, followTheme, TERMINAL_FONT } from '../terminal/theme.ts';
import { loadXtermCss } from '../terminal/xterm-css.ts';
import { instructor } from '../../i18n/en/instructor.ts';
import { text } from '../../i18n/page.ts';

export interface WatchView {
  dispose(): void;
}

/** Why a watch closed, for the status line, in the page's language (src/i18n/page.ts). */
function closedWhy(code: number): string {
  const t = text(instructor, (m) => m.instructor);
  const known: Record<number, string> = { [CLOSE_CODES.labGone]: t.watchEnded, [CLOSE_CODES.tryAgainLater]: t.watchBehind, [CLOSE_CODES.goingAway]: t.watchRestart };
  return known[code] ?? (code === 1006 ? t.watchFailed : t.watchClosed(code));
}

export async function watchTerminal(container: HTMLElement, path: string, report: (text: string) => void): Promise<WatchView> {
  await loadXtermCss();
  const term = new Terminal({ disableStdin: true, cursorBlink: false, fontFamily: TERMINAL_FONT, fontSize: 13, scrollback: 2000, theme: currentTheme() });
  container.replaceChildren();
  term.open(container);
  const stopTheme = followTheme((theme) => (term.options.theme = theme));
  const url = new URL(path, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  let disposed = false;
  ws.onmessage = (e) => {
    if (typeof e.data === 'string') {
      const parsed = parseWatchMessage(e.data);
      if (parsed.ok) term.resize(parsed.message.cols, parsed.message.rows);
      return;
    }
    term.write(new Uint8Array(e.data as ArrayBuffer));
  };
  ws.onclose = (e) => {
    if (disposed) return;
    report(closedWhy(e.code));
  };
  return {
    dispose() {
      disposed = true;
      ws.close();
      stopTheme();
      term.dispose();
      container.replaceChildren();
    },
  };
}
