/**
 * A lesson's <OpenFile> buttons (src/components/OpenFile.astro): the component's script, so only
 * the pages that have one load it. A click asks the lab panel to run nothing on the file's host
 * (LabPanelApi.run: it starts the lab if needed, brings the panel into view, waits for the host's
 * shell, whose working directory a relative path is in, and says in its status line what went
 * wrong), then opens the file in that host's Files tab, created with the starter text (the code
 * block inside) when it is missing; the tab says what went wrong there. Nothing here imports
 * contract/dom.ts (see contract/open-file.ts): the panel's tag comes on the wrapper.
 */
import type { LabPanelApi } from '../../contract/dom.ts';
import { OPEN_FILE_ATTRS as F } from '../../contract/open-file.ts';
import type { LabView } from './terminal/ui.ts';

/** The lab panel (./lab-panel.ts): LabPanelApi, and its start() that gives the running lab's view. */
type Panel = HTMLElement & LabPanelApi & { start(): Promise<LabView> };

async function openFile(file: Element): Promise<void> {
  const tag = file.getAttribute(F.panel)!;
  const panel = document.querySelector<Panel>(tag);
  if (!panel) return;
  await customElements.whenDefined(tag);
  const host = file.getAttribute(F.host)!;
  const code = file.querySelector('pre')?.textContent;
  await panel.run([], host);
  await (await panel.start()).openFile(host, file.getAttribute(F.path)!, code?.replace(/\n?$/, '\n'));
}

document.addEventListener('click', (e) => {
  const file = (e.target as Element).closest?.(`[${F.button}]`)?.closest(`[${F.host}]`);
  if (file) openFile(file).catch(() => {}); // the panel's status line or the Files tab says what went wrong
});
