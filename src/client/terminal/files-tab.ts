/**
 * A lab host's Files tab beside its terminal's: its tab button and panel, and nothing else until
 * the learner opens it (or a lesson's <OpenFile> does); then it imports the file browser and
 * editor (../files/files-view.ts, with CodeMirror) and tells it when it is shown. Built the way
 * map-tab.ts builds the Map tab, so tabs.ts treats it as one more tab.
 */
import type { Lab } from './api.ts';
import { terminalText } from './words.ts';
import type { TabPair } from './tabs.ts';
import type { FilesView } from '../files/files-view.ts';

/** A host's Files tab's key in the tab strip: not a host name (hosts are DNS labels). */
export const filesTabKey = (host: string) => `#files:${host}`;

const loadFiles = () => import('../files/files-view.ts');

export class FilesTab implements TabPair {
  readonly host: string;
  readonly tab: HTMLButtonElement;
  readonly panel: HTMLElement;
  readonly #lab: Lab;
  readonly #labHost: string;
  #view: Promise<FilesView | undefined> | undefined;
  #shown = false;
  #disposed = false;

  /** Its tab goes right after `after` (the host's terminal tab), its panel at the end of the terminals. */
  constructor(root: { terminals: HTMLElement }, lab: Lab, host: string, after: HTMLElement) {
    this.#lab = lab;
    this.#labHost = host;
    this.host = filesTabKey(host);
    this.tab = document.createElement('button');
    this.tab.type = 'button';
    this.tab.className = 'lab-tab lab-tab-files';
    this.tab.id = `lab-files-${host}-tab`;
    this.tab.textContent = terminalText().filesTab(host);
    this.tab.setAttribute('role', 'tab');
    this.tab.setAttribute('aria-controls', `lab-files-${host}-panel`);
    this.panel = document.createElement('div');
    this.panel.className = 'lab-files';
    this.panel.id = `lab-files-${host}-panel`;
    this.panel.setAttribute('role', 'tabpanel');
    this.panel.setAttribute('aria-labelledby', this.tab.id);
    this.panel.hidden = true;
    after.after(this.tab);
    root.terminals.append(this.panel);
  }

  /** After every selection in the strip: the view looks at the host again whenever it is shown. */
  shown(visible: boolean): void {
    if (this.#disposed || visible === this.#shown) return;
    this.#shown = visible;
    if (visible) this.#load();
    void this.#view?.then((v) => (this.#shown ? v?.show() : v?.hide()));
  }

  /** Open `path` in this host's editor (creating it with `starter` when missing); the tab must be shown first. */
  async openFile(path: string, starter?: string): Promise<void> {
    await (await this.#load())?.openFile(path, starter);
  }

  dispose(): void {
    this.#disposed = true;
    void this.#view?.then((v) => v?.dispose());
    this.tab.remove();
    this.panel.remove();
  }

  #load(): Promise<FilesView | undefined> {
    this.#view ??= loadFiles().then(
      ({ mountFiles }) => (this.#disposed ? undefined : mountFiles(this.panel, this.#lab, this.#labHost)),
      () => {
        const p = document.createElement('p');
        p.className = 'files-status';
        p.dataset.tone = 'error';
        p.textContent = terminalText().filesLoadFailed;
        this.panel.append(p);
        return undefined;
      },
    );
    return this.#view;
  }
}
