/**
 * The lab's terminals on screen: one tab and one xterm per lab host, sized to the panel.
 * Loaded with import() when the learner starts a lab (src/client/lab-panel.ts imports only its
 * types before then), so it and the modules it pulls in are the only ones that bring xterm.
 * This module puts the parts together and answers LabView: host-view.ts is one host's tab,
 * xterm and notices, tabs.ts the tab strip and its keys, fit.ts the sizes, theme.ts the
 * colours, status.ts the status sentence, files-tab.ts each host's Files tab beside its terminal's
 * and map-tab.ts the Map tab after the hosts' (the file browser and the map load when their tab
 * is first opened). Behaviour of the sockets (acks, retries) is
 * session.ts's; the Start/Stop buttons and the status line itself are the panel's.
 */
import type { Lab } from './api.ts';
import { terminalText } from './words.ts';
import type { ConnectionState } from './session.ts';
import { Fitter } from './fit.ts';
import { HostView } from './host-view.ts';
import { MAP_TAB, MapTab } from './map-tab.ts';
import { FilesTab, filesTabKey } from './files-tab.ts';
import { labStatus } from './status.ts';
import { TabStrip } from './tabs.ts';
import { followTheme } from './theme.ts';
import { loadXtermCss } from './xterm-css.ts';

export { followRoom, type Room, type RoomParts } from './room.ts';

export interface LabViewHooks {
  /** The lab no longer exists; the view has already closed its sockets. */
  gone(): void;
  /**
   * A sentence for the panel's status line; `reason`: a host's error sentence in it (without the
   * host's name), which says why the lab went if it goes next.
   */
  status(text: string, tone: 'info' | 'error', reason?: string): void;
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
  /** Show host's Files tab and open `path` in its editor, created with `starter` when missing (LabPanelApi.openFile). */
  openFile(host: string, path: string, starter?: string): Promise<void>;
  /** Put keyboard focus in the visible terminal. */
  focus(): void;
  /** Turn xterm's screen reader mode on or off in every terminal. */
  screenReaderMode(on: boolean): void;
  dispose(): void;
}

/** Where the view goes: the panel's (empty) tab strip and terminals box; the hint that describes each terminal's input. */
export interface LabRoot {
  tabs: HTMLElement;
  terminals: HTMLElement;
  keyHint: HTMLElement;
}

/** Show `lab`'s terminals in `root` and connect each to its host's shell. */
export async function mountLab(root: LabRoot, lab: Lab, hooks: LabViewHooks): Promise<LabView> {
  await loadXtermCss();
  return new LabScreen(root, lab, hooks);
}

/** One mounted lab: its host views and the parts that span them, and what their states mean for the panel. */
class LabScreen implements LabView {
  readonly lab: Lab;
  readonly #root: LabRoot;
  readonly #hooks: LabViewHooks;
  /** By host, in the lab's order; emptied on dispose, so a call for any host then does nothing. */
  readonly #views = new Map<string, HostView>();
  readonly #tabs: TabStrip;
  readonly #map: MapTab;
  /** Each host's Files tab, by host. */
  readonly #files = new Map<string, FilesTab>();
  readonly #fitter: Fitter;
  readonly #stopFollowingTheme: () => void;
  #closed = false;

  constructor(root: LabRoot, lab: Lab, hooks: LabViewHooks) {
    this.lab = lab;
    this.#root = root;
    this.#hooks = hooks;
    for (const host of lab.hosts) {
      this.#views.set(host, new HostView(root, lab, host, (view, state, message) => this.#onState(view, state, message)));
    }
    const views = [...this.#views.values()];
    for (const v of views) this.#files.set(v.host, new FilesTab(root, lab, v.host, v.tab));
    this.#map = new MapTab(root, lab);
    // In the strip's order: each host's terminal, then its files; the map last.
    const pairs = [...views.flatMap((v) => [v, this.#files.get(v.host)!]), this.#map];
    this.#tabs = new TabStrip(root.tabs, pairs, () => {
      this.#fitter.fitSoon();
      this.#map.shown(this.#tabs.active === MAP_TAB);
      for (const [host, files] of this.#files) files.shown(this.#tabs.active === filesTabKey(host));
    });
    this.#fitter = new Fitter(views, () => this.#views.get(this.#tabs.active));
    this.#stopFollowingTheme = followTheme((theme) => {
      for (const v of views) v.term.options.theme = theme;
    });

    root.tabs.hidden = false;
    this.#tabs.select(this.#tabs.active); // the first host, shown (and fitted in the next frame)
    // Measure synchronously once so every shell starts at the panel's size, then connect.
    const size = this.#fitter.measure();
    for (const v of views) v.connect(size);
  }

  get closed(): boolean {
    return this.#closed;
  }

  select(host: string): void {
    if (this.#views.has(host)) this.#tabs.select(host);
  }

  whenReady(host: string): Promise<void> {
    const v = this.#views.get(host);
    if (!v) return Promise.reject(new Error(terminalText().noSuchHost(host)));
    if (v.state === 'exited' || v.state === 'failed') v.reopen();
    return v.conn.whenReady();
  }

  type(host: string, lines: readonly string[]): void {
    this.#views.get(host)?.type(lines);
  }

  async openFile(host: string, path: string, starter?: string): Promise<void> {
    const files = this.#files.get(host);
    if (!files) throw new Error(terminalText().noSuchHost(host));
    this.#tabs.select(files.host);
    await files.openFile(path, starter);
  }

  focus(): void {
    this.#views.get(this.#tabs.active)?.term.focus();
  }

  screenReaderMode(on: boolean): void {
    for (const v of this.#views.values()) v.screenReaderMode(on);
  }

  dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#fitter.dispose();
    this.#stopFollowingTheme();
    this.#tabs.dispose();
    this.#map.dispose();
    for (const f of this.#files.values()) f.dispose();
    for (const v of this.#views.values()) v.dispose();
    this.#views.clear();
    this.#root.tabs.hidden = true;
  }

  /** After a host view has shown its new state: what it means for the lab and the status line. */
  #onState(view: HostView, state: ConnectionState, message: string | undefined): void {
    if (state === 'gone') {
      // One host gone means the lab is gone: the panel takes over from here.
      if (!this.#closed) {
        this.dispose();
        this.#hooks.gone();
      }
      return;
    }
    // An `error` control message arrives with the state unchanged; the learner should still see it.
    if (message !== undefined && state !== 'failed') this.#hooks.status(terminalText().hostMessage(view.host, message), 'error', message);
    else if (!this.#closed) {
      const { text, tone, reason } = labStatus([...this.#views.values()], this.lab.idleTimeoutSeconds);
      this.#hooks.status(text, tone, reason);
    }
  }
}
