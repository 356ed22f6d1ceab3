/**
 * A lab host's files, for the Files API (contract/files.ts FILE_ROUTES.files and the routes after it):
 * list a folder, read a file as a stream, write one from a stream, make a folder, move, delete.
 * Each operation is one `docker exec` in the lab host, as root like its shells, of a fixed
 * script below that takes the paths as arguments ("$1", after `--` for every tool): nothing a
 * client sends is ever part of a shell string. The paths therefore resolve in the lab host's
 * own mount namespace, so `..`, absolute paths and symlinks (to /proc/1/root too) stay inside
 * that host. Not the Engine's archive endpoints: they resolve paths in the machine's dockerd,
 * which had a symlink-swap escape to the machine (CVE-2018-15664).
 *
 * Output comes NUL-separated (`find -printf ...\0`), so any name comes through exactly.
 * Uploads stream into the exec's stdin with backpressure and are committed only once all the
 * bytes announced arrived: the runner holds a chunk, never a file. It does not speak HTTP
 * (routes.ts does) and decides nothing about who may touch which lab.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex, Readable } from 'node:stream';
import type Docker from 'dockerode';
import { API_ERRORS } from '../../contract/api.ts';
import { FILE_ERRORS, MAX_FILE_PATH_BYTES, MAX_LISTING_ENTRIES, type FileEntry, type FileListing } from '../../contract/files.ts';
import { LabError } from './errors.ts';
import { ExecPipe } from './execpipe.ts';
import { quote } from './http-io.ts';
import { LAB_HOST_PATHS } from './names.ts';

/**
 * An exec that moves no byte for this long is ended (ms): a listing or a rename takes
 * milliseconds, and a download whose client stopped reading, or an upload whose client stopped
 * sending, must not hold an exec in the lab host for ever.
 */
const EXEC_IDLE_MS = 30_000;
/**
 * Most bytes of a script's answer collected (a listing, an entry): 5,000 entries of a long name
 * and a long link target come to ~2.6 MiB; past this the listing is cut (`truncated`).
 */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** How often and how long to ask the engine for an exec's exit code after its stream ended (ms). */
const EXIT_POLL_MS = 20;
const EXIT_POLL_TIMES = 100;
/** Random bytes in a temporary upload's name (`.<name>.dnl-<hex>`). */
const TEMP_NAME_BYTES = 6;

/** The scripts' exit codes for what a client can meet (64+: no tool they run exits with these). */
const EXIT = { notFound: 64, notADirectory: 65, isADirectory: 66, exists: 67, changed: 68, permission: 69, incomplete: 70, notRegular: 71, noFolder: 72 } as const;

/**
 * One entry as `find -printf` writes it, each field NUL-terminated: type, size, mode, owner,
 * mtime (s with ns), inode, link target, name, path. `version` is mtime-size-inode.
 */
const ENTRY_FORMAT = '%y\\0%s\\0%m\\0%u\\0%T@\\0%i\\0%l\\0%f\\0%p\\0';
const ENTRY_FIELDS = 9;
const VERSION_FORMAT = '%T@-%s-%i';

/**
 * What every script starts with. `cwd`: the working directory of the newest lab shell on the
 * host (lab-shell records its PID in /run/lab/terms/<id>, and `exec bash -l` keeps it), else
 * /root. `abs`: $1 as an absolute, normalised path in p (relative to cwd), without resolving
 * links. `parent`: $p's folder in d, which must exist. `entry`: $1's entry (gone: not found,
 * e.g. when a folder on its path was swapped for something else meanwhile). Command
 * substitutions end in `printf x`, so a name ending in a newline keeps it.
 */
const PRELUDE = `set -u
E_NF=${EXIT.notFound} E_ND=${EXIT.notADirectory} E_ID=${EXIT.isADirectory} E_EX=${EXIT.exists} E_CH=${EXIT.changed} E_PE=${EXIT.permission} E_IN=${EXIT.incomplete} E_NR=${EXIT.notRegular} E_NP=${EXIT.noFolder}
cwd() {
  for t in $(ls -t ${LAB_HOST_PATHS.run}/lab/terms 2>/dev/null); do
    c=$(readlink "/proc/$(cat "${LAB_HOST_PATHS.run}/lab/terms/$t" 2>/dev/null)/cwd" 2>/dev/null && printf x) && { printf %s "\${c%?x}"; return; }
  done
  printf /root
}
abs() {
  case $1 in /*) p=$1 ;; *) p=$(cwd && printf x); p="\${p%x}/$1" ;; esac
  p=$(realpath -ms -- "$p" && printf x) || exit $E_NF
  p=\${p%?x}
}
parent() {
  d=\${p%/*}; d=\${d:-/}
  [ -d "$d" ] || { [ -e "$d" ] && exit $E_ND; exit $E_NP; }
  [ -w "$d" ] || exit $E_PE
}
exists() { [ -e "$1" ] || [ -L "$1" ]; }
entry() { find "$@" -maxdepth 0 -printf '${ENTRY_FORMAT}' 2>/dev/null || exit $E_NF; }
`;

