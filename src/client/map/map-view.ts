/**
 * The lab panel's Map tab, once the learner opens it: the lab map socket (ROUTES.labMap), the
 * drawing and the list redrawn from each LabMap it pushes, and the details of the node clicked
 * or focused. Imported by ../terminal/map-tab.ts on the tab's first opening, never before: a
 * lesson page and a lab without the map open load none of it.
 *
 * The socket is open only while the tab is shown (the runner follows the lab's hosts only while
 * one is open). Documents are drawn at most once a frame, the latest one winning, so a burst
 * of changes (a loop creating containers) costs one layout per frame, not one per message.
 */
import { ROUTES } from '../../../contract/api.ts';
import { CLOSE_CODES, parseLabMapMessage, type LabMap } from '../../../contract/protocol.ts';
import type { Lab } from '../terminal/api.ts';
import { RECONNECT_BASE_MS, RECONNECT_MAX_MS } from '../terminal/session.ts';
import { showDetails } from './details.ts';
import { drawList, drawSvg, NODE_ATTR } from './draw.ts';
import { layoutMap, type Layout, type Memory, type NodeRef } from './layout.ts';
import { lab } from '../../i18n/en/page.ts';
import { map, mapLayout } from '../../i18n/en/map.ts';
import { text } from '../../i18n/page.ts';

export interface MapView {
  /** The tab is shown: follow the lab (open the socket). */
  show(): void;
  /** The tab is hidden: stop following (the drawing stays as it was). */
  hide(): void;
  dispose(): void;
}

/** The map's words, in the page's language (src/i18n/page.ts), read when said. */
const T = () => text(map, (m) => m.map);

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export function mountMap(panel: HTMLElement, lab: Lab): MapView {
  return new MapScreen(panel, lab);
}

class MapScreen implements MapView {
  readonly #lab: Lab;
  readonly #status: HTMLElement;
  readonly #drawing: HTMLElement;
  readonly #details: HTMLElement;
  readonly #list: HTMLElement;
  readonly #memory: Memory = new Map();
  readonly #abort = new AbortController();
  #ws: WebSocket | undefined;
  #shown = false;
  #disposed = false;
  #attempts = 0;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #frame = 0;
  /** The latest document, drawn or waiting for the next frame. */
  #map: LabMap | undefined;
  #layout: Layout | undefined;
  #selected: string | undefined;
  #selectedRef: NodeRef | undefined;

