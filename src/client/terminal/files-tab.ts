/**
 * A lab host's Files tab beside its terminal's: its tab button and panel, and nothing else until
 * the learner opens it (or a lesson's <OpenFile> does); then it imports the file browser and
 * editor (../files/files-view.ts, with CodeMirror) and tells it when it is shown (lazy-tab.ts).
 */
import type { Lab } from './api.ts';
import { LazyTab } from './lazy-tab.ts';
import { terminalText } from './words.ts';
import type { FilesView } from '../files/files-view.ts';

/** A host's Files tab's key in the tab strip: not a host name (hosts are DNS labels). */
export const filesTabKey = (host: string) => `#files:${host}`;

export class FilesTab extends LazyTab<FilesView> {
  /** Its tab goes right after `after` (the host's terminal tab). */
  constructor(root: { terminals: HTMLElement }, lab: Lab, host: string, after: HTMLElement) {
    super(root, {
      key: filesTabKey(host), id: `lab-files-${host}`, label: terminalText().filesTab(host), tabClass: 'lab-tab-files', panelClass: 'lab-files',
      load: () => import('../files/files-view.ts').then(({ mountFiles }) => (panel) => mountFiles(panel, lab, host)),
      failed: { text: terminalText().filesLoadFailed, className: 'files-status' },
    }, (tab) => after.after(tab));
  }

  /** Open `path` in this host's editor (creating it with `starter` when missing); the tab must be shown first. */
  async openFile(path: string, starter?: string): Promise<void> {
    await (await this.view())?.openFile(path, starter);
  }
}
