import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseSize } from './config.ts';

describe('configuration', () => {
  it('has documented defaults: loopback, port 4321, forky lab hosts', () => {
    const c = loadConfig({}, '/srv');
    expect(c).toMatchObject({ HOST: '127.0.0.1', PORT: 4321, LAB_SUITE: 'forky', LAB_HOST_PIDS: 1000, siteDir: '/srv/dist' });
    expect(c.LAB_HOST_MEMORY).toBe(1024 ** 3);
  });

  it('reads the lab manifest from outside the served site, and refuses one inside it', () => {
    expect(loadConfig({}, '/srv').manifestFile).toBe('/srv/.lab/lab-manifest.json');
    expect(loadConfig({ LAB_MANIFEST: '/etc/lab/manifest.json' }, '/srv').manifestFile).toBe('/etc/lab/manifest.json');
    expect(loadConfig({ LAB_MANIFEST: 'dist..json' }, '/srv').manifestFile).toBe('/srv/dist..json');
    for (const inside of ['dist/lab-manifest.json', '/srv/dist/x/m.json', 'dist']) {
      expect(() => loadConfig({ LAB_MANIFEST: inside }, '/srv')).toThrow(/LAB_MANIFEST: must be outside LAB_SITE_DIR \(\/srv\/dist\)/);
    }
    expect(() => loadConfig({ LAB_SITE_DIR: '/srv', LAB_MANIFEST: '.lab/m.json' }, '/srv')).toThrow(ConfigError);
  });

  it('parses sizes the way Docker writes them', () => {
    expect(parseSize('512m')).toBe(512 * 1024 ** 2);
    expect(parseSize('1g')).toBe(1024 ** 3);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('lots')).toBeUndefined();
  });

  it('fails with the variable, the reason and the value given', () => {
    expect(() => loadConfig({ LAB_HOST_PIDS: 'many', LAB_HOST_MEMORY: 'lots' })).toThrow(ConfigError);
    try {
      loadConfig({ LAB_HOST_PIDS: 'many', LAB_HOST_MEMORY: 'lots' });
    } catch (err) {
      expect((err as Error).message).toMatch(/LAB_HOST_PIDS: .* \(got "many"\)/);
      expect((err as Error).message).toMatch(/LAB_HOST_MEMORY: LAB_HOST_MEMORY must be a size such as 512m or 1g, not "lots"/);
    }
  });

  it('serves previews under *.localhost unless LAB_PREVIEW_DOMAIN names a DNS domain for them', () => {
    expect(loadConfig({}).LAB_PREVIEW_DOMAIN).toBeUndefined();
    expect(loadConfig({ LAB_PREVIEW_DOMAIN: 'Preview.Example.org.' }).LAB_PREVIEW_DOMAIN).toBe('preview.example.org');
    for (const bad of ['https://preview.example.org', 'preview.example.org:8443', '*.example.org', 'a..b', '-x.example.org']) {
      expect(() => loadConfig({ LAB_PREVIEW_DOMAIN: bad })).toThrow(/LAB_PREVIEW_DOMAIN: must be a DNS name/);
    }
  });
});
