/**
 * What the guest job reports (result.json, written by smoke.ts inside the guest) and what makes
 * it a pass: cgroup v2 in the guest's engine, the runner's privilege choice logged as expected,
 * every smoke step passed, nothing left in the engine after DELETE. Pure: the unit test feeds it
 * good and bad results.
 */
import { z } from 'zod';

/** The smoke path's steps, in order (smoke.ts runs them; a result missing one fails). */
export const SMOKE_STEPS = ['create lab', 'open terminal', 'docker network ls', 'bridge ping by name', 'memory limit', 'pids limit', 'delete lab', 'nothing left'] as const;

/**
 * What LAB_HOST_PRIVILEGES=auto chooses on a cgroup v2 machine with every capability: the
 * capabilities form, since it starts there (docker.ts detectPrivilegeMode tries it first and
 * falls back to --privileged only where it does not start, as on the project's own machines).
 */
export const EXPECTED_PRIVILEGE_MODE = 'capabilities';

const step = z.object({ name: z.string(), ok: z.boolean(), seconds: z.number(), detail: z.string() });

export const guestResultSchema = z.object({
  engine: z.object({ version: z.string(), cgroupVersion: z.string(), cgroupDriver: z.string() }).nullable(),
  /** From the runner's own start-up log line, or null when it printed none. */
  privilegeMode: z.enum(['privileged', 'capabilities']).nullable(),
  /** Seconds from spawning the runner to its "ready on" line. */
  runnerStartSeconds: z.number().nullable(),
  steps: z.array(step),
  leftovers: z.object({ containers: z.number(), networks: z.number(), volumes: z.number() }).nullable(),
  /** The first failure's sentence, when the job stopped early. */
  error: z.string().nullable(),
});
export type GuestResult = z.infer<typeof guestResultSchema>;
export type StepResult = z.infer<typeof step>;

/** Every reason `text` (result.json) is not a pass; empty when it is one. */
export function resultProblems(text: string): { result: GuestResult | undefined; problems: string[] } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { result: undefined, problems: ['The guest job wrote no readable result.json.'] };
  }
  const parsed = guestResultSchema.safeParse(json);
  if (!parsed.success) return { result: undefined, problems: [`The guest job's result.json is malformed: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}.`] };
  const r = parsed.data;
  const problems: string[] = [];
  // A failed step says it below; any other stop (the runner did not start, the image was missing) only here.
  if (r.error && r.steps.every((s) => s.ok)) problems.push(`The smoke path stopped: ${r.error}`);
  if (!r.engine) problems.push('The guest job did not read the guest\'s docker info.');
  else if (r.engine.cgroupVersion !== '2') problems.push(`The guest's Docker Engine reports cgroup version ${r.engine.cgroupVersion}, not 2: this guest does not prove the cgroup v2 path.`);
  if (r.privilegeMode === null) problems.push('The runner logged no privilege choice for lab hosts.');
  else if (r.privilegeMode !== EXPECTED_PRIVILEGE_MODE) problems.push(`The runner chose ${r.privilegeMode} for lab hosts where ${EXPECTED_PRIVILEGE_MODE} was expected.`);
  for (const name of SMOKE_STEPS) {
    const s = r.steps.find((x) => x.name === name);
    if (!s) problems.push(`The smoke step "${name}" did not run.`);
    else if (!s.ok) problems.push(`The smoke step "${name}" failed: ${s.detail}`);
  }
  if (r.leftovers && r.leftovers.containers + r.leftovers.networks + r.leftovers.volumes > 0) {
    problems.push(`After DELETE the guest's engine still holds ${r.leftovers.containers} container(s), ${r.leftovers.networks} network(s) and ${r.leftovers.volumes} volume(s) of the lab.`);
  }
  return { result: r, problems };
}
