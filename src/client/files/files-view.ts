/**
 * One lab host's Files tab, once the learner opens it: a path bar, a toolbar, the folder tree
 * (opening at the shell's working directory) and the editor (editor.ts, CodeMirror). Imported by
 * ../terminal/files-tab.ts on the tab's first opening, never before: a lesson page and a lab
 * whose Files tabs stay closed load none of it.
 *
 * It never polls. What a terminal changed shows when the learner comes back: the tab shown,
 * the window focused or the page visible again, Refresh, and after each of the tab's own
 * operations; an open file that changed on the host is reloaded if it has no unsaved changes,
 * else the learner chooses (overwrite, or reload and lose them), as on a save the runner
 * refuses with file-changed (If-Match).
 */
import { FILE_ERRORS, type FileEntry, type FileLimits, type FileListing } from '../../../contract/files.ts';
import { LabApiError, type Lab } from '../terminal/api.ts';
import { FILES_WORDS } from '../../i18n/files.ts';
import { LOCALE_INFO, pageLocale } from '../../i18n/locales.ts';
import { sentenceFor } from '../../i18n/page.ts';
import { HostFiles } from './api.ts';
import { createEditor, type FileEditor } from './editor.ts';
import { languageFor } from './languages.ts';
import { baseName, isName, join, parent, printable, resolve } from './paths.ts';
import { textOf } from './text.ts';

export interface FilesView {
  /** The tab is shown: look at the host again. */
  show(): void;
  hide(): void;
  /** Open `path` (a lesson's: see paths.ts resolve) in the editor, first creating it with `starter` if it is missing. */
  openFile(path: string, starter?: string): Promise<void>;
  dispose(): void;
}

/** The runner's defaults (LAB_FILE_UPLOAD_MAX, LAB_FILE_EDIT_MAX), for a runner that does not send its limits. */
const DEFAULT_LIMITS: FileLimits = { uploadMax: 10 * 1024 * 1024, editMax: 1024 * 1024 };

/** The tab's words, in the page's language: every language's come with the tab (src/i18n/files.ts). */
const WORDS = FILES_WORDS[pageLocale()];
const T = () => WORDS;

