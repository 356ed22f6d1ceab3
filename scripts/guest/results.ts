/**
 * What the guest job reports (result.json, written by smoke.ts inside the guest) and what makes
 * it a pass: cgroup v2 in the guest's engine, and every pass of the smoke path, each with the
 * runner's privilege choice logged as expected, the isolation its health reports as expected
 * (sandboxed only with LAB_OWN_ENGINE=1), every step passed and nothing left in the engine after
 * DELETE. Pure: the unit test feeds it good and bad results.
 */
import { z } from 'zod';

/** Every step either pass can run (smoke.ts has one function for each). */
export const SMOKE_STEPS = ['create lab', 'open terminal', 'docker network ls', 'bridge ping by name', 'lab host cgroup v2', 'memory limit', 'pids limit', 'sandboxed', 'delete lab', 'nothing left', 'lab engine removed'] as const;
export type SmokeStep = (typeof SMOKE_STEPS)[number];

/** The two forms a lab host can run with, as the runner's log line names them. */
const privilegeMode = z.enum(['privileged', 'capabilities']);

/**
 * The passes, in order, each with one runner started with its `env` in the same guest boot: the
 * form that runner must log, whether its health must report the sandboxed mode, and its steps, in
 * order (a result missing one fails). `auto` chooses the capabilities form on a cgroup v2 machine
 * with every capability, since it starts there (docker.ts detectPrivilegeMode tries it first and
 * falls back to --privileged only where it does not start, as on the project's own machines), and
 * runs the whole path; `privileged`, the form set by hand, a shorter one that proves that form
 * there; `sandboxed`, compose.yaml's workshop default (LAB_OWN_ENGINE=1): the runner starts its own
 * lab engine (userns-remap) as a container on the guest's engine, copies the lab host image into
 * it and runs the lab there, in the capabilities form (an engine that remaps users refuses
 * --privileged) with the lab host's root an unprivileged uid of the guest; `nothing left` then
 * looks in the lab engine too, and `lab engine removed` stops the runner, removes the lab engine
 * as `npm run labs:remove-all` does, and finds the guest's engine empty.
 */
export const PASSES = {
  auto: {
    env: { LAB_HOST_PRIVILEGES: 'auto' }, expectedMode: 'capabilities', sandboxed: false,
    steps: ['create lab', 'open terminal', 'docker network ls', 'bridge ping by name', 'memory limit', 'pids limit', 'delete lab', 'nothing left'],
  },
  privileged: {
    env: { LAB_HOST_PRIVILEGES: 'privileged' }, expectedMode: 'privileged', sandboxed: false,
    steps: ['create lab', 'open terminal', 'bridge ping by name', 'lab host cgroup v2', 'delete lab', 'nothing left'],
  },
  sandboxed: {
    env: { LAB_HOST_PRIVILEGES: 'auto', LAB_OWN_ENGINE: '1' }, expectedMode: 'capabilities', sandboxed: true,
    steps: ['create lab', 'open terminal', 'bridge ping by name', 'sandboxed', 'delete lab', 'nothing left', 'lab engine removed'],
  },
} as const satisfies Record<string, { env: Record<string, string>; expectedMode: z.infer<typeof privilegeMode>; sandboxed: boolean; steps: readonly SmokeStep[] }>;
export type PassName = keyof typeof PASSES;

const step = z.object({ name: z.string(), ok: z.boolean(), seconds: z.number(), detail: z.string() });

const pass = z.object({
  /** The pass (PASSES), which sets the runner's environment. */
  pass: z.enum(Object.keys(PASSES) as [PassName, ...PassName[]]),
  /** From the runner's own log line, or null when it printed none. */
  privilegeMode: privilegeMode.nullable(),
  /** GET /api/health's isolation.sandboxed once the runner is ready; null when it reported none. */
  sandboxed: z.boolean().nullable(),
  /** Seconds the runner took to copy the lab host image into its lab engine, from its log; null when it copied none. */
  imageCopySeconds: z.number().nullable(),
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
  for (const [name, { env, expectedMode, sandboxed, steps }] of Object.entries(PASSES)) {
    const settings = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
    const p = r.passes.find((x) => x.pass === name);
    if (!p) {
      problems.push(`The ${name} pass (${settings}) did not run.`);
      continue;
    }
    const where = `In the ${name} pass (${settings})`;
    if (p.privilegeMode === null) problems.push(`${where} the runner logged no privilege choice for lab hosts.`);
    else if (p.privilegeMode !== expectedMode) problems.push(`${where} the runner chose ${p.privilegeMode} for lab hosts where ${expectedMode} was expected.`);
    if (p.sandboxed === null) problems.push(`${where} the runner's health reported no isolation.`);
    else if (p.sandboxed !== sandboxed) problems.push(`${where} the runner's health reported labs ${p.sandboxed ? 'sandboxed' : 'root-equivalent'} where ${sandboxed ? 'sandboxed' : 'root-equivalent'} was expected.`);
    for (const stepName of steps) {
      const s = p.steps.find((x) => x.name === stepName);
      if (!s) problems.push(`${where} the smoke step "${stepName}" did not run.`);
      else if (!s.ok) problems.push(`${where} the smoke step "${stepName}" failed: ${s.detail}`);
    }
    const left = p.leftovers;
    if (left && left.containers + left.networks + left.volumes > 0) {
      problems.push(`${where}, after DELETE the guest's engine still holds ${left.containers} container(s), ${left.networks} network(s) and ${left.volumes} volume(s) of the lab (its lab engine's included).`);
    }
  }
  return { result: r, problems };
}
