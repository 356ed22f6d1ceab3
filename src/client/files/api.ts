/**
 * The runner's Files API (contract/api.ts FILE_ROUTES.files, fileContent, folders, moves) for one
 * host of one lab, as the Files tab calls it. Every request carries the lab's token as a Bearer
 * header, never in a URL: a download is fetched and handed to the browser as a blob. Every
 * failure is a LabApiError (../terminal/api.ts) whose message is a sentence and whose `code` the
 * tab reacts to (file-changed, file-exists, not-a-directory).
 */
import { FILE_HEADERS, FILE_ROUTES, type FileEntry, type FileListing, type FolderRequest, type MoveRequest } from '../../../contract/files.ts';
import { auth, failure, send, type Lab } from '../terminal/api.ts';

/** A file's bytes and its version (for If-Match when it is saved). */
export interface FileContent {
  bytes: Uint8Array;
  version: string;
}

/** How a write may replace what is there: only that version, only nothing, or anything. */
export type WriteGuard = { ifMatch: string } | { createOnly: true } | undefined;

/** The version a content answer carries: FILE_HEADERS.version, else the ETag without its quotes. */
const versionOf = (res: Response): string => res.headers.get(FILE_HEADERS.version) ?? (res.headers.get('etag') ?? '').replace(/^W\/|"/g, '');

export class HostFiles {
  readonly #lab: Lab;
  readonly host: string;

  constructor(lab: Lab, host: string) {
    this.#lab = lab;
    this.host = host;
  }

  /** A directory's listing; without `path`, the shell's working directory. */
  async list(path?: string): Promise<FileListing> {
    return (await this.#json(FILE_ROUTES.files.path(this.#lab.id, this.host, path), {})) as FileListing;
  }

  async read(path: string): Promise<FileContent> {
    const res = await this.#send(FILE_ROUTES.fileContent.path(this.#lab.id, this.host, path), {});
    return { bytes: new Uint8Array(await res.arrayBuffer()), version: versionOf(res) };
  }

  /** Write `body` (streamed by the browser from a File, or the editor's text) to `path`. */
  async write(path: string, body: Blob | Uint8Array<ArrayBuffer>, guard?: WriteGuard): Promise<FileEntry> {
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
    if (guard && 'ifMatch' in guard) headers['If-Match'] = `"${guard.ifMatch}"`;
    if (guard && 'createOnly' in guard) headers['If-None-Match'] = '*';
    return (await this.#json(FILE_ROUTES.fileContent.path(this.#lab.id, this.host, path), { method: 'PUT', headers, body })) as FileEntry;
  }

  async makeFolder(path: string): Promise<FileEntry> {
    const body: FolderRequest = { path };
    return (await this.#json(FILE_ROUTES.folders.path(this.#lab.id, this.host), jsonBody(body))) as FileEntry;
  }

  async move(from: string, to: string): Promise<FileEntry> {
    const body: MoveRequest = { from, to };
    return (await this.#json(FILE_ROUTES.moves.path(this.#lab.id, this.host), jsonBody(body))) as FileEntry;
  }

  async remove(path: string): Promise<void> {
    await this.#send(FILE_ROUTES.files.path(this.#lab.id, this.host, path), { method: 'DELETE' });
  }

  /** Save `path` to the learner's computer as `name`: fetched with the token, then given to the browser as a blob. */
  async download(path: string, name: string): Promise<void> {
    const res = await this.#send(FILE_ROUTES.fileContent.path(this.#lab.id, this.host, path, true), {});
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = name;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    // The browser has taken the blob once the click's task is over.
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }

  async #send(url: string, init: RequestInit): Promise<Response> {
    const res = await send(url, { ...init, headers: { ...auth(this.#lab), ...(init.headers as Record<string, string>) } });
    if (!res.ok) throw await failure(res);
    return res;
  }

  async #json(url: string, init: RequestInit): Promise<unknown> {
    const res = await this.#send(url, { ...init, headers: { Accept: 'application/json', ...(init.headers as Record<string, string>) } });
    return res.json();
  }
}

const jsonBody = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