/** The operations, each a script whose arguments are $1, $2...; their answers are on stdout. */
const SCRIPTS = {
  /** $1 path ('' = the shell's cwd), $2 most NUL-terminated fields: the folder's real path, then its entries. */
  list: `${PRELUDE}
if [ -z "$1" ]; then p=$(cwd && printf x); p=\${p%x}; else abs "$1"; fi
[ -e "$p" ] || exit $E_NF
[ -d "$p" ] || exit $E_ND
[ -r "$p" ] && [ -x "$p" ] || exit $E_PE
r=$(realpath -e -- "$p" && printf x) || exit $E_NF
r=\${r%?x}
printf '%s\\0' "$r"
find "$r" -mindepth 1 -maxdepth 1 -printf '${ENTRY_FORMAT}' 2>/dev/null | head -z -n "$2"`,
  /** $1 path: its size, its entry (links followed), then exactly that many of its bytes. */
  read: `${PRELUDE}
abs "$1"
[ -e "$p" ] || exit $E_NF
[ -d "$p" ] && exit $E_ID
[ -f "$p" ] || exit $E_NR
[ -r "$p" ] || exit $E_PE
s=$(find -H "$p" -maxdepth 0 -printf %s 2>/dev/null)
[ -n "$s" ] || exit $E_NF
printf '%s\\0' "$s"
entry -H "$p"
exec head -c "$s" -- "$p"`,
  /**
   * $1 path, $2 condition (any, none: create only, match: only over version $3), $4 length,
   * $5 random: the file's new bytes come on stdin. Written beside the file (same filesystem, so
   * the rename is atomic), given the old file's mode and owner, then renamed over it; create-only
   * links it in (ln fails if the name exists, atomically). Answers "new" or "old", then the entry.
   */
  write: `${PRELUDE}
cond=$2 version=$3
abs "$1"
[ -L "$p" ] && { p=$(realpath -m -- "$p" && printf x); p=\${p%?x}; }
[ -d "$p" ] && exit $E_ID
parent
[ "$cond" = none ] && exists "$p" && exit $E_EX
current() { [ -e "$p" ] && { [ "$version" = '*' ] || [ "$(find "$p" -maxdepth 0 -printf '${VERSION_FORMAT}')" = "$version" ]; }; }
[ "$cond" = match ] && ! current && exit $E_CH
t="$d/.\${p##*/}.dnl-$5"
trap 'rm -f -- "$t"' EXIT
head -c "$4" > "$t" || exit $E_PE
[ "$(stat -c %s -- "$t")" = "$4" ] || exit $E_IN
if [ "$cond" = match ] && ! current; then exit $E_CH; fi
if [ -e "$p" ]; then
  chmod --reference="$p" -- "$t" && chown --reference="$p" -- "$t" || exit $E_PE
  old=old
else
  old=new
fi
if [ "$cond" = none ]; then
  ln -T -- "$t" "$p" 2>/dev/null || exit $E_EX
else
  mv -f -T -- "$t" "$p" || exit $E_PE
fi
trap - EXIT
rm -f -- "$t"
printf '%s\\0' "$old"
entry "$p"`,
  /** $1 path: a new folder (its parent must exist). */
  mkdir: `${PRELUDE}
abs "$1"
exists "$p" && exit $E_EX
parent
mkdir -- "$p" || exit $E_PE
entry "$p"`,
  /** $1 from, $2 to: renamed (never over something that exists). */
  move: `${PRELUDE}
abs "$1"; a=$p
exists "$a" || exit $E_NF
abs "$2"
exists "$p" && exit $E_EX
parent
[ -w "\${a%/*}/" ] || exit $E_PE
mv -n -T -- "$a" "$p" || exit $E_PE
entry "$p"`,
  /** $1 path: the file, link or folder with all it holds. */
  remove: `${PRELUDE}
abs "$1"
exists "$p" || exit $E_NF
[ "$p" = / ] && exit $E_PE
parent
rm -rf -- "$p" || exit $E_PE`,
} as const;

