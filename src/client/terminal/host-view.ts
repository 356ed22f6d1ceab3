/**
 * One lab host on screen: its tab, its panel (an xterm plus a notice bar for an ended or lost
 * shell), and the HostConnection (session.ts) between the xterm and the host's shell. It shows
 * the connection's state on the tab, the panel and the notice bar. It does not choose which tab
 * is visible (tabs.ts), size the terminal (fit.ts), word the panel's status line (status.ts) or
 * decide what a gone lab means (ui.ts): it reports each state change to its owner.
 */
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import type { Lab } from './api.ts';
import { terminalText } from './words.ts';
import { HostConnection, type ConnectionState } from './session.ts';
import type { Size } from './fit.ts';
import { currentTheme, TERMINAL_FONT } from './theme.ts';

/**
 * Escape then Tab (within this many ms) moves keyboard focus out of a terminal: Tab alone
 * belongs to the shell (completion), and a keyboard user must never be trapped.
 */
const ESCAPE_TAB_WINDOW_MS = 1500;
/** Keys that only change another key: Shift between Escape and Tab still makes Esc, Shift+Tab. */
const MODIFIER_KEYS = new Set(['Shift', 'Control', 'Alt', 'Meta']);

/** WCAG 2's AA contrast for normal text (1.4.3), which the e2e axe test holds the lab panel to. */
const MINIMUM_CONTRAST_RATIO = 4.5;


/** Told after the view has shown a state change (`message`: an error sentence, if one came with it). */
export type StateListener = (view: HostView, state: ConnectionState, message: string | undefined) => void;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

const domId = (host: string) => `lab-${host}`;

/**
 * On each host's tab and panel: the host it stands for, and its shell's ConnectionState (lab.css
 * colours the tab's dot by it; the e2e tests find a host's terminal and wait for states by them).
 */
const H = { host: 'data-host', state: 'data-state' } as const;

export class HostView {
  readonly host: string;
  readonly tab: HTMLButtonElement;
  readonly panel: HTMLElement;
  readonly term: Terminal;
  readonly fit: FitAddon;
  readonly conn: HostConnection;
  /** The last error sentence for this host; cleared when its shell is (re)connecting or ready. */
  message: string | undefined;
  readonly #tabState: HTMLElement;
  readonly #notice: HTMLElement;
  readonly #noticeText: HTMLElement;
  readonly #noticeButton: HTMLButtonElement;
  readonly #onState: StateListener;

