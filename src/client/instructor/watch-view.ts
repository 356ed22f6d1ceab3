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
import { pageMessages } from '../../i18n/index.ts';

const T = pageMessages().instructor;

export interface WatchView {
  dispose(): void;
}

/** Why a watch closed, for the status line; undefined when it was closed on purpose. */
const CLOSED: Record<number, string> = {
  [CLOSE_CODES.labGone]: T.watchEnded,
  [CLOSE_CODES.tryAgainLater]: T.watchBehind,
  [CLOSE_CODES.goingAway]: T.watchRestart,
};

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
    report(CLOSED[e.code] ?? (e.code === 1006 ? T.watchFailed : T.watchClosed(e.code)));
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
