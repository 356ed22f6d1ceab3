import { describe, expect, it } from 'vitest';
import { labBridgeName } from './bridges.ts';
import { cellOfLabId, LAB_ID_PATTERN, makeLabId } from './store.ts';

describe('lab ids', () => {
  it('carry the cell name in front of 12 hex characters with LAB_CELL, and are the 12 hex characters alone without it', () => {
    expect(makeLabId('0123456789ab', undefined)).toBe('0123456789ab');
    expect(makeLabId('0123456789ab', 'n1')).toBe('n1-0123456789ab');
  });

  it('name their cell (null for a plain id, which earlier runs stored and a runner still adopts), and anything else is no id', () => {
    expect(cellOfLabId('0123456789ab')).toBeNull();
    expect(cellOfLabId('n1-0123456789ab')).toBe('n1');
    expect(cellOfLabId(`${'a'.repeat(25)}-0123456789ab`)).toBe('a'.repeat(25));
    for (const bad of ['', '0123456789a', '0123456789abc', '0123456789AB', `${'a'.repeat(26)}-0123456789ab`, 'N1-0123456789ab', 'n_1-0123456789ab', 'a-b-0123456789ab', '-0123456789ab', 'n1-', '../0123456789ab']) {
      expect(cellOfLabId(bad), bad).toBeUndefined();
      expect(LAB_ID_PATTERN.test(bad), bad).toBe(false);
    }
  });

  it('give a bridge name of the random part only, within the 15 characters Linux allows', () => {
    expect(labBridgeName('0123456789ab')).toBe('dnl0123456789ab');
    expect(labBridgeName(`${'a'.repeat(25)}-0123456789ab`)).toBe('dnl0123456789ab');
  });
});
