/**
 * A lab host's paths as the Files tab handles them: joining, the parent and the last name, a
 * name made printable for the screen, and whether a name typed by the learner is one. Pure (no
 * DOM), so it is unit-tested; the host resolves every path itself (the runner's exec in the lab
 * host), this only builds them.
 */

/** The lab shells run as root: `~` in a lesson's path is its home. */
export const HOME = '/root';

/** `name` inside `folder` (absolute). */
export const join = (folder: string, name: string): string => (folder.endsWith('/') ? folder : `${folder}/`) + name;

/** The folder holding `path` ('/' for '/' and for a name at the top). */
export function parent(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  const i = trimmed.lastIndexOf('/');
  return i <= 0 ? '/' : trimmed.slice(0, i);
}

/** The last name of `path` ('/' for the root). */
export function baseName(path: string): string {
  const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
  return trimmed === '/' ? '/' : trimmed.slice(trimmed.lastIndexOf('/') + 1);
}

/**
 * A name as the screen shows it: a line break as ↵ and other control characters as �, so a row
 * stays one line and nothing the host's files are called can move the text around.
 */
// eslint-disable-next-line no-control-regex
export const printable = (name: string): string => name.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === '\n' ? '↵' : '\ufffd'));

/** Whether `name` can be one entry of a folder: not empty, not . or .., no slash and no NUL. */
export const isName = (name: string): boolean => name !== '' && name !== '.' && name !== '..' && !/[/\u0000]/.test(name);

/**
 * Where a lesson's `<OpenFile path>` is on the host: an absolute path as it is, `~` or `~/x`
 * under the home folder, anything else in the shell's working directory `cwd` (where the
 * lesson's commands write it, as `cat > compose.yaml` does).
 */
export function resolve(path: string, cwd: string): string {
  if (path.startsWith('/')) return path;
  if (path === '~') return HOME;
  if (path.startsWith('~/')) return join(HOME, path.slice(2));
  return join(cwd, path);
}
