/**
 * A tab whose panel's code loads when the learner first opens it (the Map, each host's Files):
 * its tab button and empty panel from the start, then one dynamic import on first use, so a page
 * whose learner never opens the tab never loads it. Shown and hidden with the strip's selection;
 * when the import fails (the network dropped, a new deploy removed the chunk) the panel says so
 * in a sentence instead of staying blank. map-tab.ts and files-tab.ts are the two kinds.
 */
import type { TabPair } from './tabs.ts';

/** What a loaded panel does: follow the tab's visibility, and end with it. */
export interface PanelView {
  show(): void;
  hide(): void;
  dispose(): void;
}

export interface LazyTabOptions<V extends PanelView> {
  /** The tab's key in the strip: not a host name (hosts are DNS labels). */
  key: string;
  /** Element ids: `${id}-tab` and `${id}-panel`. */
  id: string;
  label: string;
  tabClass: string;
  panelClass: string;
  /** Imports the panel's code; resolves to what mounts it into the panel (not called once the tab went). */
  load: () => Promise<(panel: HTMLElement) => V>;
  /** The sentence shown when the import fails, and its class (each panel styles its own status line). */
  failed: { text: string; className: string };
}

export class LazyTab<V extends PanelView> implements TabPair {
  readonly host: string;
  readonly tab: HTMLButtonElement;
  readonly panel: HTMLElement;
  readonly #options: LazyTabOptions<V>;
  #view: Promise<V | undefined> | undefined;
  #shown = false;
  #disposed = false;

  /** The tab is placed by `place`, the panel at the end of the terminals. */
  constructor(root: { terminals: HTMLElement }, options: LazyTabOptions<V>, place: (tab: HTMLButtonElement) => void) {
    this.#options = options;
    this.host = options.key;
    this.tab = document.createElement('button');
    this.tab.type = 'button';
    this.tab.className = `lab-tab ${options.tabClass}`;
    this.tab.id = `${options.id}-tab`;
    this.tab.textContent = options.label;
    this.tab.setAttribute('role', 'tab');
    this.tab.setAttribute('aria-controls', `${options.id}-panel`);
    this.panel = document.createElement('div');
    this.panel.className = options.panelClass;
    this.panel.id = `${options.id}-panel`;
    this.panel.setAttribute('role', 'tabpanel');
    this.panel.setAttribute('aria-labelledby', this.tab.id);
    this.panel.hidden = true;
    place(this.tab);
    root.terminals.append(this.panel);
  }

  /** After every selection in the strip: the panel's code loads on the first showing. */
  shown(visible: boolean): void {
    if (this.#disposed || visible === this.#shown) return;
    this.#shown = visible;
    if (visible) void this.view();
    void this.#view?.then((v) => (this.#shown ? v?.show() : v?.hide()));
  }

  dispose(): void {
    this.#disposed = true;
    void this.#view?.then((v) => v?.dispose());
    this.tab.remove();
    this.panel.remove();
  }

  /** The panel's view, loading it first if need be; undefined when it could not load or the tab went. */
  protected view(): Promise<V | undefined> {
    this.#view ??= this.#options.load().then(
      (mount) => (this.#disposed ? undefined : mount(this.panel)),
      () => {
        const p = document.createElement('p');
        p.className = this.#options.failed.className;
        p.dataset.tone = 'error';
        p.textContent = this.#options.failed.text;
        this.panel.append(p);
        return undefined;
      },
    );
    return this.#view;
  }
}
