/**
 * Terminal sizes: every terminal gets the size of the visible one, measured with xterm's fit
 * addon when a terminal's box changes size or another tab is shown. It resizes terminals only;
 * the shells learn their size through each terminal's onResize (host-view.ts).
 */
import type { Terminal } from '@xterm/xterm';
import type { FitAddon } from '@xterm/addon-fit';

/** A terminal with its fit addon loaded. */
export interface Fittable {
  readonly term: Terminal;
  readonly fit: FitAddon;
}

export interface Size {
  cols: number;
  rows: number;
}

export class Fitter {
  readonly #all: readonly Fittable[];
  readonly #visible: () => Fittable | undefined;
  readonly #observer = new ResizeObserver(() => this.fitSoon());
  #frame = 0;

  /** `all` share one panel; `visible` is the one on screen, the only one that can be measured. */
  constructor(all: readonly Fittable[], visible: () => Fittable | undefined) {
    this.#all = all;
    this.#visible = visible;
    // Each terminal's own box, not the panel: a notice bar below the terminal shrinks it too.
    for (const f of all) this.#observer.observe(f.term.element!.parentElement!);
  }

  /** Measure the visible terminal now: its size in cells, or undefined if it can't be measured. */
  measure(): Size | undefined {
    const dims = this.#visible()?.fit.proposeDimensions();
    return dims && Number.isFinite(dims.cols) && Number.isFinite(dims.rows) ? dims : undefined;
  }

  /** Fit all terminals in the next frame; calls before then are folded into one. */
  fitSoon(): void {
    cancelAnimationFrame(this.#frame);
    this.#frame = requestAnimationFrame(() => {
      const dims = this.measure();
      // A collapsed panel measures as a sliver; keep the last good size rather than 1 column.
      if (!dims || dims.cols < 2 || dims.rows < 1) return;
      // Hidden tabs can't be measured; they share the panel, so they get the visible one's size.
      for (const { term } of this.#all) {
        if (term.cols !== dims.cols || term.rows !== dims.rows) term.resize(dims.cols, dims.rows);
      }
    });
  }

  dispose(): void {
    cancelAnimationFrame(this.#frame);
    this.#observer.disconnect();
  }
}
