/**
 * Whether a room's labs fit: LAB_MAX_LABS and the machine's memory, counted with the measured
 * cost of a lab host in use, and the sentence an instructor reads when they do not.
 */
import { describe, expect, it } from 'vitest';
import { LAB_HOST_IN_USE_BYTES, LAB_HOST_READY_BYTES, MEMORY_RESERVE_BYTES, planRoom, type RoomRequest } from './roomfit.ts';

const GiB = 1024 ** 3;
const room = (r: Partial<RoomRequest>): RoomRequest => ({
  lesson: '05-user-defined-bridges', count: 30, hostsPerLab: 1, pooled: 0, otherHostsToBuild: 0, availableBytes: 20 * GiB, maxLabs: 30, ...r,
});

describe('planning a room', () => {
  it('lets 30 one-host labs in on a machine with 20 GiB available, building those the pool lacks', () => {
    expect(planRoom(room({}))).toEqual({ fits: true, build: 30 });
    expect(planRoom(room({ pooled: 1 }))).toEqual({ fits: true, build: 29 });
    expect(planRoom(room({ pooled: 40, maxLabs: 100 }))).toEqual({ fits: true, build: 0 });
  });

  it('refuses beyond LAB_MAX_LABS, saying the most it can warm for', () => {
    const plan = planRoom(room({ count: 40 }));
    expect(plan).toEqual({
      fits: false,
      most: 30,
      sentence: 'The runner holds at most 30 labs at once (LAB_MAX_LABS), so it cannot keep 40 ready for 05-user-defined-bridges. Warm for 30 learners or fewer, or restart the runner with a higher LAB_MAX_LABS if the machine holds them.',
    });
  });

  it('refuses what the memory does not hold, with how many would fit and what to do', () => {
    // 3 GiB available, 1 GiB kept: 2 GiB for two-host labs in use.
    const plan = planRoom(room({ count: 20, hostsPerLab: 2, availableBytes: 3 * GiB }));
    const most = Math.floor((2 * GiB) / (2 * LAB_HOST_IN_USE_BYTES));
    expect(plan).toEqual({
      fits: false,
      most,
      sentence: `Keeping 20 labs ready for 05-user-defined-bridges would need about ${((20 * 2 * LAB_HOST_IN_USE_BYTES) / GiB).toFixed(1)} GiB more memory, and this machine can spare 2.0 GiB (3.0 GiB available, 1.0 GiB kept free for the runner and labs in use). About ${most} fit: warm for ${most} learners or fewer, or end labs nobody uses first.`,
    });
    expect(planRoom(room({ count: most, hostsPerLab: 2, availableBytes: 3 * GiB }))).toEqual({ fits: true, build: most });
  });

  it('counts back the memory pooled labs hold already, and leaves room for what other rooms still build', () => {
    const justEnough = MEMORY_RESERVE_BYTES + 10 * LAB_HOST_IN_USE_BYTES;
    expect(planRoom(room({ count: 10, availableBytes: justEnough })).fits).toBe(true);
    expect(planRoom(room({ count: 11, availableBytes: justEnough })).fits).toBe(false);
    // Five pooled labs took their ready memory out of what is available: still ten fit.
    expect(planRoom(room({ count: 10, pooled: 5, availableBytes: justEnough - 5 * LAB_HOST_READY_BYTES }))).toEqual({ fits: true, build: 5 });
    // Another room's four hosts still to be built take four of the ten.
    expect(planRoom(room({ count: 10, otherHostsToBuild: 4, availableBytes: justEnough }))).toMatchObject({ fits: false, most: 6 });
  });

  it('refuses every lab when less than the reserve is available, and says so without a negative figure', () => {
    const plan = planRoom(room({ count: 1, availableBytes: MEMORY_RESERVE_BYTES / 2 }));
    expect(plan).toMatchObject({ fits: false, most: 0 });
    expect(!plan.fits && plan.sentence).toMatch(/can spare 0\.0 GiB .* About 0 fit/);
  });
});
