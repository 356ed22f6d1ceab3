import { describe, expect, it } from 'vitest';
import type { CellView } from '../../contract/api.ts';
import { CELL_REFRESH_MS, answeredFull, minFreeBytes, placementOrder, workshopFull } from './cells.ts';

const GiB = 1024 ** 3;
const NOW = Date.parse('2026-12-01T18:00:00Z');

function cell(name: string, over: Partial<CellView> = {}): CellView {
  return {
    cell: name, labs: 0, creating: 0, maxLabs: 30, freeBytes: 8 * GiB, accepting: true, engine: true, poolReady: 0,
    self: false, reachable: true, seenAt: new Date(NOW - 1000).toISOString(), ...over,
  };
}

const order = (cells: CellView[], need = minFreeBytes(1)) => placementOrder(cells, need, NOW).map((c) => c.cell);

describe('placement', () => {
  it('orders the cells by room, then free memory, this cell first when both are equal', () => {
    expect(order([cell('a', { self: true, labs: 5 }), cell('b', { labs: 2 }), cell('c', { labs: 2, creating: 1 })])).toEqual(['b', 'c', 'a']);
    expect(order([cell('a', { self: true, freeBytes: 4 * GiB }), cell('b', { freeBytes: 6 * GiB }), cell('c', { freeBytes: 5 * GiB })])).toEqual(['b', 'c', 'a']);
    expect(order([cell('b'), cell('a', { self: true }), cell('c')])).toEqual(['a', 'b', 'c']);
  });

  it('leaves out cells that are full, short of memory, draining, without an engine, or not heard from lately', () => {
    const stale = new Date(NOW - 4 * CELL_REFRESH_MS).toISOString();
    const cells = [
      cell('full', { labs: 29, creating: 1 }), cell('tight', { freeBytes: minFreeBytes(2) - 1 }), cell('draining', { accepting: false }),
      cell('noengine', { engine: false }), cell('gone', { reachable: false }), cell('stale', { seenAt: stale }), cell('ok'),
    ];
    expect(order(cells, minFreeBytes(2))).toEqual(['ok']);
    // This cell's own status is always fresh.
    expect(order([cell('self', { self: true, seenAt: stale })])).toEqual(['self']);
  });

  it('needs the memory of the lab\'s hosts in use plus the reserve, not LAB_HOST_MEMORY per host', () => {
    expect(minFreeBytes(2) - minFreeBytes(1)).toBeLessThan(0.1 * GiB);
    expect(minFreeBytes(1)).toBeGreaterThan(GiB);
  });

  it('says how full the machines that answer are when none takes a lab', () => {
    const cells = [cell('a', { self: true, labs: 30 }), cell('b', { labs: 29, creating: 1 }), cell('c', { labs: 30 }), cell('gone', { reachable: false, labs: 3 })];
    expect(workshopFull(cells)).toBe('The workshop is full: all 3 machines\' labs are in use (90 of 90); try again in a few minutes.');
  });

  it('counts a cell that answered "full" as full in the sentence, though its last status still showed room', () => {
    // Discovery's status of b was asked before the last lab placed there: it shows one place left.
    const stale = cell('b', { labs: 1, maxLabs: 2 });
    const cells = [cell('a', { self: true, labs: 2, maxLabs: 2 }), answeredFull(stale), cell('c', { labs: 1, maxLabs: 1 })];
    expect(workshopFull(cells)).toBe('The workshop is full: all 3 machines\' labs are in use (5 of 5); try again in a few minutes.');
    expect(answeredFull(cell('d', { labs: 0, creating: 1, maxLabs: 2 })).labs).toBe(1);
    expect(answeredFull(cell('e', { labs: 3, maxLabs: 2 })).labs).toBe(3);
  });

  it('does not count the places of a draining cell or one short of memory as in use', () => {
    const cells = [cell('a', { self: true, labs: 30 }), cell('b', { labs: 3, accepting: false }), cell('c', { labs: 10, freeBytes: 0.5 * GiB })];
    expect(workshopFull(cells)).toBe('The workshop is full: none of its 3 machines can take another lab now (43 labs in use; a machine may be short of memory or being taken out of the workshop); try again in a few minutes.');
  });
});
