/**
 * The Map tab beside the hosts' tabs: its tab button and panel, and nothing else until the
 * learner opens it; then it imports the map (../map/map-view.ts: the layout, the drawing and
 * the lab map socket) and shows or hides it with the tab (lazy-tab.ts).
 */
import type { Lab } from './api.ts';
import { LazyTab } from './lazy-tab.ts';
import { terminalText } from './words.ts';
import type { MapView } from '../map/map-view.ts';

/** The map's key in the tab strip: not a host name (hosts are DNS labels). */
export const MAP_TAB = '#map';

export class MapTab extends LazyTab<MapView> {
  /** Its tab goes at the end of the strip. */
  constructor(root: { tabs: HTMLElement; terminals: HTMLElement }, lab: Lab) {
    super(root, {
      key: MAP_TAB, id: 'lab-map', label: terminalText().mapTab, tabClass: 'lab-tab-map', panelClass: 'lab-map',
      load: () => import('../map/map-view.ts').then(({ mountMap }) => (panel) => mountMap(panel, lab)),
      failed: { text: terminalText().mapLoadFailed, className: 'lab-map-status' },
    }, (tab) => root.tabs.append(tab));
  }
}
