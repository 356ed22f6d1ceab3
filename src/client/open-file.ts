/**
 * <lab-open-file>: a lesson's "Open compose.yaml on host1" button (src/components/OpenFile.astro).
 * A click asks the lab panel (LabPanelApi.openFile) to open the file in that host's Files tab,
 * created with the text of the code block inside when it is missing. Small on purpose: it is on
 * the page before Start lab; the Files tab and its editor load only when the panel opens it.
 */
import { LAB_PANEL_TAG, OPEN_FILE_ATTRS as F, OPEN_FILE_TAG, sel, type LabPanelApi } from '../../contract/dom.ts';

class OpenFileButton extends HTMLElement {
  #wired = false;

  connectedCallback() {
    if (this.#wired) return;
    this.#wired = true;
    this.querySelector(sel(F.button))?.addEventListener('click', () => void this.#open());
  }

  /** The starter text: the code block's, ending in a newline as a file does; none without a code block. */
  get starter(): string | undefined {
    const code = this.querySelector('pre')?.textContent;
    return code === undefined || code === null ? undefined : code.endsWith('\n') ? code : `${code}\n`;
  }

  async #open() {
    const status = this.querySelector<HTMLElement>(sel(F.status))!;
    status.textContent = '';
    await customElements.whenDefined(LAB_PANEL_TAG);
    const panel = document.querySelector(LAB_PANEL_TAG) as unknown as LabPanelApi;
    try {
      await panel.openFile(this.getAttribute(F.host) ?? '', this.getAttribute(F.path) ?? '', this.starter);
    } catch (e) {
      status.textContent = e instanceof Error ? e.message : String(e);
      status.dataset.tone = 'error';
    }
  }
}

if (!customElements.get(OPEN_FILE_TAG)) customElements.define(OPEN_FILE_TAG, OpenFileButton);
