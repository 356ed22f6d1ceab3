/**
 * Which highlighting a file gets in the editor, from its name (and a script's first line): the
 * kinds of file the course has learners write. Pure, unit-tested; editor.ts maps each kind to
 * its CodeMirror language.
 */
export type LanguageKind = 'yaml' | 'json' | 'shell' | 'dockerfile' | 'nginx' | 'properties';

export function languageFor(path: string, firstLine = ''): LanguageKind | undefined {
  const name = path.slice(path.lastIndexOf('/') + 1).toLowerCase();
  const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : '';
  if (ext === 'yaml' || ext === 'yml') return 'yaml';
  if (ext === 'json') return 'json';
  if (name === 'dockerfile' || name === 'containerfile' || name.startsWith('dockerfile.') || ext === 'dockerfile') return 'dockerfile';
  if (name.includes('nginx') || path.includes('/nginx/')) return 'nginx';
  if (['sh', 'bash'].includes(ext) || ['.bashrc', '.profile', '.bash_profile'].includes(name) || /^#!.*\b(ba|da|z)?sh\b/.test(firstLine)) return 'shell';
  if (['ini', 'conf', 'cfg', 'properties', 'env', 'rules', 'cnf'].includes(ext) || name === '.env') return 'properties';
  return undefined;
}
