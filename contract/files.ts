/**
 * The runner's Files API (issue 22): its routes, query parameters, headers, error codes, limits
 * and bodies, named once here. Apart from contract/api.ts because every lesson page loads that
 * module with its lab panel before Start lab, and these names are needed only by the Files tab
 * (src/client/files/, loaded when it is first opened) and the runner: a lesson page's JavaScript
 * stays as it was without them (e2e/files.test.ts). contract/api.ts takes their types (error
 * codes, LabCreated.files). No `node:` imports (contract/tsconfig.json has no Node types).
 */

const segment = encodeURIComponent;

/** The query parameters of FILE_ROUTES.files and FILE_ROUTES.fileContent. */
export const FILE_PARAMS = { path: 'path', download: 'download' } as const;

const fileQuery = (filePath: string | undefined) => (filePath === undefined ? '' : `?${FILE_PARAMS.path}=${segment(filePath)}`);

/** The Files API's routes (on one host of one lab), as contract/api.ts ROUTES: template, pattern and path builder. */
export const FILE_ROUTES = {
  /**
   * One lab host's files (FILE_PARAMS.path names one, absolute or relative to the shell's working
   * directory), the lab's token as a Bearer. `GET`: FileListing of that directory (without a
   * path: of the working directory of the newest lab shell on the host, else /root). `DELETE`: a
   * file or a folder with all it holds; 204.
   */
  files: {
    template: '/api/labs/:id/hosts/:host/files',
    pattern: /^\/api\/labs\/([^/]+)\/hosts\/([^/]+)\/files$/,
    path: (labId: string, host: string, filePath?: string) => `/api/labs/${segment(labId)}/hosts/${segment(host)}/files${fileQuery(filePath)}`,
  },
  /**
   * One file's bytes, the lab's token as a Bearer. `GET`: the raw bytes (application/octet-stream,
   * Content-Length, `ETag: "<version>"` and FILE_HEADERS.version); `download=1` adds a
   * Content-Disposition attachment. `PUT`: the body is the file's new bytes (with a
   * Content-Length, at most FileLimits.uploadMax); `If-Match: "<version>"` writes only over that
   * version (else 412 file-changed), `If-None-Match: *` only creates (else 409 file-exists),
   * neither creates or overwrites. Answers FileEntry, 201 created or 200 replaced; the file keeps
   * its mode and owner.
   */
  fileContent: {
    template: '/api/labs/:id/hosts/:host/files/content',
    pattern: /^\/api\/labs\/([^/]+)\/hosts\/([^/]+)\/files\/content$/,
    path: (labId: string, host: string, filePath: string, download = false) =>
      `/api/labs/${segment(labId)}/hosts/${segment(host)}/files/content${fileQuery(filePath)}${download ? `&${FILE_PARAMS.download}=1` : ''}`,
  },
  /** `POST` FolderRequest, the lab's token as a Bearer: makes that folder (its parent must exist); 201 FileEntry. */
  folders: {
    template: '/api/labs/:id/hosts/:host/files/folders',
    pattern: /^\/api\/labs\/([^/]+)\/hosts\/([^/]+)\/files\/folders$/,
    path: (labId: string, host: string) => `/api/labs/${segment(labId)}/hosts/${segment(host)}/files/folders`,
  },
  /** `POST` MoveRequest, the lab's token as a Bearer: renames or moves (409 file-exists if `to` exists); 200 FileEntry of `to`. */
  moves: {
    template: '/api/labs/:id/hosts/:host/files/moves',
    pattern: /^\/api\/labs\/([^/]+)\/hosts\/([^/]+)\/files\/moves$/,
    path: (labId: string, host: string) => `/api/labs/${segment(labId)}/hosts/${segment(host)}/files/moves`,
  },
} as const;

/** The Files API's error codes (and HTTP statuses), beside contract/api.ts API_ERRORS: a client meets both. */
export const FILE_ERRORS = {
  fileNotFound: { code: 'file-not-found', status: 404 },
  filePermission: { code: 'file-permission', status: 403 },
  notADirectory: { code: 'not-a-directory', status: 400 },
  isADirectory: { code: 'is-a-directory', status: 400 },
  fileTooBig: { code: 'file-too-big', status: 413 },
  fileChanged: { code: 'file-changed', status: 412 },
  fileExists: { code: 'file-exists', status: 409 },
  badPath: { code: 'bad-path', status: 400 },
} as const satisfies Record<string, { code: string; status: number }>;

export type FileErrorKind = (typeof FILE_ERRORS)[keyof typeof FILE_ERRORS];
export type FileErrorCode = FileErrorKind['code'];

/** The file limits of a lab (LabCreated.files), in bytes. */
export interface FileLimits {
  /** LAB_FILE_UPLOAD_MAX: the largest PUT of a file's content; the runner refuses more (413 file-too-big). */
  uploadMax: number;
  /** LAB_FILE_EDIT_MAX: the largest file the browser opens in its editor (bigger ones: download instead). The runner reads any size. */
  editMax: number;
}

/**
 * Response header of FILE_ROUTES.fileContent carrying the file's version (the same as its ETag,
 * without the quotes), for clients that cannot read ETag.
 */
export const FILE_HEADERS = { version: 'x-file-version' } as const;

/** Longest path the Files API takes (bytes of UTF-8), as Linux's PATH_MAX; longer: 400 bad-path. */
export const MAX_FILE_PATH_BYTES = 4096;

/** Most entries a FileListing holds; a bigger directory is cut there (`truncated`). */
export const MAX_LISTING_ENTRIES = 5000;

/**
 * A file, folder or link on a lab host. `version` changes whenever the file does:
 * `<mtime in s with ns>-<size>-<inode>`, from the host's own stat (a write replaces the file, so
 * a new inode too). Not a hash: a listing would have to read every file.
 */
export interface FileEntry {
  name: string;
  /** Absolute, on that host. */
  path: string;
  type: 'file' | 'dir' | 'link' | 'other';
  /** Bytes (a link: the length of its target). */
  size: number;
  /** Octal permission bits, e.g. "0644". */
  mode: string;
  /** The owner's user name (its uid when the host has no name for it). */
  owner: string;
  /** ISO 8601. */
  mtime: string;
  version: string;
  /** Where a link points (as written in it). */
  target?: string;
}

/** `GET /api/labs/:id/hosts/:host/files`: one directory. */
export interface FileListing {
  /** Absolute, as the host resolves it (links followed). */
  path: string;
  /** Folders first, then by name. */
  entries: FileEntry[];
  /** True when the directory holds more than MAX_LISTING_ENTRIES: only that many are listed. */
  truncated: boolean;
}

/** `POST /api/labs/:id/hosts/:host/files/folders`. */
export interface FolderRequest {
  path: string;
}

/** `POST /api/labs/:id/hosts/:host/files/moves`. */
export interface MoveRequest {
  from: string;
  to: string;
}