  /** Builds the tab and panel into `root`, then opens an xterm in the panel; the shell waits for connect(). */
  constructor(root: { tabs: HTMLElement; terminals: HTMLElement; keyHint: HTMLElement }, lab: Lab, host: string, onState: StateListener) {
    this.host = host;
    this.#onState = onState;
    this.tab = el('button', 'lab-tab');
    this.tab.type = 'button';
    this.tab.id = `${domId(host)}-tab`;
    this.tab.setAttribute('role', 'tab');
    this.tab.setAttribute('aria-controls', `${domId(host)}-panel`);
    this.tab.setAttribute(H.host, host);
    this.#tabState = el('span', 'visually-hidden');
    this.tab.append(el('span', 'lab-tab-dot'), document.createTextNode(host), this.#tabState);

    this.panel = el('div', 'lab-terminal');
    this.panel.id = `${domId(host)}-panel`;
    this.panel.setAttribute('role', 'tabpanel');
    this.panel.setAttribute('aria-labelledby', this.tab.id);
    this.panel.setAttribute(H.host, host);
    const screen = el('div', 'lab-xterm');
    this.#notice = el('div', 'lab-notice');
    this.#noticeText = el('p', 'lab-notice-text');
    this.#noticeButton = el('button', 'button button-primary');
    this.#noticeButton.type = 'button';
    this.#notice.append(this.#noticeText, this.#noticeButton);
    this.#notice.hidden = true;
    this.panel.append(screen, this.#notice);
    // In the document before the xterm opens: it measures its character cell as it opens.
    root.tabs.append(this.tab);
    root.terminals.append(this.panel);

    this.term = new Terminal({
      fontFamily: TERMINAL_FONT,
      fontSize: 14,
      lineHeight: 1.15,
      cursorBlink: true,
      scrollback: 5000,
      theme: currentTheme(),
      // WCAG AA for text: a colour a program picks that is fainter than this against the background is darkened or lightened.
      minimumContrastRatio: MINIMUM_CONTRAST_RATIO,
    });
    this.fit = new FitAddon();
    this.term.loadAddon(this.fit);
    this.term.open(screen);
    // A screen reader says, on entering the terminal, how to leave it.
    this.term.textarea?.setAttribute('aria-describedby', root.keyHint.id);

    const term = this.term;
    this.conn = new HostConnection(
      lab,
      host,
      {
        write: (data, written) => term.write(data, written),
        notice: (text, tone) => term.write(`\r\n\x1b[${tone === 'error' ? '1;31' : '2'}m[lab] ${text}\x1b[0m\r\n`),
      },
      { state: (state, message) => this.#showState(state, message) },
    );
    this.#wireInput();
  }

  /** The shell's connection state. */
  get state(): ConnectionState {
    return this.conn.state;
  }

  /** Start the shell at `size` (the terminal's own size if the panel couldn't be measured). */
  connect(size: Size | undefined): void {
    if (size) this.term.resize(size.cols, size.rows);
    this.conn.resize(this.term.cols, this.term.rows);
    this.conn.open();
  }

  /** Open a new shell, or reconnect, after the old one ended or the connection was lost. */
  reopen(): void {
    this.#showNotice(undefined);
    this.conn.open();
  }

  /** Type each line into the shell followed by Enter. */
  type(lines: readonly string[]): void {
    // One write per line, as if typed: the TTY queues them, so a multi-line block runs in order.
    for (const line of lines) this.conn.input(`${line}\r`);
  }

  /** xterm's screen reader mode: a text copy of the screen, and output read out as it comes. */
  screenReaderMode(on: boolean): void {
    this.term.options.screenReaderMode = on;
  }

  /** Close the shell's connection and take the tab and panel off the page. */
  dispose(): void {
    this.conn.close();
    this.term.dispose();
    this.tab.remove();
    this.panel.remove();
  }

  #wireInput(): void {
    // When Escape was the last key pressed (timeStamp counts from page load: 0 would make a Tab in
    // the first moments after it leave); any other key but a modifier (Shift of Shift+Tab) forgets it.
    let lastEscape = -Infinity;
    this.term.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown' || MODIFIER_KEYS.has(e.key)) return true;
      // Returning false leaves the key to the browser, which moves focus; the shell still got the Escape.
      if (e.key === 'Tab' && e.timeStamp - lastEscape < ESCAPE_TAB_WINDOW_MS) return false;
      lastEscape = e.key === 'Escape' ? e.timeStamp : -Infinity;
      return true;
    });
    this.term.onData((data) => this.conn.input(data));
    this.term.onBinary((data) => this.conn.input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff)));
    this.term.onResize(({ cols, rows }) => this.conn.resize(cols, rows));
    this.#noticeButton.addEventListener('click', () => {
      this.message = undefined;
      this.reopen();
      this.term.focus();
    });
  }

  #showState(state: ConnectionState, message: string | undefined): void {
    if (message !== undefined) this.message = message;
    else if (state === 'ready' || state === 'connecting') this.message = undefined;
    this.tab.setAttribute(H.state, state);
    // How the tab names the state to a screen reader, after the host's name (the dot beside the name shows it to the eye).
    this.#tabState.textContent = terminalText().states[state];
    this.panel.setAttribute(H.state, state);
    if (state === 'exited') this.#showNotice(terminalText().shellEnded(this.host), terminalText().openNewShell);
    else if (state === 'failed') this.#showNotice(this.message ?? terminalText().lostConnection(this.host), terminalText().reconnect);
    // A gone lab is the owner's to handle: it takes the whole view away.
    else if (state !== 'gone') this.#showNotice(undefined);
    this.#onState(this, state, message);
  }

  /** The bar below the terminal: a sentence and, with `action`, a button that reopens the shell. */
  #showNotice(text: string | undefined, action?: string): void {
    this.#notice.hidden = text === undefined;
    this.#noticeText.textContent = text ?? '';
    this.#noticeButton.hidden = action === undefined;
    this.#noticeButton.textContent = action ?? '';
  }
}
