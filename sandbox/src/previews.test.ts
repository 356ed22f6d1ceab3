import { describe, expect, it } from 'vitest';
import { cellOfPreviewId, newPreviewId, PREVIEW_ID_PATTERN, previewIdOf, relayAddress } from './previews.ts';

const ID = 'abcdefghijklmnopqrstuvwxyz';

describe('preview ids', () => {
  it('are 128 random bits as 26 lowercase base32 characters, one DNS label', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newPreviewId()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(PREVIEW_ID_PATTERN);
  });

  it('encode their bytes as RFC 4648 base32 does', () => {
    // RFC 4648's vector: "foobar" is MZXW6YTBOI. Of 128 bits, the last 3 fill the 26th character ("111" + "00" is 28, "4").
    expect(newPreviewId(new TextEncoder().encode('foobar'))).toBe('mzxw6ytboi');
    expect(newPreviewId(new Uint8Array(16))).toBe('a'.repeat(26));
    expect(newPreviewId(new Uint8Array(16).fill(255))).toBe(`${'7'.repeat(25)}4`);
  });

  it('end with their cell\'s name with LAB_CELL, so any cell knows where the lab is, and still fit one DNS label', () => {
    const id = newPreviewId(new Uint8Array(16), 'z'.repeat(25));
    expect(id).toBe(`${'a'.repeat(26)}-${'z'.repeat(25)}`);
    expect(id).toMatch(PREVIEW_ID_PATTERN);
    expect(id.length).toBeLessThanOrEqual(63);
    expect(cellOfPreviewId(id)).toBe('z'.repeat(25));
    expect(cellOfPreviewId(newPreviewId())).toBeNull();
    expect(previewIdOf(`${ID}-n1.localhost:4321`, 'localhost')).toBe(`${ID}-n1`);
    for (const host of [`${ID}-.localhost`, `${ID}-n_1.localhost`, `${ID}-${'a'.repeat(26)}.localhost`, `${ID}-a-b.localhost`]) expect(previewIdOf(host, 'localhost')).toBeNull();
  });
});

describe('which requests are a preview\'s (by Host)', () => {
  it('finds the id one label under localhost, with or without a port, in any case', () => {
    expect(previewIdOf(`${ID}.localhost:4321`, 'localhost')).toBe(ID);
    expect(previewIdOf(`${ID.toUpperCase()}.LOCALHOST`, 'localhost')).toBe(ID);
    expect(previewIdOf(`${ID}.localhost.:80`, 'localhost')).toBe(ID);
  });

  it('finds it under LAB_PREVIEW_DOMAIN instead when one is set', () => {
    expect(previewIdOf(`${ID}.preview.example.org`, 'preview.example.org')).toBe(ID);
    expect(previewIdOf(`${ID}.localhost:4321`, 'preview.example.org')).toBeUndefined();
  });

  it('leaves the course\'s own hosts to the course', () => {
    for (const host of [undefined, '', 'localhost:4321', '127.0.0.1:4321', '[::1]:4321', 'lab.example.org', `${ID}.localhost.example.org`, 'localhost']) {
      expect(previewIdOf(host, 'localhost')).toBeUndefined();
    }
  });

  it('claims every other name under the preview domain without an id: those get 404, never the course', () => {
    for (const host of ['foo.localhost', `${ID}a.localhost`, `${ID.slice(1)}.localhost`, `a.${ID}.localhost`, `${ID.slice(0, 25)}1.localhost`, `${'x'.repeat(10_000)}.localhost`, '.localhost', `${ID}%00.localhost`]) {
      expect(previewIdOf(host, 'localhost')).toBeNull();
    }
  });
});

describe('where a relay connects inside the lab host', () => {
  it('uses its loopback for ports published on all addresses or on loopback, else the one address given', () => {
    expect(relayAddress(['0.0.0.0', '::'])).toBe('127.0.0.1');
    expect(relayAddress(['127.0.0.1'])).toBe('127.0.0.1');
    expect(relayAddress(['::'])).toBe('127.0.0.1');
    expect(relayAddress(['10.213.0.5'])).toBe('10.213.0.5');
    expect(relayAddress(['fd00::5'])).toBeUndefined();
    expect(relayAddress(['not an address; rm -rf /'])).toBeUndefined();
  });
});
