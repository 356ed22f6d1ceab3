/**
 * What the guest job reports (result.json, written by smoke.ts inside the guest) and what makes
 * it a pass: cgroup v2 in the guest's engine, and both passes of the smoke path, each with the
 * runner's privilege choice logged as expected, every step passed and nothing left in the engine
 * after DELETE. Pure: the unit test feeds it good and bad results.
 */
import { z } from 'zod';

/** Every step either pass can run (smoke.ts has one function for each). */
export const SMOKE_STEPS = ['create lab', 'open terminal', 'docker network ls', 'bridge ping by name', 'lab host cgroup v2', 'memory limit', 'pids limit', 'delete lab', 'nothing left'] as const;
export type SmokeStep = (typeof SMOKE_STEPS)[number];

/** The two forms a lab host can run with, as the runner's log line names them. */
const privilegeMode = z.enum(['privileged', 'capabilities']);

/**
 * The passes, in order, each with one runner started with its LAB_HOST_PRIVILEGES in the same
 * guest boot: the form that runner must log, and its steps, in order (a result missing one
 * fails). `auto` chooses the capabilities form on a cgroup v2 machine with every capability,
 * since it starts there (docker.ts detectPrivilegeMode tries it first and falls back to
 * --privileged only where it does not start, as on the project's own machines), and runs the
 * whole path; `privileged`, the form set by hand, a shorter one that proves that form there.
 */
export const PASSES = {
  auto: { expectedMode: 'capabilities', steps: ['create lab', 'open terminal', 'docker network ls', 'bridge ping by name', 'memory limit', 'pids limit', 'delete lab', 'nothing left'] },
  privileged: { expectedMode: 'privileged', steps: ['create lab', 'open terminal', 'bridge ping by name', 'lab host cgroup v2', 'delete lab', 'nothing left'] },
} as const satisfies Record<string, { expectedMode: z.infer<typeof privilegeMode>; steps: readonly SmokeStep[] }>;
export type PassName = keyof typeof PASSES;

const step = z.object({ name: z.string(), ok: z.boolean(), seconds: z.number(), detail: z.string() });

const pass = z.object({
  /** The runner's LAB_HOST_PRIVILEGES in this pass. */
  privileges: z.enum(Object.keys(PASSES) as [PassName, ...PassName[]]),
  /** From the runner's own log line, or null when it printed none. */
  privilegeMode: privilegeMode.nullable(),
  /** Seconds from spawning the runner to its "ready on" line. */
  runnerStartSeconds: z.number().nullable(),
  steps: z.array(step),
  leftovers: z.object({ containers: z.number(), networks: z.number(), volumes: z.number() }).nullable(),
});

export const guestResultSchema = z.object({
  engine: z.object({ version: z.string(), cgroupVersion: z.string(), cgroupDriver: z.string() }).nullable(),
  passes: z.array(pass),
  /** The first failure's sentence, when the job stopped early. */
  error: z.string().nullable(),
});
export type GuestResult = z.infer<typeof guestResultSchema>;
export type PassResult = z.infer<typeof pass>;
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
  if (r.error && r.passes.every((p) => p.steps.every((s) => s.ok))) problems.push(`The smoke path stopped: ${r.error}`);
  if (!r.engine) problems.push('The guest job did not read the guest\'s docker info.');
  else if (r.engine.cgroupVersion !== '2') problems.push(`The guest's Docker Engine reports cgroup version ${r.engine.cgroupVersion}, not 2: this guest does not prove the cgroup v2 path.`);
  for (const [name, { expectedMode, steps }] of Object.entries(PASSES)) {
    const p = r.passes.find((x) => x.privileges === name);
    if (!p) {
      problems.push(`The pass with LAB_HOST_PRIVILEGES=${name} did not run.`);
      continue;
    }
    const where = `With LAB_HOST_PRIVILEGES=${name}`;
    if (p.privilegeMode === null) problems.push(`${where} the runner logged no privilege choice for lab hosts.`);
    else if (p.privilegeMode !== expectedMode) problems.push(`${where} the runner chose ${p.privilegeMode} for lab hosts where ${expectedMode} was expected.`);
    for (const stepName of steps) {
      const s = p.steps.find((x) => x.name === stepName);
      if (!s) problems.push(`${where} the smoke step "${stepName}" did not run.`);
      else if (!s.ok) problems.push(`${where} the smoke step "${stepName}" failed: ${s.detail}`);
    }
    const left = p.leftovers;
    if (left && left.containers + left.networks + left.volumes > 0) {
      problems.push(`${where}, after DELETE the guest's engine still holds ${left.containers} container(s), ${left.networks} network(s) and ${left.volumes} volume(s) of the lab.`);
    }
  }
  return { result: r, problems };
}
