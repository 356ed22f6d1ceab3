import { describe, expect, it } from 'vitest';
import { baseName, isName, join, parent, printable, resolve } from './paths.ts';
import { textOf } from './text.ts';
import { languageFor } from './languages.ts';

describe('the Files tab\'s paths', () => {
  it('joins, takes the parent and the last name, at the root and below', () => {
    expect(join('/', 'a')).toBe('/a');
    expect(join('/root', '-x y')).toBe('/root/-x y');
    expect(parent('/root/shop/compose.yaml')).toBe('/root/shop');
    expect(parent('/root')).toBe('/');
    expect(parent('/')).toBe('/');
    expect(parent('/root/dir/')).toBe('/root');
    expect(baseName('/root/shop/compose.yaml')).toBe('compose.yaml');
    expect(baseName('/')).toBe('/');
  });

  it('shows a line break in a name as ↵ and other control characters as �, keeping spaces, dashes and Chinese', () => {
    expect(printable('-a b\n文件\u0007')).toBe('-a b↵文件\ufffd');
  });

  it('takes a name with spaces, a line break, Chinese and a leading dash, and refuses empty, . , .. and slashes', () => {
    expect(isName('-a b\n文件')).toBe(true);
    for (const bad of ['', '.', '..', 'a/b', 'a\u0000b']) expect(isName(bad), JSON.stringify(bad)).toBe(false);
  });

  it('resolves a lesson\'s path: absolute as is, ~ under /root, the rest in the shell\'s working directory', () => {
    expect(resolve('/etc/ufw/after.rules', '/root/shop')).toBe('/etc/ufw/after.rules');
    expect(resolve('~/orders/compose.yaml', '/tmp')).toBe('/root/orders/compose.yaml');
    expect(resolve('compose.yaml', '/root/shop')).toBe('/root/shop/compose.yaml');
  });
});

describe('text or binary', () => {
  const bytes = (s: string) => new TextEncoder().encode(s);
  it('opens valid UTF-8 as text, a byte-order mark kept', () => {
    expect(textOf(bytes('services:\n  web: {}\n中文\n'))).toBe('services:\n  web: {}\n中文\n');
    expect(textOf(Uint8Array.of(0xef, 0xbb, 0xbf, 0x61))).toBe('\ufeffa');
  });
  it('calls a file with a NUL byte or invalid UTF-8 binary', () => {
    expect(textOf(Uint8Array.of(0x61, 0, 0x62))).toBeUndefined();
    expect(textOf(Uint8Array.of(0x61, 0xff, 0x62))).toBeUndefined();
  });
});

describe('highlighting by file name', () => {
  it('knows the files the course has learners write', () => {
    expect(languageFor('/root/shop/compose.yaml')).toBe('yaml');
    expect(languageFor('docker-compose.yml')).toBe('yaml');
    expect(languageFor('/etc/docker/daemon.json')).toBe('json');
    expect(languageFor('/root/app/Dockerfile')).toBe('dockerfile');
    expect(languageFor('/etc/nginx/conf.d/default.conf')).toBe('nginx');
    expect(languageFor('/root/setup.sh')).toBe('shell');
    expect(languageFor('/root/run', '#!/bin/bash')).toBe('shell');
    expect(languageFor('/etc/ufw/after.rules')).toBe('properties');
    expect(languageFor('/etc/default/ufw.conf')).toBe('properties');
    expect(languageFor('/root/notes.txt')).toBeUndefined();
  });
});