  constructor(panel: HTMLElement, lab: Lab) {
    this.#lab = lab;
    this.#status = el('p', 'lab-map-status', T().opening);
    this.#status.setAttribute('role', 'status');
    this.#drawing = el('div', 'lab-map-drawing');
    this.#details = el('section', 'lab-map-details');
    this.#details.setAttribute('aria-label', T().detailsLabel);
    this.#details.append(el('p', 'lab-map-hint', T().hint));
    const listBox = el('section', 'lab-map-list');
    const listTitle = el('h3', 'lab-map-list-title', T().listTitle);
    listTitle.id = `lab-map-list-title`;
    listBox.setAttribute('aria-labelledby', listTitle.id);
    this.#list = el('div', '');
    listBox.append(listTitle, this.#list);
    panel.append(this.#status, this.#drawing, this.#details, listBox);

    const signal = this.#abort.signal;
    const choose = (e: Event) => {
      const g = (e.target as Element).closest?.(`[${NODE_ATTR}]`);
      if (g && this.#drawing.contains(g)) this.#select(g.getAttribute(NODE_ATTR)!);
    };
    this.#drawing.addEventListener('click', choose, { signal });
    this.#drawing.addEventListener('focusin', choose, { signal });
    this.#drawing.addEventListener('keydown', (e) => {
      if (e.key !== 'Enter' && e.key !== ' ') return;
      e.preventDefault();
      choose(e);
      this.#details.querySelector('button')?.focus();
    }, { signal });
  }

  show(): void {
    if (this.#disposed || this.#shown) return;
    this.#shown = true;
    this.#connect();
  }

  hide(): void {
    this.#shown = false;
    clearTimeout(this.#retry);
    const ws = this.#ws;
    this.#ws = undefined;
    ws?.close();
  }

  dispose(): void {
    this.hide();
    this.#disposed = true;
    this.#abort.abort();
    cancelAnimationFrame(this.#frame);
  }

  #say(text: string, tone: 'info' | 'error' = 'info'): void {
    if (this.#status.textContent === text) return;
    this.#status.textContent = text;
    this.#status.dataset.tone = tone;
  }

  #connect(): void {
    const url = new URL(ROUTES.labMap.path(this.#lab.id, this.#lab.token), location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    this.#ws = ws;
    ws.onmessage = (e) => {
      if (this.#ws !== ws || typeof e.data !== 'string') return;
      const parsed = parseLabMapMessage(e.data);
      if (!parsed.ok) {
        this.#say(T().badMap(parsed.reason), 'error');
        return;
      }
      this.#attempts = 0;
      this.#map = parsed.message.map;
      cancelAnimationFrame(this.#frame);
      this.#frame = requestAnimationFrame(() => this.#draw());
    };
    ws.onclose = (e) => {
      if (this.#ws !== ws || this.#disposed) return;
      this.#ws = undefined;
      if (e.code === CLOSE_CODES.labGone) return this.#say(T().ended, 'error');
      this.#say(T().reconnecting, 'error');
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** this.#attempts++);
      this.#retry = setTimeout(() => this.#shown && this.#connect(), delay);
    };
  }

  #draw(): void {
    const map = this.#map;
    if (!map) return;
    const focused = document.activeElement?.closest?.(`[${NODE_ATTR}]`);
    const focusKey = focused && this.#drawing.contains(focused) ? focused.getAttribute(NODE_ATTR) : null;
    const layout = layoutMap(map, this.#memory, text(mapLayout, (m) => m.mapLayout));
    this.#layout = layout;
    this.#drawing.innerHTML = drawSvg(layout, T().label, true);
    this.#list.innerHTML = drawList(layout, T().label);
    this.#drawing.dataset.mapAt = map.at;
    const down = map.hosts.filter((h) => !h.engineUp).map((h) => h.name);
    this.#say(down.length ? T().engineDown(down.join(text(lab, (m) => m.lab).listSeparator)) : T().following, down.length ? 'error' : 'info');
    if (focusKey) this.#nodeEl(focusKey)?.focus({ preventScroll: true });
    else if (this.#selected) {
      // A keyboard user on a Copy button keeps their place when the details are rebuilt.
      const inDetails = document.activeElement?.closest('button') && this.#details.contains(document.activeElement) ? document.activeElement.getAttribute('aria-label') : null;
      this.#select(this.#selected);
      if (inDetails) [...this.#details.querySelectorAll('button')].find((b) => b.getAttribute('aria-label') === inDetails)?.focus({ preventScroll: true });
    }
  }

  #nodeEl(key: string): SVGGElement | null {
    return this.#drawing.querySelector<SVGGElement>(`[${NODE_ATTR}="${CSS.escape(key)}"]`);
  }

  #select(key: string): void {
    const node = this.#layout?.nodes.find((n) => n.key === key);
    this.#selected = key;
    // A container on several networks is drawn once on each: all of its boxes show as chosen.
    const ref = node?.ref;
    const chosen = new Set((this.#layout?.nodes ?? []).filter((n) => n.key === key || (ref?.kind === 'container' && n.ref.kind === 'container' && n.ref.host === ref.host && n.ref.name === ref.name)).map((n) => n.key));
    for (const g of this.#drawing.querySelectorAll(`[${NODE_ATTR}]`)) g.setAttribute('aria-pressed', String(chosen.has(g.getAttribute(NODE_ATTR)!)));
    // A node that went away keeps its last reference, so the panel can say it is gone.
    if (node) this.#selectedRef = node.ref;
    if (this.#selectedRef && this.#map) showDetails(this.#details, this.#map, this.#selectedRef);
  }
}
