/**
 * Where a lab's state outlives the runner process: one small JSON file per lab in a directory
 * of its own per runner instance (LAB_STATE_DIR/<instance>/<lab id>.json), so that a runner
 * started after an upgrade or a crash adopts the labs that are still valid instead of reaping
 * them (registry.ts, adopt).
 *
 * Why files and not labels on the lab's Docker objects: labels are fixed when a container is
 * created, and most of a lab's state is not known then or changes later: a pooled lab is built
 * before anyone claims it (lesson, token hash, client, deadlines come at the claim), and the
 * last activity and check results change while it is used. Nor inside the lab host: its root
 * user is the learner, who could then extend their own lab or take another's token hash.
 *
 * Writes are whole-file and atomic (write a temporary file, then rename over the old one), so a
 * runner killed mid-write leaves the previous version or the new one, never half of either.
 * A write that fails (disk full, permissions) is logged and the lab goes on working; it only
 * loses the ability to survive a restart. This module knows nothing of Docker.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CHECK_STATUS } from '../../contract/api.ts';
import { ENGINES, type EngineId } from '../../contract/labspec.ts';

/**
 * Lab ids are 12 lowercase hex characters, after the cell's name and a dash when the runner is
 * one cell of several (LAB_CELL: `<cell>-<12 hex>`); anything else is not a lab and gets 404 at
 * once. Labs of a runner that had no cell name keep their plain ids, and are still adopted.
 */
export const LAB_ID_PATTERN = /^(?:([a-z0-9]{1,25})-)?[0-9a-f]{12}$/;

/** The cell an id names (null for a plain id, whose lab is this machine's), or undefined when it is no lab id at all. */
export function cellOfLabId(id: string): string | null | undefined {
  const m = LAB_ID_PATTERN.exec(id);
  return m ? (m[1] ?? null) : undefined;
}

/** A new lab's id from its random part, with this runner's cell name in front when it has one. */
export function makeLabId(random: string, cell: string | undefined): string {
  return cell ? `${cell}-${random}` : random;
}

const checkStatuses = Object.values(CHECK_STATUS) as [string, ...string[]];

/** One lab as it is kept on disk. Bump `version` when the shape changes incompatibly. */
export const labRecordSchema = z.object({
  version: z.literal(1),
  id: z.string().regex(LAB_ID_PATTERN),
  lesson: z.string().min(1),
  shape: z.string().min(1),
  /** The Docker Engine its hosts run; records written before labs had a choice lack it (the default's). */
  engine: z.enum(ENGINES.map((e) => e.id) as [EngineId, ...EngineId[]]).optional(),
  hosts: z.array(z.object({ name: z.string().min(1), containerName: z.string().min(1) })).min(1),
  networkName: z.string().min(1),
  subnet: z.string().min(1),
  env: z.array(z.string()),
  pooled: z.boolean(),
  /** sha256 of the lab's token, hex: the token itself is never stored. */
  tokenHash: z.string().regex(/^[0-9a-f]{64}$/),
  client: z.string().optional(),
  /** The client address it was created from (clientaddress.ts), for the per-address cap. */
  address: z.string(),
  expiresAt: z.number(),
  lastActive: z.number(),
  /** A terminal was open when this was written (the lab was in use, not idle). */
  inUse: z.boolean(),
  /** The last result of each exercise checked in this lab. */
  checks: z.record(z.string(), z.object({ status: z.enum(checkStatuses), at: z.number() })),
  /** The exercises whose setup ran in this lab; absent in records of runners before setups, and when none did. */
  started: z.array(z.string()).optional(),
  // Optional: records written before the instructor dashboard lack them, and are still read.
  createdAt: z.number().optional(),
  learnerName: z.string().optional(),
  /** Since when the learner asks for help. */
  helpSince: z.number().optional(),
  lastCheck: z.object({ exercise: z.string(), status: z.enum(checkStatuses), message: z.string(), at: z.number() }).optional(),
});

export type LabRecord = z.infer<typeof labRecordSchema>;

const SUFFIX = '.json';

export class LabStore {
  readonly dir: string;
  private readonly log: (line: string) => void;
  /** A failed write is said once, not on every keystroke's flush. */
  private warned = false;

  constructor(dir: string, log: (line: string) => void) {
    this.dir = dir;
    this.log = log;
  }

  /** Every readable record; files that are not valid records are named in the log and skipped. */
  loadAll(): LabRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.endsWith(SUFFIX));
    } catch {
      return []; // no directory yet: no labs were ever kept
    }
    const records: LabRecord[] = [];
    for (const name of names) {
      const file = path.join(this.dir, name);
      try {
        const parsed = labRecordSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
        if (parsed.success && `${parsed.data.id}${SUFFIX}` === name) {
          records.push(parsed.data);
          continue;
        }
        const why = parsed.success ? 'its id does not match its file name' : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
        this.log(`ignoring lab state ${file}: ${why}`);
      } catch (err) {
        this.log(`ignoring lab state ${file}: ${(err as Error).message}`);
      }
      this.removeFile(file);
    }
    return records;
  }

  save(record: LabRecord): void {
    const file = path.join(this.dir, `${record.id}${SUFFIX}`);
    const temporary = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(temporary, JSON.stringify(record), { mode: 0o600 });
      renameSync(temporary, file);
      this.warned = false;
    } catch (err) {
      this.removeFile(temporary);
      if (!this.warned) this.log(`could not keep the state of lab ${record.id} in ${this.dir} (${(err as Error).message}); it works, but will not survive a restart of the runner`);
      this.warned = true;
    }
  }

  remove(id: string): void {
    this.removeFile(path.join(this.dir, `${id}${SUFFIX}`));
  }

  /** Forget every lab of this instance (their Docker objects are removed by the caller). */
  removeAll(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private removeFile(file: string): void {
    try {
      rmSync(file, { force: true });
    } catch {
      // Already gone, or not ours to remove: nothing more to do.
    }
  }
}