type Operation = keyof typeof SCRIPTS;

/** What a PUT may say about the file it replaces (If-Match, If-None-Match). */
export type WriteCondition = { kind: 'any' } | { kind: 'none' } | { kind: 'match'; version: string };

export interface FileRead {
  entry: FileEntry;
  size: number;
  /** `size` bytes, or fewer when the file shrank while it was read (the caller then cuts its answer short). */
  body: Readable;
}

/**
 * A path from a client: refused (400 bad-path) when empty, with a NUL byte (which no argv can
 * carry) or longer than PATH_MAX.
 */
export function checkPath(path: unknown, what = 'The path'): string {
  if (typeof path !== 'string') throw new LabError(FILE_ERRORS.badPath, `${what} is missing or not a text; give a path on the lab host, such as /root/compose.yaml.`);
  if (path === '') throw new LabError(FILE_ERRORS.badPath, `${what} is empty; give a path on the lab host, such as /root/compose.yaml.`);
  if (path.includes('\0')) throw new LabError(FILE_ERRORS.badPath, `${what} contains a NUL byte, which no file name can hold; check the path.`);
  if (Buffer.byteLength(path) > MAX_FILE_PATH_BYTES) throw new LabError(FILE_ERRORS.badPath, `${what} is longer than ${MAX_FILE_PATH_BYTES} bytes, more than any path on Linux; check it.`);
  return path;
}

/** The files of one lab host, by its container's name. */
export class HostFiles {
  private readonly docker: Docker;
  private readonly containerName: string;
  /** The host's name, for sentences. */
  private readonly host: string;

  constructor(docker: Docker, containerName: string, host: string) {
    this.docker = docker;
    this.containerName = containerName;
    this.host = host;
  }

  /** A folder (without a path: the shell's working directory), folders first, then by name. */
  async list(path?: string): Promise<FileListing> {
    const maxFields = 1 + (MAX_LISTING_ENTRIES + 1) * ENTRY_FIELDS;
    const { fields, cut } = await this.collect('list', [path ?? '', String(maxFields)], path ?? 'the working directory');
    const [dir, ...rest] = fields;
    if (dir === undefined) throw this.failed('list', 'it gave no answer');
    const entries: FileEntry[] = [];
    for (let i = 0; i + ENTRY_FIELDS <= rest.length && entries.length < MAX_LISTING_ENTRIES; i += ENTRY_FIELDS) {
      entries.push(toEntry(rest.slice(i, i + ENTRY_FIELDS)));
    }
    const byName = new Intl.Collator('en', { numeric: true });
    entries.sort((a, b) => Number(b.type === 'dir') - Number(a.type === 'dir') || byName.compare(a.name, b.name));
    return { path: dir, entries, truncated: cut || rest.length > MAX_LISTING_ENTRIES * ENTRY_FIELDS };
  }

  /** A file's entry and its bytes as a stream (backpressure reaches the exec). */
  async read(path: string): Promise<FileRead> {
    const { exec, pipe } = await this.start('read', [path], false);
    const head = await readFields(pipe, 1 + ENTRY_FIELDS);
    if (!head) throw await this.refusal(exec, 'read', path);
    const size = Number(head.fields[0]);
    const entry = toEntry(head.fields.slice(1));
    if (head.rest.length) pipe.unshift(head.rest);
    return { entry, size, body: pipe };
  }

  /**
   * Write `length` bytes from `body` to the file, on `condition`. Resolves with its new entry and
   * whether it is new. `body` is read only as fast as the exec takes it; a body that ends early
   * (the client went away) leaves nothing behind. Never destroys `body`: its request may still
   * need an answer.
   */
  async write(path: string, body: Readable, length: number, condition: WriteCondition): Promise<{ entry: FileEntry; created: boolean }> {
    const version = condition.kind === 'match' ? condition.version : '';
    const { exec, pipe } = await this.start('write', [path, condition.kind, version, String(length), randomBytes(TEMP_NAME_BYTES).toString('hex')], true);
    const answer = collectAnswer(pipe);
    const fed = await feed(body, pipe);
    // Cut short: closing stdin leaves the script fewer bytes than announced, and it removes them.
    if (!fed) pipe.destroy();
    const { fields } = await answer;
    if (fields.length < 1 + ENTRY_FIELDS) throw await this.refusal(exec, 'write', path);
    return { created: fields[0] === 'new', entry: toEntry(fields.slice(1)) };
  }

