/**
 * `npm run test:guest`: the runner on the kind of machine most people have (cgroup v2, systemd,
 * a current Docker Engine, every capability), which this project's own machines are not. It
 * boots a Debian trixie guest with QEMU (Docker Engine 26.1.5, cgroup v2), with no network
 * device, and in it runs the runner itself and a smoke path through its API and a terminal
 * (scripts/guest/smoke.ts) three times in the same boot: with LAB_HOST_PRIVILEGES=auto (the
 * capabilities form there), shorter with privileged, and in the sandboxed mode (LAB_OWN_ENGINE=1,
 * compose.yaml's default: the runner's own lab engine, userns-remap, as a container on the guest's
 * engine, the lab host image copied into it); then checks the guest's result (scripts/guest/results.ts).
 *
 * The guest's root disk (rootimage.ts) and its Docker data disk with the lab host image loaded
 * (dataimage.ts) are cached outside the clone, in DNL_GUEST_CACHE (default /var/cache/dnl-guest),
 * keyed by the root's recipe and the lab host image's ID; QEMU opens them with -snapshot, so they
 * stay as built. Acceleration is detected (qemu.ts): KVM where a stock kernel boots under it,
 * emulation (TCG) otherwise, as on this project's machines.
 *
 * Prints its figures (acceleration, boot, engine ready, each pass's runner start and steps, total,
 * disk sizes, what was cached) and writes them to .lab/guest-figures.json (or DNL_GUEST_FIGURES).
 * Exits 1 with a sentence, the guest's console tail and the job's log when anything fails.
 * Needs root, debootstrap, qemu-system-x86 and the forky lab host image on the machine's engine.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { IMAGES } from '../sandbox/src/names.ts';
import { cacheDir, cached, diskSize, recipeKey } from './guest/cache.ts';
import { buildDataImage, DATA_FILE, imageId } from './guest/dataimage.ts';
import { boot, detectAcceleration, type Share } from './guest/qemu.ts';
import { PASSES, resultProblems } from './guest/results.ts';
import { buildRootImage, JOB_FILES, JOB_MOUNT, JOB_TAG, NINEP_OPTIONS, ROOT_FILES, ROOT_RECIPE } from './guest/rootimage.ts';
import { ROOT } from './steps.ts';

/**
 * The whole guest run (boot to power-off) may take this long before QEMU is killed. By hand a
 * cold emulated run took ~13 min and a cached one ~6 with two passes; CI runs this beside its main
 * suite on two shared CPUs, which can double that. The sandboxed pass added 5.5-10 min (a cached
 * run with all three passes: 12.3 min as a CI run ended, 21 min beside one), most of it the lab
 * host image's copy into the lab engine (208-394 s).
 */
const GUEST_TIMEOUT_MS = 40 * 60_000;
/** How long the job waits for the guest's engine (it answered at ~85 s into an idle emulated boot). */
const ENGINE_WAIT_S = 600;
const LAB_IMAGE = IMAGES.labHost('forky');
/**
 * The machine's image the guest gets as LAB_IMAGE: itself, or (DNL_GUEST_LAB_IMAGE) a lab host
 * image under a tag of one's own, to try a change to the image in the guest without rebuilding
 * the shared tag.
 */
const SOURCE_IMAGE = process.env.DNL_GUEST_LAB_IMAGE || LAB_IMAGE;
const FIGURES_FILE = path.resolve(process.env.DNL_GUEST_FIGURES || path.join(ROOT, '.lab/guest-figures.json'));
/** Lines of the guest's console and of the job's log shown when it fails. */
const TAIL_LINES = 40;

const started = Date.now();
const seconds = (ms: number) => Math.round(ms / 100) / 10;
const say = (line: string) => console.log(`[guest ${seconds(Date.now() - started)}s] ${line}`);

function fail(sentences: string[], jobDir?: string): never {
  console.error(`\nnpm run test:guest failed:\n${sentences.map((s) => `- ${s}`).join('\n')}`);
  if (jobDir) {
    const runnerLogs = Object.keys(PASSES).map((name) => [`runner log (the ${name} pass)`, `runner-${name}.log`] as const);
    for (const [what, file] of [['guest console (serial)', 'serial.log'], ['job log', JOB_FILES.log], ...runnerLogs] as const) {
      const text = existsSync(path.join(jobDir, file)) ? readFileSync(path.join(jobDir, file), 'utf8') : '(none)';
      console.error(`\n--- ${what}, last ${TAIL_LINES} lines (${path.join(jobDir, file)}) ---\n${text.trimEnd().split('\n').slice(-TAIL_LINES).join('\n')}`);
    }
  }
  process.exit(1);
}

