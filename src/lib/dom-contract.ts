/**
 * Names shared by the build (layouts, the Shiki transformer) and the browser scripts:
 * element names, data attributes and the lab panel's API. Defined once here. This module
 * must stay dependency-free: every page's script imports it.
 */

/** The lab panel custom element. */
export const LAB_PANEL_TAG = 'lab-panel';

/** Attributes the Shiki transformer writes on a runnable `<pre>`. */
export const RUN_ATTRS = {
  /** Present on ```` ```sh run ```` blocks. */
  run: 'data-run',
  /** The lab host named with `host=`; absent means the lab's first host. */
  host: 'data-run-host',
} as const;

/**
 * What a Run button may ask of the lab panel. The element implements it; code-block
 * scripts call it after `customElements.whenDefined(LAB_PANEL_TAG)`.
 */
export interface LabPanelApi {
  /** Hosts of this lesson's lab, in the author's order (the first is the default). */
  readonly hosts: readonly string[];
  /**
   * Type `lines` into `host`'s shell, each followed by Enter: starts the lab if needed,
   * switches to that host's tab and waits until its shell is ready. Rejects with an Error
   * whose message is a sentence for the learner.
   */
  run(lines: readonly string[], host?: string): Promise<void>;
}