  async mkdir(path: string): Promise<FileEntry> {
    return this.single('mkdir', [path], path);
  }

  async move(from: string, to: string): Promise<FileEntry> {
    return this.single('move', [from, to], from, to);
  }

  async remove(path: string): Promise<void> {
    await this.collect('remove', [path], path);
  }

  /** An operation whose answer is one entry. */
  private async single(op: Operation, args: string[], path: string, other?: string): Promise<FileEntry> {
    const { fields } = await this.collect(op, args, path, other);
    if (fields.length < ENTRY_FIELDS) throw this.failed(op, 'it gave no answer');
    return toEntry(fields);
  }

  /** Run an operation to its end; its answer's fields, or the refusal its exit code means. */
  private async collect(op: Operation, args: string[], path: string, other?: string): Promise<{ fields: string[]; cut: boolean }> {
    const { exec, pipe } = await this.start(op, args, false);
    const answer = await collectAnswer(pipe);
    // A listing cut at MAX_ANSWER_BYTES is an answer, whatever the exit code.
    const code = answer.cut ? 0 : await exitCode(exec);
    if (code !== 0) throw this.refusalFor(code, op, path, other);
    return answer;
  }

  private async start(op: Operation, args: string[], stdin: boolean): Promise<{ exec: Docker.Exec; pipe: ExecPipe }> {
    try {
      const exec = await this.docker.getContainer(this.containerName).exec({
        Cmd: ['sh', '-c', SCRIPTS[op], `files-${op}`, ...args],
        AttachStdin: stdin, AttachStdout: true, AttachStderr: true, Tty: false, User: 'root', WorkingDir: '/',
      });
      const socket = (await exec.start({ hijack: true, stdin, Tty: false })) as unknown as Duplex;
      const pipe = new ExecPipe(socket, { idleMs: EXEC_IDLE_MS });
      // Errors end the pipe; what they mean is read from the exit code.
      pipe.on('error', () => {});
      return { exec, pipe };
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode;
      if (status === 404 || status === 409) throw new LabError(API_ERRORS.dockerError, `Lab host ${this.host} is not running any more, so its files cannot be reached. Stop the lab and start a new one.`);
      throw err;
    }
  }

  /** The refusal a finished exec's exit code means. */
  private async refusal(exec: Docker.Exec, op: Operation, path: string): Promise<LabError> {
    return this.refusalFor(await exitCode(exec), op, path);
  }

  private refusalFor(code: number | null, op: Operation, path: string, other?: string): LabError {
    const name = quote(path);
    switch (code) {
      case EXIT.notFound:
        return new LabError(FILE_ERRORS.fileNotFound, `There is no ${name} on ${this.host} (it may have been moved or deleted); refresh the list.`);
      case EXIT.noFolder:
        return new LabError(FILE_ERRORS.fileNotFound, `The folder to hold ${quote(other ?? path)} does not exist on ${this.host}; make it first, or check the path.`);
      case EXIT.notADirectory:
        return new LabError(FILE_ERRORS.notADirectory, `${name} on ${this.host} is a file, not a folder; open it instead, or check the path.`);
      case EXIT.isADirectory:
        return new LabError(FILE_ERRORS.isADirectory, `${name} on ${this.host} is a folder, not a file; open it in the list instead.`);
      case EXIT.exists:
        return new LabError(FILE_ERRORS.fileExists, `${quote(other ?? path)} already exists on ${this.host}; choose another name, or replace it on purpose.`);
      case EXIT.changed:
        return new LabError(FILE_ERRORS.fileChanged, `${name} changed on ${this.host} since you opened it (perhaps from the terminal); reload it, or save again to overwrite that change.`);
      case EXIT.permission:
        return new LabError(FILE_ERRORS.filePermission, `${this.host} does not allow this change to ${name}: only /root, /tmp, /home and a few other places are writable on a lab host. Save it under /root instead.`);
      case EXIT.notRegular:
        return new LabError(FILE_ERRORS.filePermission, `${name} on ${this.host} is not a regular file (a device, a pipe or a socket) and cannot be opened here; use the terminal.`);
      case EXIT.incomplete:
        return new LabError(API_ERRORS.badRequest, `The upload of ${name} stopped before all its bytes arrived, so nothing was written; send it again.`);
      default:
        return this.failed(op, `it stopped with status ${code ?? 'unknown'}`);
    }
  }

  private failed(op: Operation, why: string): LabError {
    return new LabError(API_ERRORS.dockerError, `Lab host ${this.host} could not ${op} the file: ${why}. Try again; if it keeps failing, stop the lab and start a new one.`);
  }
}

