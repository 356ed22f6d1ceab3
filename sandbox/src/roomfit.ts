/**
 * Whether warming the pool for a room fits the machine: the labs an instructor expects on one
 * chapter, against LAB_MAX_LABS and against the memory the machine has available, with a
 * sentence that says how many would fit when they do not: a pure function of numbers (labs.ts
 * reads the machine's). The pool that then builds the labs is pool.ts.
 */

const MiB = 1024 ** 2;

/**
 * Memory one lab host of a room takes, in two parts, both measured on this project's 2-core,
 * 24 GiB machine (Engine 20.10, cgroup v1, forky lab hosts):
 * - ready, nobody in it: MemAvailable (/proc/meminfo) fell by 42.1 MiB per lab while a runner
 *   filled its pool with 30 one-host labs, and by 85.2 MiB per lab (42.6 per host) with 15
 *   two-host labs; `docker stats --no-stream` showed 35 MiB per lab host (33-54), the rest
 *   being its shim, network namespace and kernel memory.
 * - in use: the same lab host running a lesson's worth of containers (a user-defined network,
 *   three `web` containers and a `busybox`) grew from 35 to 63 MiB in `docker stats`.
 */
export const LAB_HOST_READY_BYTES = 42 * MiB;
export const LAB_HOST_IN_USE_BYTES = LAB_HOST_READY_BYTES + 28 * MiB;
/**
 * Kept free whatever a room needs: for the runner (~130 MiB with 30 labs), the Docker Engine,
 * and labs already in use growing towards LAB_HOST_MEMORY.
 */
export const MEMORY_RESERVE_BYTES = 1024 * MiB;

export interface RoomRequest {
  /** The lesson the room is expected on, as the sentence names it. */
  lesson: string;
  /** Learners expected: labs of the lesson's shape to keep ready. */
  count: number;
  /** Lab hosts in one lab of that shape. */
  hostsPerLab: number;
  /** Labs of that shape the pool already holds (ready or starting): only the rest is built. */
  pooled: number;
  /** Lab hosts other reservations still have to build, which the memory must hold too. */
  otherHostsToBuild: number;
  /** The machine's available memory now: MemAvailable, which os.freemem() reads on Linux. */
  availableBytes: number;
  /** LAB_MAX_LABS. */
  maxLabs: number;
}

export type RoomPlan = { fits: true; build: number } | { fits: false; most: number; sentence: string };

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

/**
 * Whether `count` labs of the lesson's shape can be kept ready for a room. Each lab is counted
 * as a lab in use (LAB_HOST_IN_USE_BYTES per host: the room is about to use them); what pooled
 * labs hold already is out of the available memory. When they do not fit, `most` is how many would.
 */
export function planRoom(r: RoomRequest): RoomPlan {
  const perLab = r.hostsPerLab * LAB_HOST_IN_USE_BYTES;
  const spare = r.availableBytes - MEMORY_RESERVE_BYTES - r.otherHostsToBuild * LAB_HOST_IN_USE_BYTES;
  // The ready memory of pooled labs is spent already: count it back, as the room is counted in full.
  const spent = r.pooled * r.hostsPerLab * LAB_HOST_READY_BYTES;
  // Labs that exist fit by definition, whatever the memory says now.
  const most = Math.min(r.maxLabs, Math.max(r.pooled, Math.floor((spare + spent) / perLab)));
  if (r.count <= most) return { fits: true, build: Math.max(0, r.count - r.pooled) };
  if (r.count > r.maxLabs) {
    return {
      fits: false,
      most,
      sentence: `The runner holds at most ${r.maxLabs} labs at once (LAB_MAX_LABS), so it cannot keep ${r.count} ready for ${r.lesson}. Warm for ${most} learners or fewer, or restart the runner with a higher LAB_MAX_LABS if the machine holds them.`,
    };
  }
  return {
    fits: false,
    most,
    sentence: `Keeping ${r.count} labs ready for ${r.lesson} would need about ${gib(r.count * perLab - spent)} more memory, and this machine can spare ${gib(Math.max(0, spare))} (${gib(r.availableBytes)} available, ${gib(MEMORY_RESERVE_BYTES)} kept free for the runner and labs in use). About ${most} fit: warm for ${most} learners or fewer, or end labs nobody uses first.`,
  };
}
