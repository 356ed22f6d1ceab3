/**
 * English words of the Files tab (src/client/files/): its tree, path bar, editor, uploads and
 * downloads. They define the keys of ../files.ts, which the tab loads with every language's
 * words on its first opening, after Start lab (not part of the catalogues: see there).
 * Sizes come already formatted (`size`), names already made printable (a newline shows as ↵).
 */
import type { FileErrorCode } from '../../../contract/files.ts';

export const files = {
  /** A lesson's <OpenFile> button (src/components/OpenFile.astro, rendered with the page). */
  openFile: (path: string, host: string) => `Open ${path} on ${host}`,
  opening: 'Opening the files…',
  pathLabel: (host: string) => `Folder on ${host}`,
  go: 'Open',
  up: 'Up one folder',
  refresh: 'Refresh',
  toolbarLabel: 'Files actions',
  newFile: 'New file',
  newFolder: 'New folder',
  upload: 'Upload…',
  rename: 'Rename',
  delete: 'Delete',
  download: 'Download',
  treeLabel: (folder: string) => `Files in ${folder}`,
  empty: 'This folder is empty.',
  truncated: (count: number) => `Only the first ${count} entries are listed.`,
  /** A tree row's name for a screen reader, after the file's name. */
  kinds: { file: 'file', dir: 'folder', link: 'link', other: 'special file' },
  linkTo: (target: string) => `link to ${target}`,
  /** The inline form that asks for a name: its label per action, its buttons. */
  newFileName: (folder: string) => `Name of the new file in ${folder}`,
  newFolderName: (folder: string) => `Name of the new folder in ${folder}`,
  renameTo: (name: string) => `New name for ${name}`,
  nameHint: 'Enter confirms; Shift+Enter puts a line break in the name; Esc cancels.',
  create: 'Create',
  renameButton: 'Rename',
  cancel: 'Cancel',
  badName: 'A name cannot be empty, “.” or “..”, or contain “/”. Choose another name.',
  selectFirst: 'Choose a file or folder in the list first.',
  confirmDelete: (name: string) => `Delete ${name} on the lab host? This cannot be undone.`,
  confirmDeleteFolder: (name: string) => `Delete the folder ${name} and everything in it on the lab host? This cannot be undone.`,
  deleted: (name: string) => `Deleted ${name}.`,
  created: (name: string) => `Created ${name}.`,
  renamed: (from: string, to: string) => `Renamed ${from} to ${to}.`,
  /** Uploads and downloads; `limit` is a formatted size. */
  uploadHint: (limit: string) => `Drop files on a folder (or choose Upload…) to copy them to the lab host, up to ${limit} each.`,
  tooBigToUpload: (name: string, size: string, limit: string) => `${name} is ${size}: files up to ${limit} can be uploaded. Copy a smaller file, or split it.`,
  uploading: (name: string) => `Uploading ${name}…`,
  uploaded: (name: string) => `Uploaded ${name}.`,
  confirmReplace: (name: string) => `${name} already exists on the lab host. Replace it?`,
  downloading: (name: string) => `Downloading ${name}…`,
  noDropHere: 'Drop files here, not folders: only files can be uploaded.',
  /** The editor. */
  editorLabel: (name: string) => `Contents of ${name}`,
  noFile: 'Choose a file in the list to open it here.',
  opened: (name: string) => `Opened ${name}.`,
  save: 'Save',
  saved: (name: string) => `Saved ${name}.`,
  unsaved: 'Unsaved changes',
  allSaved: 'Saved',
  /** The arguments are the keys, already marked up (<kbd>). */
  keys: (save: string, esc: string, tab: string, toggle: string) =>
    `${save} saves. In the editor, Tab indents; press ${esc}, then ${tab}, to move focus out of it (or ${toggle} to make Tab move focus).`,
  binary: (name: string) => `${name} is not text (binary): it cannot be edited here. Download it instead.`,
  tooBigToEdit: (name: string, size: string, limit: string) => `${name} is ${size}: files up to ${limit} open in the editor. Download it instead.`,
  changedOnHost: (name: string) => `${name} changed on the lab host since you opened it (in the terminal, perhaps). Overwrite it with your version, or reload it and lose your changes?`,
  overwrite: 'Overwrite',
  reload: 'Reload',
  reloaded: (name: string) => `${name} changed on the lab host: reloaded.`,
  goneOnHost: (name: string) => `${name} no longer exists on the lab host. Save creates it again.`,
  confirmLeave: (name: string) => `${name} has unsaved changes. Open another file and lose them?`,
  /** Sizes: bytes, KiB and MiB, with the page's number format. */
  bytes: (n: string) => `${n} bytes`,
  kib: (n: string) => `${n} KiB`,
  mib: (n: string) => `${n} MiB`,
  /**
   * One sentence per error code of the Files API (contract/files.ts FILE_ERRORS), shown on pages
   * not in English (an English page shows the runner's own, more specific sentence).
   */
  errors: {
    'file-not-found': 'There is no such file or folder on this lab host (it may have been moved or deleted). Refresh the list.',
    'file-permission': 'The lab host does not allow this: only /root, /tmp, /home and a few other places are writable, and special files cannot be opened here.',
    'not-a-directory': 'That is a file, not a folder. Open it instead, or check the path.',
    'is-a-directory': 'That is a folder, not a file. Open it in the list instead.',
    'file-too-big': 'This file is larger than the lab server takes. Copy it with the terminal instead.',
    'file-changed': 'This file changed on the lab host since you opened it. Reload it, or save again to overwrite that change.',
    'file-exists': 'Something of that name already exists there. Choose another name, or replace it on purpose.',
    'bad-path': 'That path cannot be used: it is empty, too long or holds a character no file name can. Check it.',
  } satisfies Record<FileErrorCode, string>,
};