const missing = ['qemu-system-x86_64', 'debootstrap', 'mkfs.ext4', 'dockerd'].filter((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status !== 0);
if (missing.length) fail([`${missing.join(', ')} not found: install Debian's qemu-system-x86, debootstrap, e2fsprogs and docker.io (as .ci/run does).`]);
if (process.getuid?.() !== 0) fail(['The guest test builds disk images with debootstrap and a throwaway dockerd, which need root: run it as root.']);

const cache = cacheDir();
say(`cache: ${cache}`);
let t = Date.now();
const root = await cached(cache, 'root', recipeKey(ROOT_RECIPE), (dir) => buildRootImage(dir, say)).catch((err) => fail([`The guest's root disk could not be built: ${(err as Error).message}`]));
const rootSeconds = seconds(Date.now() - t);
say(`root disk ${root.built ? `built in ${rootSeconds} s` : 'cached'}: ${root.dir}`);
t = Date.now();
const labImageId = await imageId(SOURCE_IMAGE).catch((err) => fail([(err as Error).message]));
const data = await cached(cache, 'data', labImageId.replace(/^sha256:/, '').slice(0, 16), (dir) => buildDataImage(dir, SOURCE_IMAGE, LAB_IMAGE, say))
  .catch((err) => fail([`The guest's Docker data disk could not be built: ${(err as Error).message}`]));
const dataSeconds = seconds(Date.now() - t);
say(`data disk with ${SOURCE_IMAGE} ${data.built ? `built in ${dataSeconds} s` : 'cached'}: ${data.dir}`);

const kernel = path.join(root.dir, ROOT_FILES.kernel);
const initrd = path.join(root.dir, ROOT_FILES.initrd);
t = Date.now();
const acceleration = await detectAcceleration(kernel, initrd);
say(`acceleration: ${acceleration.name} (${acceleration.reason}; probed in ${seconds(Date.now() - t)} s)`);

// The guest sees the clone read-only at the same path, and its node_modules where they really
// are when they are a link out of it (as in a worktree), so every import resolves as here.
// Node (24, from the npm package: one self-contained binary) is this one, from wherever it is.
const shares: Share[] = [{ tag: 'clone', path: ROOT, guestPath: ROOT, readonly: true }];
const within = (p: string) => shares.some((s) => p === s.path || p.startsWith(`${s.path}/`));
const modules = realpathSync(path.join(ROOT, 'node_modules'));
if (!within(modules)) shares.push({ tag: 'modules', path: modules, guestPath: modules, readonly: true });
let node = realpathSync(process.execPath);
if (!within(node)) {
  shares.push({ tag: 'node', path: path.dirname(node), guestPath: '/opt/dnl-node', readonly: true });
  node = path.join('/opt/dnl-node', path.basename(node));
}

const jobDir = mkdtempSync(path.join(tmpdir(), 'dnl-guest-job-'));
copyFileSync(path.join(ROOT, 'scripts/guest/job.sh'), path.join(jobDir, JOB_FILES.script));
writeFileSync(path.join(jobDir, 'job.env'), [
  `SHARES='${shares.map((s) => `${s.tag}=${s.guestPath}`).join(' ')}'`,
  `NINEP_OPTIONS='${NINEP_OPTIONS}'`,
  `ENGINE_WAIT_S=${ENGINE_WAIT_S}`,
  `CLONE='${ROOT}'`,
  `NODE='${node}'`,
  '',
].join('\n'));

say(`booting the guest (${acceleration.name}, timeout ${GUEST_TIMEOUT_MS / 60_000} min); job folder ${jobDir}`);
const run = await boot({
  acceleration, kernel, initrd,
  disks: [path.join(root.dir, ROOT_FILES.disk), path.join(data.dir, DATA_FILE)],
  shares: [{ tag: JOB_TAG, path: jobDir, guestPath: JOB_MOUNT, readonly: false }, ...shares],
  serialLog: path.join(jobDir, 'serial.log'),
  marksFile: path.join(jobDir, 'marks'),
  timeoutMs: GUEST_TIMEOUT_MS,
});
say(`the guest powered off after ${seconds(run.ms)} s`);

const read = (file: string) => (existsSync(path.join(jobDir, file)) ? readFileSync(path.join(jobDir, file), 'utf8') : undefined);
const exitCode = read(JOB_FILES.exitCode)?.trim();
const { result, problems } = resultProblems(read('result.json') ?? '');
const sumSeconds = (steps: { seconds: number }[]) => seconds(steps.reduce((sum, s) => sum + s.seconds, 0) * 1000);
const figures = {
  acceleration: acceleration.name,
  accelerationReason: acceleration.reason,
  cold: root.built || data.built,
  rootDisk: { cached: !root.built, buildSeconds: root.built ? rootSeconds : 0, ...diskSize(path.join(root.dir, ROOT_FILES.disk)) },
  dataDisk: { cached: !data.built, buildSeconds: data.built ? dataSeconds : 0, labImage: SOURCE_IMAGE, ...diskSize(path.join(data.dir, DATA_FILE)) },
  kernelAndInitrdBytes: diskSize(kernel).apparentBytes + diskSize(initrd).apparentBytes,
  bootSeconds: run.marks['job-start'] !== undefined ? seconds(run.marks['job-start']) : null,
  engineReadySeconds: run.marks['engine-ready'] !== undefined ? seconds(run.marks['engine-ready']) : null,
  engine: result?.engine ?? null,
  passes: (result?.passes ?? []).map((p) => ({
    pass: p.pass,
    privilegeMode: p.privilegeMode,
    sandboxed: p.sandboxed,
    runnerStartSeconds: p.runnerStartSeconds === null ? null : seconds(p.runnerStartSeconds * 1000),
    // Part of runnerStartSeconds: the runner copies the lab host image into its lab engine before it is ready.
    imageCopySeconds: p.imageCopySeconds,
    smokeSeconds: sumSeconds(p.steps),
    steps: p.steps.map((s) => ({ name: s.name, ok: s.ok, seconds: seconds(s.seconds * 1000), detail: s.detail })),
  })),
  smokeSeconds: sumSeconds((result?.passes ?? []).flatMap((p) => p.steps)),
  guestSeconds: seconds(run.ms),
  totalSeconds: seconds(Date.now() - started),
};
mkdirSync(path.dirname(FIGURES_FILE), { recursive: true });
writeFileSync(FIGURES_FILE, `${JSON.stringify(figures, null, 2)}\n`);
console.log(`\nGuest figures (${FIGURES_FILE}):\n${JSON.stringify(figures, null, 2)}`);

const sentences = [
  ...(run.timedOut ? [`The guest did not power off within ${GUEST_TIMEOUT_MS / 60_000} minutes (GUEST_TIMEOUT_MS); QEMU was killed.`] : []),
  ...(!run.timedOut && run.code !== 0 ? [`QEMU exited with ${run.code}: ${run.output.trim().slice(-500)}`] : []),
  ...(exitCode === undefined ? ['The guest job left no exit code: it did not start or did not finish (see the guest console).'] : exitCode !== '0' ? [`The guest job exited with ${exitCode}.`] : []),
  ...(exitCode !== undefined ? problems : []),
];
if (sentences.length) fail(sentences, jobDir);
rmSync(jobDir, { recursive: true, force: true });
say(`passed: cgroup v${result!.engine!.cgroupVersion}, Engine ${result!.engine!.version}, boot ${figures.bootSeconds} s, engine ready ${figures.engineReadySeconds} s, total ${figures.totalSeconds} s`);
for (const p of figures.passes) {
  say(`  ${p.pass}: lab hosts ${p.privilegeMode}${p.sandboxed ? ', sandboxed' : ''}, runner start ${p.runnerStartSeconds} s${p.imageCopySeconds === null ? '' : ` (image copy ${p.imageCopySeconds} s)`}, steps ${p.smokeSeconds} s (${p.steps.map((s) => `${s.name} ${s.seconds}`).join(', ')})`);
}
