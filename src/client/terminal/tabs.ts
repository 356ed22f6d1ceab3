/**
 * The tab strip over the lab's terminals: which host's panel is shown, chosen by a click or by
 * the keyboard (WAI-ARIA tabs pattern, automatic activation). It only shows and hides the tabs
 * and panels it is given; building them is host-view.ts's job, sizing them fit.ts's.
 */

/** One host's tab and the panel it controls. */
export interface TabPair {
  readonly host: string;
  readonly tab: HTMLElement;
  readonly panel: HTMLElement;
}

export class TabStrip {
  readonly #pairs: readonly TabPair[];
  readonly #onSelect: () => void;
  readonly #listening = new AbortController();
  #active: string;

  /**
   * `strip` is the tablist element holding the pairs' tabs; the first pair is shown at first.
   * `onSelect` runs after every selection (the newly visible terminal needs fitting).
   */
  constructor(strip: HTMLElement, pairs: readonly TabPair[], onSelect: () => void) {
    this.#pairs = pairs;
    this.#onSelect = onSelect;
    this.#active = pairs[0]!.host;
    const { signal } = this.#listening;
    for (const { host, tab } of pairs) tab.addEventListener('click', () => this.select(host), { signal });
    strip.addEventListener('keydown', (e) => this.#onKey(e), { signal });
  }

  /** The host whose panel is shown. */
  get active(): string {
    return this.#active;
  }

  /** Show `host`'s panel (an unknown host is ignored); with `focusTab`, move focus to its tab. */
  select(host: string, focusTab = false): void {
    const chosen = this.#pairs.find((p) => p.host === host);
    if (!chosen) return;
    this.#active = host;
    for (const p of this.#pairs) {
      const on = p === chosen;
      p.tab.setAttribute('aria-selected', String(on));
      p.tab.tabIndex = on ? 0 : -1;
      p.panel.hidden = !on;
    }
    if (focusTab) chosen.tab.focus();
    this.#onSelect();
  }

  /** Stop listening; the tabs themselves are removed by their host views. */
  dispose(): void {
    this.#listening.abort();
  }

  /** Arrow keys move between tabs, wrapping; Home and End go to the first and last. */
  #onKey(e: KeyboardEvent): void {
    const order = this.#pairs.map((p) => p.host);
    const i = order.indexOf(this.#active);
    const next =
      e.key === 'ArrowRight' ? order[(i + 1) % order.length]
      : e.key === 'ArrowLeft' ? order[(i - 1 + order.length) % order.length]
      : e.key === 'Home' ? order[0]
      : e.key === 'End' ? order[order.length - 1]
      : undefined;
    if (next === undefined) return;
    e.preventDefault();
    this.select(next, true);
  }
}
