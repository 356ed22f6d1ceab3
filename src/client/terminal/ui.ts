/**
 * The lab's terminals on screen: one tab and one xterm per lab host, sized to the panel.
 * Loaded with import() when the learner starts a lab; this is the only module that
 * imports xterm. Behaviour (sockets, acks, retries) lives in session.ts.
 */
import { Terminal, type ITheme } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
// As a URL, not a CSS import: Astro would hoist an imported stylesheet into every lesson
// page's <head>, and the point of this module is that nothing of xterm loads before Start.
import xtermCssUrl from '@xterm/xterm/css/xterm.css?url';
import type { Lab } from './api.ts';
import { HostConnection, type ConnectionState } from './session.ts';

export interface LabViewHooks {
  /** The lab no longer exists; the view has already closed its sockets. */
  gone(): void;
  /** A sentence for the panel's status line. */
  status(text: string, tone: 'info' | 'error'): void;
}

export interface LabView {
  readonly lab: Lab;
  /** True once disposed (stopped, or the lab went away). */
  readonly closed: boolean;
  select(host: string): void;
  /** Resolves when host's shell is attached; reopens an ended or failed shell first. */
  whenReady(host: string): Promise<void>;
  /** Type each line into host's shell followed by Enter. */
  type(host: string, lines: readonly string[]): void;
  /** Put keyboard focus in the visible terminal. */
  focus(): void;
  dispose(): void;
}

/**
 * Escape then Tab (within this many ms) moves keyboard focus out of a terminal: Tab alone
 * belongs to the shell (completion), and a keyboard user must never be trapped.
 */
const ESCAPE_TAB_WINDOW_MS = 1500;

const FONT = 'ui-monospace, "SF Mono", "Cascadia Mono", Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace';

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

const currentTheme = () => THEMES[document.documentElement.dataset.theme === 'dark' ? 'dark' : 'light'];

const STATE_WORDS: Record<ConnectionState, string> = {
  connecting: 'connecting',
  ready: 'ready',
  reconnecting: 'reconnecting',
  exited: 'shell ended',
  gone: 'lab gone',
  failed: 'disconnected',
  closed: 'closed',
};