/** The NUL-terminated fields of a script's whole answer, up to MAX_ANSWER_BYTES (`cut` past it). */
function collectAnswer(pipe: ExecPipe): Promise<{ fields: string[]; cut: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let cut = false;
    const done = () => {
      const all = Buffer.concat(chunks);
      const fields = all.toString('utf8').split('\0');
      // What follows the last NUL is an unfinished field.
      fields.pop();
      resolve({ fields, cut });
    };
    pipe.on('data', (chunk: Buffer) => {
      if (cut) return;
      size += chunk.length;
      if (size > MAX_ANSWER_BYTES) {
        cut = true;
        pipe.destroy();
        return;
      }
      chunks.push(chunk);
    });
    pipe.once('end', done);
    pipe.once('close', done);
  });
}

/**
 * The first `count` NUL-terminated fields of a stream and what came after them in the same
 * chunk; undefined when it ended first. The stream is left paused after them.
 */
function readFields(pipe: ExecPipe, count: number): Promise<{ fields: string[]; rest: Buffer } | undefined> {
  return new Promise((resolve) => {
    let buf = Buffer.alloc(0);
    const finish = (value: { fields: string[]; rest: Buffer } | undefined) => {
      pipe.off('data', onData);
      pipe.off('end', onEnd);
      pipe.off('close', onEnd);
      pipe.pause();
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const fields: string[] = [];
      let at = 0;
      while (fields.length < count) {
        const nul = buf.indexOf(0, at);
        if (nul < 0) break;
        fields.push(buf.subarray(at, nul).toString('utf8'));
        at = nul + 1;
      }
      if (fields.length === count) finish({ fields, rest: buf.subarray(at) });
      // An entry is two paths and a few numbers: anything longer is not one.
      else if (buf.length > 4 * MAX_FILE_PATH_BYTES) finish(undefined);
    };
    const onEnd = () => finish(undefined);
    pipe.on('data', onData);
    pipe.once('end', onEnd);
    pipe.once('close', onEnd);
  });
}

/**
 * Copy `body` into the exec's stdin, pausing it while the exec is not taking more, then close
 * stdin. Resolves true when all of it went, false when either side ended first.
 */
function feed(body: Readable, pipe: ExecPipe): Promise<boolean> {
  return new Promise((resolve) => {
    if (body.destroyed) return resolve(false);
    const finish = (ok: boolean) => {
      // What is left of the body stays unread (routes.ts decides what becomes of it).
      body.pause();
      body.off('data', onData);
      body.off('end', onEnd);
      body.off('close', onClose);
      pipe.off('drain', onDrain);
      pipe.off('end', onClose);
      pipe.off('close', onClose);
      resolve(ok);
    };
    const onData = (chunk: Buffer) => {
      if (!pipe.write(chunk)) body.pause();
    };
    const onDrain = () => body.resume();
    const onEnd = () => {
      pipe.end();
      finish(true);
    };
    const onClose = () => finish(false);
    body.on('data', onData);
    body.once('end', onEnd);
    body.once('close', onClose);
    pipe.on('drain', onDrain);
    // The exec's stdout ended: it exited, taking no more (e.g. a condition failed before it read).
    pipe.once('end', onClose);
    pipe.once('close', onClose);
  });
}

/** An exec's exit code once the engine has it (its stream may end a moment before); null if never. */
async function exitCode(exec: Docker.Exec): Promise<number | null> {
  for (let i = 0; i < EXIT_POLL_TIMES; i++) {
    const state = await exec.inspect().catch(() => undefined);
    if (!state) return null;
    if (!state.Running) return state.ExitCode ?? null;
    await new Promise((r) => setTimeout(r, EXIT_POLL_MS));
  }
  return null;
}

const TYPES: Record<string, FileEntry['type']> = { f: 'file', d: 'dir', l: 'link' };

/** One entry from its fields (ENTRY_FORMAT). */
function toEntry(fields: string[]): FileEntry {
  const [type = '', size = '0', mode = '0', owner = '', mtime = '0', inode = '0', target = '', name = '', path = ''] = fields;
  const entry: FileEntry = {
    name,
    path,
    type: TYPES[type] ?? 'other',
    size: Number(size),
    mode: mode.padStart(4, '0'),
    owner,
    mtime: new Date(Number(mtime) * 1000).toISOString(),
    version: `${mtime}-${size}-${inode}`,
  };
  if (type === 'l') entry.target = target;
  return entry;
}
