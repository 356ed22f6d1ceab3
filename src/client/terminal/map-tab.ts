/**
 * The Map tab beside the hosts' tabs: its tab button and panel, and nothing else until the
 * learner opens it; then it imports the map (../map/map-view.ts: the layout, the drawing and
 * the lab map socket) and shows or hides it with the tab. Built the way host-view.ts builds a
 * host's tab, so tabs.ts treats it as one more tab.
 */
import type { Lab } from './api.ts';
import { terminalText } from './words.ts';
import type { TabPair } from './tabs.ts';
import type { MapView } from '../map/map-view.ts';

/** The map's key in the tab strip: not a host name (hosts are DNS labels). */
export const MAP_TAB = '#map';

const loadMap = () => import('../map/map-view.ts');

export class MapTab implements TabPair {
  readonly host = MAP_TAB;
  readonly tab: HTMLButtonElement;
  readonly panel: HTMLElement;
  readonly #lab: Lab;
  #view: Promise<MapView | undefined> | undefined;
  #shown = false;
  #disposed = false;

  constructor(root: { tabs: HTMLElement; terminals: HTMLElement }, lab: Lab) {
    this.#lab = lab;
    this.tab = document.createElement('button');
    this.tab.type = 'button';
    this.tab.className = 'lab-tab lab-tab-map';
    this.tab.id = 'lab-map-tab';
    this.tab.textContent = terminalText().mapTab;
    this.tab.setAttribute('role', 'tab');
    this.tab.setAttribute('aria-controls', 'lab-map-panel');
    this.panel = document.createElement('div');
    this.panel.className = 'lab-map';
    this.panel.id = 'lab-map-panel';
    this.panel.setAttribute('role', 'tabpanel');
    this.panel.setAttribute('aria-labelledby', this.tab.id);
    this.panel.hidden = true;
    root.tabs.append(this.tab);
    root.terminals.append(this.panel);
  }

  /** After every selection in the strip: follow the lab while the map is the visible tab. */
  shown(visible: boolean): void {
    if (this.#disposed || visible === this.#shown) return;
    this.#shown = visible;
    if (visible && !this.#view) {
      this.#view = loadMap().then(
        ({ mountMap }) => (this.#disposed ? undefined : mountMap(this.panel, this.#lab)),
        () => {
          const p = document.createElement('p');
          p.className = 'lab-map-status';
          p.dataset.tone = 'error';
          p.textContent = terminalText().mapLoadFailed;
          this.panel.append(p);
          return undefined;
        },
      );
    }
    void this.#view?.then((v) => (this.#shown ? v?.show() : v?.hide()));
  }

  dispose(): void {
    this.#disposed = true;
    void this.#view?.then((v) => v?.dispose());
    this.tab.remove();
    this.panel.remove();
  }
}