interface HostView {
  host: string;
  tab: HTMLButtonElement;
  tabState: HTMLElement;
  panel: HTMLElement;
  notice: HTMLElement;
  noticeText: HTMLElement;
  noticeButton: HTMLButtonElement;
  term: Terminal;
  fit: FitAddon;
  conn: HostConnection;
  message: string | undefined;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const domId = (host: string) => `lab-${host}`;

let cssLoad: Promise<void> | undefined;

/** xterm measures its character cell when it opens, so its stylesheet must be in place first. */
function loadXtermCss(): Promise<void> {
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

export async function mountLab(root: { tabs: HTMLElement; terminals: HTMLElement }, lab: Lab, hooks: LabViewHooks): Promise<LabView> {
  await loadXtermCss();
  const views = new Map<string, HostView>();
  let active = lab.hosts[0]!;
  let disposed = false;
  let fitFrame = 0;

  // Not lab.expiresAt: at creation that is the idle deadline, which moves once a terminal is open.
  const idleMinutes = Math.round(lab.idleTimeoutSeconds / 60);
  const expiresText =
    idleMinutes > 0 ? ` If no terminal is open for ${idleMinutes} minute${idleMinutes === 1 ? '' : 's'}, it is removed.` : '';

  function summarize() {
    if (disposed) return;
    const all = [...views.values()];
    const failed = all.find((v) => v.conn.state === 'failed');
    if (failed) return hooks.status(failed.message ?? `Lost the connection to ${failed.host}.`, 'error');
    const errored = all.find((v) => v.message && v.conn.state !== 'ready');
    if (errored?.message) return hooks.status(`${errored.host}: ${errored.message}`, 'error');
    const waiting = all.filter((v) => v.conn.state !== 'ready');
    if (waiting.length === 0) {
      return hooks.status(`Lab running: ${lab.hosts.join(', ')} ${lab.hosts.length === 1 ? 'is' : 'are'} ready.${expiresText}`, 'info');
    }
    const words = waiting.map((v) =>
      v.conn.state === 'reconnecting'
        ? `lost the connection to ${v.host}, reconnecting…`
        : v.conn.state === 'exited'
          ? `the shell on ${v.host} ended.`
          : `connecting to ${v.host}…`,
    );
    const sentence = words.join('; ');
    hooks.status(sentence.charAt(0).toUpperCase() + sentence.slice(1), 'info');
  }

  function showNotice(v: HostView, text: string | undefined, action?: string) {
    v.notice.hidden = text === undefined;
    v.noticeText.textContent = text ?? '';
    v.noticeButton.hidden = action === undefined;
    v.noticeButton.textContent = action ?? '';
  }

  function onState(v: HostView, state: ConnectionState, message?: string) {
    if (message !== undefined) v.message = message;
    else if (state === 'ready' || state === 'connecting') v.message = undefined;
    v.tab.dataset.state = state;
    v.tabState.textContent = `, ${STATE_WORDS[state]}`;
    v.panel.dataset.state = state;
    switch (state) {
      case 'exited':
        showNotice(v, `The shell on ${v.host} ended.`, 'Open a new shell');
        break;
      case 'failed':
        showNotice(v, v.message ?? `Lost the connection to ${v.host}.`, 'Reconnect');
        break;
      case 'gone':
        // One host gone means the lab is gone: the panel takes over from here.
        if (!disposed) {
          dispose();
          hooks.gone();
        }
        return;
      default:
        showNotice(v, undefined);
    }
    // An `error` control message arrives with the state unchanged; the learner should still see it.
    if (message !== undefined && state !== 'failed') hooks.status(`${v.host}: ${message}`, 'error');
    else summarize();
  }

  function fitAll() {
    cancelAnimationFrame(fitFrame);
    fitFrame = requestAnimationFrame(() => {
      const v = views.get(active);
      const dims = v?.fit.proposeDimensions();
      if (!dims || !Number.isFinite(dims.cols) || !Number.isFinite(dims.rows) || dims.cols < 2 || dims.rows < 1) return;
      // Hidden tabs can't be measured; they share the panel, so they get the visible one's size.
      for (const other of views.values()) {
        if (other.term.cols !== dims.cols || other.term.rows !== dims.rows) other.term.resize(dims.cols, dims.rows);
      }
    });
  }

  function select(host: string, focusTab = false) {
    if (!views.has(host)) return;
    active = host;
    for (const v of views.values()) {
      const on = v.host === host;
      v.tab.setAttribute('aria-selected', String(on));
      v.tab.tabIndex = on ? 0 : -1;
      v.panel.hidden = !on;
    }
    if (focusTab) views.get(host)!.tab.focus();
    fitAll();
  }

  for (const host of lab.hosts) {
    const tab = el('button', 'lab-tab');
    tab.type = 'button';
    tab.id = `${domId(host)}-tab`;
    tab.setAttribute('role', 'tab');
    tab.setAttribute('aria-controls', `${domId(host)}-panel`);
    tab.dataset.host = host;
    const tabState = el('span', 'visually-hidden');
    tab.append(el('span', 'lab-tab-dot'), document.createTextNode(host), tabState);

    const panel = el('div', 'lab-terminal');
    panel.id = `${domId(host)}-panel`;
    panel.setAttribute('role', 'tabpanel');
    panel.setAttribute('aria-labelledby', tab.id);
    panel.dataset.host = host;
    const screen = el('div', 'lab-xterm');
    const notice = el('div', 'lab-notice');
    const noticeText = el('p', 'lab-notice-text');
    const noticeButton = el('button', 'button button-primary');
    noticeButton.type = 'button';
    notice.append(noticeText, noticeButton);
    notice.hidden = true;
    panel.append(screen, notice);
    root.tabs.append(tab);
    root.terminals.append(panel);

    const term = new Terminal({
      fontFamily: FONT,
      fontSize: 14,
      lineHeight: 1.15,
      cursorBlink: true,
      scrollback: 5000,
      theme: currentTheme(),
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(screen);

    const v: HostView = {
      host, tab, tabState, panel, notice, noticeText, noticeButton, term, fit, message: undefined,
      conn: new HostConnection(
        lab,
        host,
        {
          write: (data, written) => term.write(data, written),
          notice: (text, tone) => term.write(`\r\n\x1b[${tone === 'error' ? '1;31' : '2'}m[lab] ${text}\x1b[0m\r\n`),
        },
        { state: (state, message) => onState(v, state, message) },
      ),
    };
    views.set(host, v);

    let lastEscape = 0;
    term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown') return true;
      if (e.key === 'Escape') lastEscape = e.timeStamp;
      // Returning false leaves the key to the browser, which moves focus.
      else if (e.key === 'Tab' && e.timeStamp - lastEscape < ESCAPE_TAB_WINDOW_MS) return false;
      return true;
    });
    term.onData((data) => v.conn.input(data));
    term.onBinary((data) => v.conn.input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    term.onResize(({ cols, rows }) => v.conn.resize(cols, rows));
    tab.addEventListener('click', () => select(host));
    noticeButton.addEventListener('click', () => {
      v.message = undefined;
      showNotice(v, undefined);
      v.conn.open();
      term.focus();
    });
  }

  // Arrow keys move between tabs (WAI-ARIA tabs pattern, automatic activation).
  root.tabs.addEventListener('keydown', (e) => {
    const order = lab.hosts;
    const i = order.indexOf(active);
    const next =
      e.key === 'ArrowRight' ? order[(i + 1) % order.length]
      : e.key === 'ArrowLeft' ? order[(i - 1 + order.length) % order.length]
      : e.key === 'Home' ? order[0]
      : e.key === 'End' ? order[order.length - 1]
      : undefined;
    if (next === undefined) return;
    e.preventDefault();
    select(next, true);
  });

  // Each terminal's own box, not the panel: a notice bar below the terminal shrinks it too.
  const resizeObserver = new ResizeObserver(fitAll);
  for (const v of views.values()) resizeObserver.observe(v.term.element!.parentElement!);
  const themeObserver = new MutationObserver(() => {
    for (const v of views.values()) v.term.options.theme = currentTheme();
  });
  themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['data-theme'] });

  root.tabs.hidden = false;
  select(active);
  // Measure synchronously once so every shell starts at the panel's size, then connect.
  const first = views.get(active)!;
  const dims = first.fit.proposeDimensions();
  for (const v of views.values()) {
    if (dims && Number.isFinite(dims.cols) && Number.isFinite(dims.rows)) v.term.resize(dims.cols, dims.rows);
    v.conn.resize(v.term.cols, v.term.rows);
    v.conn.open();
  }

  function dispose() {
    if (disposed) return;
    disposed = true;
    cancelAnimationFrame(fitFrame);
    resizeObserver.disconnect();
    themeObserver.disconnect();
    for (const v of views.values()) {
      v.conn.close();
      v.term.dispose();
      v.tab.remove();
      v.panel.remove();
    }
    views.clear();
    root.tabs.hidden = true;
  }

  return {
    lab,
    get closed() {
      return disposed;
    },
    select: (host) => select(host),
    whenReady(host) {
      const v = views.get(host);
      if (!v) return Promise.reject(new Error(`This lab has no host named ${host}.`));
      if (v.conn.state === 'exited' || v.conn.state === 'failed') {
        showNotice(v, undefined);
        v.conn.open();
      }
      return v.conn.whenReady();
    },
    type(host, lines) {
      const v = views.get(host);
      if (!v) return;
      // One write per line, as if typed: the TTY queues them, so a multi-line block runs in order.
      for (const line of lines) v.conn.input(`${line}\r`);
    },
    focus: () => views.get(active)?.term.focus(),
    dispose,
  };
}