const NUMBER = new Intl.NumberFormat(LOCALE_INFO[pageLocale()].tag, { maximumFractionDigits: 1 });
export function formatSize(bytes: number): string {
  if (bytes < 1024) return T().bytes(NUMBER.format(bytes));
  if (bytes < 1024 * 1024) return T().kib(NUMBER.format(bytes / 1024));
  return T().mib(NUMBER.format(bytes / (1024 * 1024)));
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function button(label: string, className = 'button button-small'): HTMLButtonElement {
  const b = el('button', className, label);
  b.type = 'button';
  return b;
}

/**
 * What the tab says for a failure: for a Files API error on a page not in English, this tab's
 * sentence for its code (the page's catalogue has none for them: src/i18n/files.ts); else the
 * error's own sentence.
 */
const errorText = (e: unknown) =>
  e instanceof LabApiError ? sentenceFor(e.message, e.code, T().errors, pageLocale()) : e instanceof Error ? e.message : String(e);
const isCode = (e: unknown, code: string) => e instanceof LabApiError && e.code === code;
/** The keys of the editor's hint, each in its own <kbd>. */
const kbd = (key: string) => `<kbd>${key}</kbd>`;

export function mountFiles(panel: HTMLElement, lab: Lab, host: string): FilesView {
  return new FilesScreen(panel, lab, host);
}

/** The file open in the editor: its path, and the version it was read or saved at ('' once it is gone from the host). */
interface OpenFile {
  path: string;
  version: string;
}

/** What the name form is asking for. */
type NameAction = { kind: 'file' | 'folder'; folder: string } | { kind: 'rename'; entry: FileEntry };

class FilesScreen implements FilesView {
  readonly #files: HostFiles;
  readonly #limits: FileLimits;
  readonly #abort = new AbortController();
  readonly #status = el('p', 'files-status');
  readonly #pathInput = el('input', 'input files-path-input');
  readonly #tree = el('div', 'files-tree');
  readonly #nameForm = el('form', 'files-name');
  readonly #nameLabel = el('label', 'files-name-label');
  readonly #nameInput = el('textarea', 'input files-name-input');
  readonly #nameSubmit = el('button', 'button button-small button-primary');
  readonly #upload = el('input', '');
  readonly #title = el('h3', 'files-editor-title');
  readonly #saveState = el('span', 'files-save-state');
  readonly #saveButton = button(T().save);
  readonly #notice = el('div', 'files-notice');
  readonly #editorBox = el('div', 'files-editor-box');
  readonly #editorSection = el('section', 'files-editor');
  readonly #editor: FileEditor;
  readonly #idBase: string;
  /** The tree's top folder (absolute, as the host resolved it) and the folders opened beneath it. */
  #root = '';
  readonly #expanded = new Set<string>();
  readonly #listings = new Map<string, FileListing>();
  #selected: FileEntry | undefined;
  #open: OpenFile | undefined;
  #nameAction: NameAction | undefined;
  #shown = false;
  #disposed = false;
  /** The refresh under way: another asked meanwhile waits for it instead of racing it. */
  #refreshing: Promise<void> | undefined;

  constructor(panel: HTMLElement, lab: Lab, host: string) {
    this.#files = new HostFiles(lab, host);
    this.#limits = lab.files ?? DEFAULT_LIMITS;
    this.#idBase = `lab-files-${host}`;
    const signal = this.#abort.signal;
    const on = <E extends Event>(target: EventTarget, type: string, listener: (e: E) => void) => target.addEventListener(type, listener as EventListener, { signal });
    const id = (part: string) => `${this.#idBase}-${part}`;

    this.#status.setAttribute('role', 'status');
    this.#status.id = id('status');
    this.#status.textContent = T().opening;

    // The path bar: any folder (or file) on the host.
    const pathForm = el('form', 'files-path');
    const pathLabel = el('label', 'files-path-label', T().pathLabel(host));
    this.#pathInput.id = id('path');
    pathLabel.htmlFor = this.#pathInput.id;
    Object.assign(this.#pathInput, { type: 'text', spellcheck: false, autocomplete: 'off' });
    this.#pathInput.setAttribute('autocapitalize', 'off');
    const go = el('button', 'button button-small', T().go);
    go.type = 'submit';
    const up = button(T().up);
    const refresh = button(T().refresh);
    pathForm.append(pathLabel, this.#pathInput, go, up, refresh);
    on(pathForm, 'submit', (e) => {
      e.preventDefault();
      void this.#go(this.#pathInput.value.trim() || '/');
    });
    on(up, 'click', () => void this.#go(parent(this.#root)));
    on(refresh, 'click', () => void this.refresh());

    // The toolbar: what to do in the chosen folder, or with the chosen entry.
    const toolbar = el('div', 'files-toolbar');
    toolbar.setAttribute('role', 'group');
    toolbar.setAttribute('aria-label', T().toolbarLabel);
    const [newFile, newFolder, upload, rename, remove, download] = [T().newFile, T().newFolder, T().upload, T().rename, T().delete, T().download].map((l) => button(l));
    toolbar.append(newFile!, newFolder!, upload!, rename!, remove!, download!);
    this.#upload.type = 'file';
    this.#upload.multiple = true;
    this.#upload.hidden = true;
    this.#upload.tabIndex = -1;
    toolbar.append(this.#upload);
    on(newFile!, 'click', () => this.#askName({ kind: 'file', folder: this.#targetFolder() }));
    on(newFolder!, 'click', () => this.#askName({ kind: 'folder', folder: this.#targetFolder() }));
    on(upload!, 'click', () => this.#upload.click());
    on(this.#upload, 'change', () => {
      const chosen = [...(this.#upload.files ?? [])];
      this.#upload.value = '';
      void this.#uploadFiles(chosen, this.#targetFolder());
    });
    on(rename!, 'click', () => (this.#selected ? this.#askName({ kind: 'rename', entry: this.#selected }) : this.#say(T().selectFirst, 'error')));
    on(remove!, 'click', () => void this.#delete());
    on(download!, 'click', () => void this.#download());

    // The name form, shown for New file, New folder and Rename. A textarea: a name may hold a line break (Shift+Enter).
    this.#nameInput.id = id('name');
    this.#nameInput.rows = 1;
    this.#nameInput.spellcheck = false;
    this.#nameLabel.htmlFor = this.#nameInput.id;
    const nameHint = el('span', 'files-name-hint', T().nameHint);
    nameHint.id = id('name-hint');
    this.#nameInput.setAttribute('aria-describedby', nameHint.id);
    this.#nameSubmit.type = 'submit';
    const nameCancel = button(T().cancel);
    this.#nameForm.append(this.#nameLabel, this.#nameInput, this.#nameSubmit, nameCancel, nameHint);
    this.#nameForm.hidden = true;
    on(this.#nameForm, 'submit', (e) => {
      e.preventDefault();
      void this.#submitName();
    });
    on<KeyboardEvent>(this.#nameInput, 'keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        this.#nameForm.requestSubmit();
      } else if (e.key === 'Escape') this.#closeName();
    });
    on(nameCancel, 'click', () => this.#closeName());

    // The tree: a list of buttons, folders opening in place (the disclosure pattern).
    this.#tree.id = id('tree');
    const uploadHint = el('p', 'files-upload-hint', T().uploadHint(formatSize(this.#limits.uploadMax)));
    on<MouseEvent>(this.#tree, 'click', (e) => {
      const row = (e.target as Element).closest<HTMLButtonElement>('button.files-entry');
      if (row) void this.#choose(this.#entryOf(row));
    });
    on<KeyboardEvent>(this.#tree, 'keydown', (e) => {
      const row = (e.target as Element).closest<HTMLButtonElement>('button.files-entry');
      if (!row) return;
      this.#selected = this.#entryOf(row);
      if (e.key === 'Delete') void this.#delete();
      else if (e.key === 'F2') this.#askName({ kind: 'rename', entry: this.#selected });
    });
    on<DragEvent>(this.#tree, 'dragover', (e) => {
      if (!e.dataTransfer?.types.includes('Files')) return;
      e.preventDefault();
      e.dataTransfer.dropEffect = 'copy';
      this.#markDrop(this.#dropFolderRow(e));
    });
    on<DragEvent>(this.#tree, 'dragleave', (e) => {
      if (!this.#tree.contains(e.relatedTarget as Node | null)) this.#markDrop(undefined);
    });
    on<DragEvent>(this.#tree, 'drop', (e) => {
      e.preventDefault();
      const row = this.#dropFolderRow(e);
      this.#markDrop(undefined);
      const items = [...(e.dataTransfer?.items ?? [])];
      const folders = items.some((i) => i.webkitGetAsEntry?.()?.isDirectory);
      if (folders) this.#say(T().noDropHere, 'error');
      const dropped = [...(e.dataTransfer?.files ?? [])].filter((_, i) => !items[i]?.webkitGetAsEntry?.()?.isDirectory);
      if (dropped.length) void this.#uploadFiles(dropped, row ? this.#entryOf(row).path : this.#root);
    });

    // The editor: its title and save state, a notice for binary, too big and changed files, CodeMirror.
    const bar = el('div', 'files-editor-bar');
    this.#title.id = id('title');
    this.#title.textContent = T().noFile;
    this.#saveButton.hidden = true;
    on(this.#saveButton, 'click', () => void this.#save());
    bar.append(this.#title, this.#saveState, this.#saveButton);
    this.#notice.hidden = true;
    this.#notice.setAttribute('role', 'alert');
    const keys = el('p', 'files-keys');
    keys.id = id('keys');
    const mod = /Mac|iPhone|iPad/.test(navigator.platform) ? 'Cmd' : 'Ctrl';
    keys.innerHTML = T().keys(`${kbd(mod)}+${kbd('S')}`, kbd('Esc'), kbd('Tab'), mod === 'Cmd' ? `${kbd('Shift')}+${kbd('Alt')}+${kbd('M')}` : `${kbd('Ctrl')}+${kbd('M')}`);
    this.#editorSection.setAttribute('aria-labelledby', this.#title.id);
    this.#editorSection.append(bar, this.#notice, this.#editorBox, keys);
    this.#editorBox.hidden = true;
    this.#editor = createEditor(this.#editorBox, keys.id, {
      save: () => void this.#save(),
      dirtyChanged: (dirty) => this.#showDirty(dirty),
    });

    const browser = el('div', 'files-browser');
    browser.append(this.#nameForm, this.#tree, uploadHint);
    const body = el('div', 'files-body');
    body.append(browser, this.#editorSection);
    panel.append(pathForm, toolbar, this.#status, body);

    // Coming back from the terminal (another tab, window or app) is when the host may have changed.
    on(window, 'focus', () => this.#shown && void this.refresh());
    on(document, 'visibilitychange', () => this.#shown && document.visibilityState === 'visible' && void this.refresh());
    on<BeforeUnloadEvent>(window, 'beforeunload', (e) => {
      if (this.#editor.dirty) e.preventDefault();
    });
  }

  show(): void {
    if (this.#disposed) return;
    this.#shown = true;
    void this.refresh();
  }

  hide(): void {
    this.#shown = false;
  }

  dispose(): void {
    this.#disposed = true;
    this.#abort.abort();
    this.#editor.destroy();
  }

  /** Look at the host again: the tree's folders, and whether the open file changed there. */
  refresh(): Promise<void> {
    this.#refreshing ??= this.#relist().finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  async openFile(path: string, starter?: string): Promise<void> {
    // The tab was just shown: its first listing goes first, or it would put the tree back at the working directory.
    await this.#refreshing;
    try {
      // Relative to the shell's working directory now, where the lesson's commands write it.
      const cwd = path.startsWith('/') || path.startsWith('~') ? '' : (await this.#files.list()).path;
      const full = resolve(path, cwd);
      if (starter !== undefined) await this.#createWithFolders(full, starter);
      await this.#go(parent(full), false);
      this.#selected = this.#listings.get(this.#root)?.entries.find((e) => e.path === full);
      this.#render();
      if (await this.#openInEditor(full)) this.#editor.focus();
    } catch (e) {
      this.#say(errorText(e), 'error');
    }
  }

  /** Create `path` with `starter` unless it exists, making its missing folders first (as `mkdir -p` would: a lesson's new project folder). */
  async #createWithFolders(path: string, starter: string): Promise<void> {
    const write = () => this.#files.write(path, new TextEncoder().encode(starter), { createOnly: true });
    try {
      await write();
    } catch (e) {
      if (isCode(e, FILE_ERRORS.fileExists.code)) return;
      if (!isCode(e, FILE_ERRORS.fileNotFound.code)) throw e;
      const missing: string[] = [];
      for (let f = parent(path); f !== '/'; f = parent(f)) missing.unshift(f);
      for (const f of missing) {
        try {
          await this.#files.makeFolder(f);
        } catch (e) {
          if (!isCode(e, FILE_ERRORS.fileExists.code)) throw e;
        }
      }
      await write();
    }
  }

  // ------------------------------------------------------------ the tree

  async #relist(): Promise<void> {
    try {
      const root = this.#root || undefined;
      const top = await this.#files.list(root);
      this.#setRoot(top);
      for (const folder of [...this.#expanded]) {
        try {
          this.#listings.set(folder, await this.#files.list(folder));
        } catch {
          // Gone or no longer a folder: it closes.
          this.#expanded.delete(folder);
          this.#listings.delete(folder);
        }
      }
      this.#render();
      if (this.#status.dataset.tone !== 'error' && this.#status.textContent === T().opening) this.#say('');
      await this.#checkOpenFile();
    } catch (e) {
      this.#say(errorText(e), 'error');
    }
  }

  #setRoot(listing: FileListing): void {
    if (listing.path !== this.#root) {
      this.#root = listing.path;
      for (const f of [...this.#expanded]) if (!f.startsWith(join(listing.path, ''))) this.#expanded.delete(f);
    }
    this.#listings.set(listing.path, listing);
    this.#pathInput.value = listing.path;
    this.#tree.setAttribute('aria-label', T().treeLabel(printable(listing.path)));
  }

  /** Make `path` the tree's top folder; a file's path opens its folder and the file (`openIt`). */
  async #go(path: string, openIt = true): Promise<void> {
    try {
      this.#setRoot(await this.#files.list(path));
      this.#render();
      this.#say('');
    } catch (e) {
      if (!isCode(e, FILE_ERRORS.notADirectory.code)) return this.#say(errorText(e), 'error');
      this.#setRoot(await this.#files.list(parent(path)));
      this.#render();
      if (openIt) await this.#openInEditor(path);
    }
  }

  /** The tree, drawn again from the listings; the focused row keeps focus. */
  #render(): void {
    const focused = document.activeElement instanceof HTMLButtonElement && this.#tree.contains(document.activeElement) ? this.#entryOf(document.activeElement).path : undefined;
    const listing = this.#listings.get(this.#root);
    const list = listing ? this.#list(listing) : el('ul', 'files-list');
    this.#tree.replaceChildren(list);
    if (listing && listing.entries.length === 0) this.#tree.append(el('p', 'files-empty', T().empty));
    if (focused) this.#rows().find((r) => this.#entryOf(r).path === focused)?.focus({ preventScroll: true });
  }

  #list(listing: FileListing): HTMLUListElement {
    const ul = el('ul', 'files-list');
    for (const entry of listing.entries) {
      const li = el('li', 'files-item');
      const row = el('button', 'files-entry');
      row.type = 'button';
      row.dataset.type = entry.type;
      rowEntries.set(row, entry);
      const name = el('span', 'files-entry-name', printable(entry.name));
      const kind = el('span', 'visually-hidden', `, ${entry.type === 'link' && entry.target ? T().linkTo(printable(entry.target)) : T().kinds[entry.type]}`);
      row.append(el('span', 'files-entry-icon'), name, kind);
      if (entry.type === 'file') row.append(el('span', 'files-entry-size', formatSize(entry.size)));
      if (entry.path === this.#selected?.path) row.setAttribute('aria-current', 'true');
      li.append(row);
      if (entry.type === 'dir') {
        const open = this.#expanded.has(entry.path);
        row.setAttribute('aria-expanded', String(open));
        const inner = this.#listings.get(entry.path);
        if (open && inner) li.append(this.#list(inner));
      }
      ul.append(li);
    }
    if (listing.truncated) ul.append(el('li', 'files-empty', T().truncated(listing.entries.length)));
    return ul;
  }

  #rows(): HTMLButtonElement[] {
    return [...this.#tree.querySelectorAll<HTMLButtonElement>('button.files-entry')];
  }

  #entryOf(row: HTMLButtonElement): FileEntry {
    return rowEntries.get(row)!;
  }

  /** A row was clicked: choose it; a folder opens or closes, a file (or link) opens in the editor. */
  async #choose(entry: FileEntry): Promise<void> {
    this.#selected = entry;
    if (entry.type === 'dir') {
      if (this.#expanded.delete(entry.path)) this.#listings.delete(entry.path);
      else {
        try {
          this.#listings.set(entry.path, await this.#files.list(entry.path));
          this.#expanded.add(entry.path);
        } catch (e) {
          this.#say(errorText(e), 'error');
        }
      }
      this.#render();
      return;
    }
    this.#render();
    if (entry.type === 'link') {
      // A link to a folder makes it the top folder; to a file, opens it.
      try {
        this.#setRoot(await this.#files.list(entry.path));
        return this.#render();
      } catch (e) {
        if (!isCode(e, FILE_ERRORS.notADirectory.code)) return this.#say(errorText(e), 'error');
      }
    }
    await this.#openInEditor(entry.path);
  }

  /** Where New file, New folder and Upload put things: the chosen folder, the chosen file's folder, or the top one. */
  #targetFolder(): string {
    const s = this.#selected;
    if (!s) return this.#root;
    return s.type === 'dir' ? s.path : parent(s.path);
  }

  #dropFolderRow(e: DragEvent): HTMLButtonElement | undefined {
    const row = (e.target as Element).closest<HTMLButtonElement>('button.files-entry');
    return row?.dataset.type === 'dir' ? row : undefined;
  }

  #markDrop(row: HTMLButtonElement | undefined): void {
    this.#tree.classList.toggle('files-drop', row === undefined && this.#tree.matches(':hover'));
    for (const r of this.#rows()) r.classList.toggle('files-drop', r === row);
  }

  // ------------------------------------------------------------ operations

  #askName(action: NameAction): void {
    this.#nameAction = action;
    const label = action.kind === 'rename' ? T().renameTo(printable(action.entry.name)) : action.kind === 'file' ? T().newFileName(printable(action.folder)) : T().newFolderName(printable(action.folder));
    this.#nameLabel.textContent = label;
    this.#nameSubmit.textContent = action.kind === 'rename' ? T().renameButton : T().create;
    this.#nameInput.value = action.kind === 'rename' ? action.entry.name : '';
    this.#nameForm.hidden = false;
    this.#nameInput.focus();
    this.#nameInput.select();
  }

  #closeName(): void {
    this.#nameForm.hidden = true;
    this.#nameAction = undefined;
    this.#rows().find((r) => r.getAttribute('aria-current') === 'true')?.focus();
  }

  async #submitName(): Promise<void> {
    const action = this.#nameAction;
    const name = this.#nameInput.value;
    if (!action) return;
    if (!isName(name)) return this.#say(T().badName, 'error');
    try {
      if (action.kind === 'rename') {
        const to = join(parent(action.entry.path), name);
        const moved = await this.#files.move(action.entry.path, to);
        if (this.#open?.path === action.entry.path) this.#setOpen({ ...this.#open, path: moved.path });
        this.#selected = moved;
        this.#say(T().renamed(printable(action.entry.name), printable(name)));
      } else if (action.kind === 'file') {
        this.#selected = await this.#files.write(join(action.folder, name), new Uint8Array(), { createOnly: true });
        this.#say(T().created(printable(name)));
      } else {
        this.#selected = await this.#files.makeFolder(join(action.folder, name));
        this.#say(T().created(printable(name)));
      }
    } catch (e) {
      return this.#say(errorText(e), 'error');
    }
    this.#nameForm.hidden = true;
    this.#nameAction = undefined;
    const chosen = this.#selected;
    if (chosen && parent(chosen.path) !== this.#root) this.#expanded.add(parent(chosen.path));
    await this.refresh();
    if (action.kind === 'file' && chosen) {
      if (await this.#openInEditor(chosen.path)) this.#editor.focus();
    } else this.#rows().find((r) => this.#entryOf(r).path === chosen?.path)?.focus();
  }

  async #delete(): Promise<void> {
    const entry = this.#selected;
    if (!entry) return this.#say(T().selectFirst, 'error');
    const name = printable(entry.name);
    if (!confirm(entry.type === 'dir' ? T().confirmDeleteFolder(name) : T().confirmDelete(name))) return;
    try {
      await this.#files.remove(entry.path);
    } catch (e) {
      return this.#say(errorText(e), 'error');
    }
    this.#selected = undefined;
    if (this.#open && (this.#open.path === entry.path || this.#open.path.startsWith(join(entry.path, '')))) this.#close();
    this.#say(T().deleted(name));
    await this.refresh();
    this.#tree.querySelector<HTMLButtonElement>('button.files-entry')?.focus();
  }

  async #download(entry = this.#selected): Promise<void> {
    if (!entry || entry.type === 'dir') return this.#say(T().selectFirst, 'error');
    try {
      this.#say(T().downloading(printable(entry.name)));
      await this.#files.download(entry.path, entry.name);
      this.#say('');
    } catch (e) {
      this.#say(errorText(e), 'error');
    }
  }

  /** Upload each file into `folder`: refused here above the limit; asked before replacing a file of the same name. */
  async #uploadFiles(chosen: File[], folder: string): Promise<void> {
    let last: FileEntry | undefined;
    for (const file of chosen) {
      const name = printable(file.name);
      if (file.size > this.#limits.uploadMax) {
        this.#say(T().tooBigToUpload(name, formatSize(file.size), formatSize(this.#limits.uploadMax)), 'error');
        continue;
      }
      const path = join(folder, file.name);
      try {
        this.#say(T().uploading(name));
        try {
          last = await this.#files.write(path, file, { createOnly: true });
        } catch (e) {
          if (!isCode(e, FILE_ERRORS.fileExists.code) || !confirm(T().confirmReplace(name))) throw e;
          last = await this.#files.write(path, file);
        }
        this.#say(T().uploaded(name));
      } catch (e) {
        if (!isCode(e, FILE_ERRORS.fileExists.code)) this.#say(errorText(e), 'error');
      }
    }
    if (!last) return;
    if (folder !== this.#root) this.#expanded.add(folder);
    this.#selected = last;
    await this.refresh();
  }

  // ------------------------------------------------------------ the editor

  /** Open `path` in the editor; false if it was not (binary, too big, unsaved changes kept, an error said). */
  async #openInEditor(path: string): Promise<boolean> {
    if (this.#open?.path !== path && this.#editor.dirty && !confirm(T().confirmLeave(printable(baseName(this.#open!.path))))) return false;
    const name = printable(baseName(path));
    const listed = this.#listings.get(parent(path))?.entries.find((e) => e.path === path);
    if (listed && listed.size > this.#limits.editMax) return this.#cannotEdit(path, T().tooBigToEdit(name, formatSize(listed.size), formatSize(this.#limits.editMax)));
    let content;
    try {
      content = await this.#files.read(path);
    } catch (e) {
      this.#say(errorText(e), 'error');
      return false;
    }
    if (content.bytes.length > this.#limits.editMax) return this.#cannotEdit(path, T().tooBigToEdit(name, formatSize(content.bytes.length), formatSize(this.#limits.editMax)));
    const body = textOf(content.bytes);
    if (body === undefined) return this.#cannotEdit(path, T().binary(name));
    this.#setOpen({ path, version: content.version });
    this.#editor.load(body, languageFor(path, body.split('\n', 1)[0]), T().editorLabel(name));
    this.#editorBox.hidden = false;
    this.#saveButton.hidden = false;
    this.#showNotice(undefined);
    this.#say(T().opened(name));
    return true;
  }

  /** A file the editor does not take: say why, offer its download. */
  #cannotEdit(path: string, why: string): false {
    this.#close();
    this.#title.textContent = printable(path);
    const entry = this.#listings.get(parent(path))?.entries.find((e) => e.path === path);
    this.#showNotice(why, entry ? [[T().download, () => void this.#download(entry)]] : []);
    return false;
  }

  #setOpen(open: OpenFile): void {
    this.#open = open;
    this.#title.textContent = printable(open.path);
    this.#editorSection.dataset.path = open.path;
  }

  #close(): void {
    this.#open = undefined;
    this.#editor.load('', undefined, T().noFile);
    this.#editorBox.hidden = true;
    this.#saveButton.hidden = true;
    this.#title.textContent = T().noFile;
    delete this.#editorSection.dataset.path;
    this.#showNotice(undefined);
  }

  #showDirty(dirty: boolean): void {
    this.#saveState.textContent = dirty ? T().unsaved : this.#open ? T().allSaved : '';
    this.#editorSection.dataset.dirty = String(dirty);
  }

  /** Ctrl/Cmd-S or Save: only over the version that was opened (a changed file asks first); a file gone from the host is created again. */
  async #save(overwrite = false): Promise<void> {
    const open = this.#open;
    if (!open) return;
    const body = this.#editor.text;
    try {
      const guard = overwrite ? undefined : open.version ? { ifMatch: open.version } : ({ createOnly: true } as const);
      const saved = await this.#files.write(open.path, new TextEncoder().encode(body), guard);
      if (this.#open !== open) return;
      this.#setOpen({ path: saved.path, version: saved.version });
      this.#editor.markSaved(body);
      this.#showNotice(undefined);
      this.#say(T().saved(printable(saved.name)));
      void this.refresh();
    } catch (e) {
      if (isCode(e, FILE_ERRORS.fileChanged.code) || isCode(e, FILE_ERRORS.fileExists.code) || isCode(e, FILE_ERRORS.fileNotFound.code)) this.#changedOnHost();
      else this.#say(errorText(e), 'error');
    }
  }

  /** The open file is not the version the editor holds: the learner chooses what wins. */
  #changedOnHost(): void {
    const name = printable(baseName(this.#open!.path));
    this.#showNotice(T().changedOnHost(name), [
      [T().overwrite, () => void this.#save(true)],
      [T().reload, () => void this.#openInEditor(this.#open!.path).then((ok) => ok && this.#editor.focus())],
    ]);
  }

  /** After a refresh: the open file's version on the host, from its folder's listing (or read when its folder is not listed). */
  async #checkOpenFile(): Promise<void> {
    const open = this.#open;
    if (!open) return;
    const folder = this.#listings.get(parent(open.path));
    let version: string | undefined = folder?.entries.find((e) => e.path === open.path)?.version;
    if (!folder) {
      try {
        version = (await this.#files.read(open.path)).version;
      } catch {
        version = undefined;
      }
    }
    if (this.#open !== open || version === open.version) return;
    const name = printable(baseName(open.path));
    if (version === undefined) {
      // Gone: the text stays, and Save makes the file again.
      this.#open = { ...open, version: '' };
      if (open.version) this.#showNotice(T().goneOnHost(name));
    } else if (!this.#editor.dirty) {
      if (await this.#openInEditor(open.path)) this.#say(T().reloaded(name));
    } else this.#changedOnHost();
  }

  /** The notice above the editor: a sentence and its buttons; undefined hides it. */
  #showNotice(sentence: string | undefined, actions: Array<[string, () => void]> = []): void {
    this.#notice.hidden = sentence === undefined;
    const p = el('p', 'files-notice-text', sentence ?? '');
    this.#notice.replaceChildren(p, ...actions.map(([label, run]) => {
      const b = button(label);
      b.addEventListener('click', run);
      return b;
    }));
  }

  #say(sentence: string, tone: 'info' | 'error' = 'info'): void {
    this.#status.textContent = sentence;
    this.#status.dataset.tone = tone;
  }
}

/** Each tree row's entry (not in a data-* attribute: names may hold anything). */
const rowEntries = new WeakMap<HTMLButtonElement, FileEntry>();
