import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseSize } from './config.ts';

describe('configuration', () => {
  it('has documented defaults: loopback, port 4321, every engine offered with Engine 28.5.2 first', () => {
    const c = loadConfig({}, '/srv');
    expect(c).toMatchObject({ HOST: '127.0.0.1', PORT: 4321, LAB_HOST_PIDS: 1000, siteDir: '/srv/dist' });
    expect(c.engines.map((e) => e.version)).toEqual(['28.5.2', '26.1.5']);
    expect(c.warnings).toEqual([]);
    expect(c.LAB_HOST_MEMORY).toBe(1024 ** 3);
  });

  it('offers the engines LAB_ENGINES names, the first as the default, and refuses unknown, repeated or no engines', () => {
    expect(loadConfig({ LAB_ENGINES: '26' }).engines.map((e) => e.suite)).toEqual(['trixie']);
    expect(loadConfig({ LAB_ENGINES: '26, 28' }).engines.map((e) => e.id)).toEqual(['26', '28']);
    expect(() => loadConfig({ LAB_ENGINES: '27' })).toThrow(/LAB_ENGINES.*an engine is one of 28, 26 \(got "27"\)/);
    expect(() => loadConfig({ LAB_ENGINES: '28,28' })).toThrow(/LAB_ENGINES: names an engine twice/);
    expect(() => loadConfig({ LAB_ENGINES: ',' })).toThrow(/LAB_ENGINES: name at least one engine/);
  });

  it('still reads the deprecated LAB_SUITE as that suite\'s engine alone, with a sentence saying what to set instead', () => {
    const c = loadConfig({ LAB_SUITE: 'trixie' });
    expect(c.engines.map((e) => e.id)).toEqual(['26']);
    expect(c.warnings).toEqual([expect.stringMatching(/LAB_SUITE is deprecated: .*set LAB_ENGINES=26 instead/)]);
    expect(() => loadConfig({ LAB_SUITE: 'trixie', LAB_ENGINES: '26' })).toThrow(/LAB_SUITE: set LAB_ENGINES alone, which replaced it/);
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

  it('requires the sandboxed mode only with LAB_REQUIRE_SANDBOX=1, and refuses other values naming the field', () => {
    expect(loadConfig({}).LAB_REQUIRE_SANDBOX).toBe(false);
    expect(loadConfig({ LAB_REQUIRE_SANDBOX: '1' }).LAB_REQUIRE_SANDBOX).toBe(true);
    expect(loadConfig({ LAB_REQUIRE_SANDBOX: '0' }).LAB_REQUIRE_SANDBOX).toBe(false);
    expect(() => loadConfig({ LAB_REQUIRE_SANDBOX: 'yes' })).toThrow(/LAB_REQUIRE_SANDBOX: must be 1 \(require it\) or 0 \(got "yes"\)/);
  });

  it("runs labs on an engine of the runner's own only with LAB_OWN_ENGINE=1, its socket folder per instance unless LAB_OWN_ENGINE_DIR names one", () => {
    expect(loadConfig({}).LAB_OWN_ENGINE).toBe(false);
    expect(loadConfig({ LAB_OWN_ENGINE: '1' }).LAB_OWN_ENGINE).toBe(true);
    expect(loadConfig({ LAB_INSTANCE: 'ws' }).ownEngineDir).toBe('/run/dnl-lab-engine/ws');
    expect(loadConfig({ LAB_OWN_ENGINE_DIR: '/srv/engine' }).ownEngineDir).toBe('/srv/engine');
    expect(() => loadConfig({ LAB_OWN_ENGINE: 'yes' })).toThrow(/LAB_OWN_ENGINE: must be 1 \(an engine of its own\) or 0 \(got "yes"\)/);
    expect(() => loadConfig({ LAB_OWN_ENGINE_DIR: 'run/x' })).toThrow(/LAB_OWN_ENGINE_DIR: must be an absolute path/);
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

  it('waits 30 s for a lab host\'s engine and 60 s for it to be ready by default, longer when told, and refuses a ready wait shorter than the start it includes', () => {
    expect(loadConfig({})).toMatchObject({ LAB_ENGINE_START_TIMEOUT: 30, LAB_READY_TIMEOUT: 60 });
    expect(loadConfig({ LAB_ENGINE_START_TIMEOUT: '240', LAB_READY_TIMEOUT: '300' })).toMatchObject({ LAB_ENGINE_START_TIMEOUT: 240, LAB_READY_TIMEOUT: 300 });
    expect(() => loadConfig({ LAB_ENGINE_START_TIMEOUT: '240' })).toThrow(/LAB_READY_TIMEOUT: must be at least LAB_ENGINE_START_TIMEOUT \(240 s\), which it includes \(got 60\)/);
    expect(() => loadConfig({ LAB_ENGINE_START_TIMEOUT: '0' })).toThrow(/LAB_ENGINE_START_TIMEOUT: /);
  });

  it('serves previews under *.localhost unless LAB_PREVIEW_DOMAIN names a DNS domain for them', () => {
    expect(loadConfig({}).LAB_PREVIEW_DOMAIN).toBeUndefined();
    expect(loadConfig({ LAB_PREVIEW_DOMAIN: 'Preview.Example.org.' }).LAB_PREVIEW_DOMAIN).toBe('preview.example.org');
    for (const bad of ['https://preview.example.org', 'preview.example.org:8443', '*.example.org', 'a..b', '-x.example.org']) {
      expect(() => loadConfig({ LAB_PREVIEW_DOMAIN: bad })).toThrow(/LAB_PREVIEW_DOMAIN: must be a DNS name/);
    }
  });

  it('reads a cell name, its peers and the secret, and refuses peers without a cell name or a long enough secret, never printing the secret', () => {
    const secret = 'x'.repeat(32);
    expect(loadConfig({}).LAB_CELL_PEERS).toBeUndefined();
    const config = loadConfig({ LAB_CELL: 'n1', LAB_CELL_PEERS: 'tasks.runner, 10.0.0.5:4400,[fd00::1]:80', LAB_CELL_SECRET: secret });
    expect(config.LAB_CELL_PEERS).toEqual([{ host: 'tasks.runner', port: undefined }, { host: '10.0.0.5', port: 4400 }, { host: 'fd00::1', port: 80 }]);
    expect(loadConfig({ LAB_CELL: 'abcdefghijklmnopqrstuvwxy' }).LAB_CELL).toHaveLength(25);
    for (const bad of ['Node1', 'n-1', 'a'.repeat(26)]) expect(() => loadConfig({ LAB_CELL: bad })).toThrow(/LAB_CELL: must be 1-25 lowercase letters or digits/);
    for (const bad of ['http://a', 'a:0', 'a:70000', 'a b', '-a', 'a:']) {
      expect(() => loadConfig({ LAB_CELL: 'n1', LAB_CELL_SECRET: secret, LAB_CELL_PEERS: bad })).toThrow(/LAB_CELL_PEERS.0: ".*" is not host\[:port\]/);
    }
    expect(() => loadConfig({ LAB_CELL_PEERS: 'tasks.runner', LAB_CELL_SECRET: secret })).toThrow(/LAB_CELL_PEERS: needs LAB_CELL/);
    expect(() => loadConfig({ LAB_CELL: 'n1', LAB_CELL_PEERS: 'tasks.runner' })).toThrow(/LAB_CELL_SECRET: must be set/);
    const short = 'short-secret-value';
    expect(() => loadConfig({ LAB_CELL: 'n1', LAB_CELL_PEERS: 'tasks.runner', LAB_CELL_SECRET: short })).toThrow(/LAB_CELL_SECRET: must be 32-500 printable ASCII characters.*\(got a value that is not shown\)/);
    try {
      loadConfig({ LAB_CELL_SECRET: short });
    } catch (err) {
      expect((err as Error).message).not.toContain(short);
    }
  });
});
