/**
 * The image builder: makes every Docker image a lab needs, on the machine's own Docker Engine,
 * in dependency order, skipping the ones that are already up to date.
 *
 *   1. IMAGES.base(suite)    Debian minbase. Tagged from a local `debian:<suite>` if the engine has
 *                            one, otherwise made by sandbox/images/base/bootstrap.sh (debootstrap
 *                            from Debian's mirror + `docker import`).
 *   2. IMAGES.innerBusybox   busybox FROM scratch, run by learners inside lab hosts.
 *   3. IMAGES.innerWeb       busybox httpd page naming the container that answered.
 *   4. IMAGES.innerToolkit   busybox plus Debian's network debugging tools (tcpdump, dig, ...).
 *   5. IMAGES.labHostPlain   Debian + docker.io; the inner images are `docker save`d into its
 *                            build context and loaded by its entrypoint (no registry in a lab).
 *   6. IMAGES.labHost(suite) the plain lab host plus its inner engine's image store with those
 *                            images loaded (made by running the plain one once): what the runner
 *                            starts, with no image load on the way to the first prompt. The
 *                            store's layer contents sit in the image (read-only, shared by every
 *                            lab host), not in each lab host's memory: see prepareImageStore.
 *   7. IMAGES.runner         only when asked (`runner: true`, `--runner`): the runner as a container,
 *                            FROM the base, with the Node binary running this build, the runner's
 *                            code, the packages it imports (and theirs, not the site's or the
 *                            tests'), the built site and its lab manifest (so `npm run build` first).
 *
 * "Up to date" = the image carries LABELS.contextHash equal to a sha256 over its build context
 * (paths, exec bits, contents), build args, and the IDs of the images it is built FROM or embeds;
 * for the runner also the files it copies from the checkout and the version of Node.
 * So editing a lab host script rebuilds only the lab host; re-bootstrapping the base rebuilds all
 * that depend on it. The legacy builder's layer cache still applies inside a rebuild. Images a
 * rebuild replaced are removed once no container uses them.
 *
 * It does not: pull or push (no registry is reachable, and nothing may be sent elsewhere; only
 * debootstrap/apt talk to Debian's mirror), start lab hosts, or lock against a concurrent build.
 *
 * As a script: `node sandbox/src/images.ts [--suite forky|trixie] [--force] [--runner]` (needs root
 * for debootstrap when no base image exists).
 */
import Docker from 'dockerode';
import tar from 'tar-fs';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, cp, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LAB_MANIFEST_DEFAULT } from '../../contract/labspec.ts';
import { detectPrivilegeMode, privilegeHostConfig } from './docker.ts';
import { execCollect, waitForEngine } from './labhost.ts';
import { DEFAULT_SUITE, IMAGES, INNER_TAGS, LABELS, LAB_HOST_PATHS, SUITES, dockerDataTmpfs, type Suite } from './names.ts';

/** Build contexts and scripts: sandbox/images/{base,busybox,web,labhost}. */
const IMAGES_DIR = fileURLToPath(new URL('../images/', import.meta.url));
const BOOTSTRAP_SCRIPT = join(IMAGES_DIR, 'base', 'bootstrap.sh');
/** The checkout: the runner image holds a small copy of it. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * What the runner image holds of the checkout, at the same paths (under /opt/dnl): the runner's
 * and the contract's code, `labs:remove-all` (scripts/lab.ts and what it imports), package.json
 * (it makes the .ts files ES modules), then the build's output: the site and its lab manifest.
 * The packages these files import are added to it (runnerPackages).
 */
const RUNNER_CODE = ['package.json', 'contract', 'sandbox/src', 'scripts/lab.ts', 'scripts/steps.ts'];
const RUNNER_BUILD_OUTPUT = ['dist', LAB_MANIFEST_DEFAULT];
/** Left out of every folder the runner image copies: tests, dotfiles (the site's build stamp), nested packages (each is a part of its own). */
const leftOutOfRunner = (path: string) => /(^|\/)(\.|node_modules$)|\.test\.ts$/.test(path);

/** Inside the lab host build context: where the saved inner images and their tag map go. */
const INNER_TAR = 'images/inner.tar';
const INNER_TAGS_FILE = 'images/images.tags';
/** Inside the final lab host build context: the prepared inner image store and its layers' files (see labhost-store/Dockerfile). */
const STORE_TAR = 'docker-store.tar';
const LAYERS_TAR = 'layers.tar';
/** Where the lab host image holds the inner layers' files (labhost-store/Dockerfile unpacks LAYERS_TAR there). */
const LAYERS_DIR = '/opt/lab/layers';
/** Size of the tmpfs the store is prepared in: the inner images take about 40 MB (the toolkit 38). */
const STORE_TMPFS_SIZE = '256m';

/** Bump to force every image to rebuild after a change the hashes cannot see (e.g. this file). */
const BUILDER_VERSION = '1';

export interface EnsureOptions {
  suite?: Suite;
  log?: (line: string) => void;
  /** Rebuild everything from scratch: new debootstrap, no layer cache (fresh packages). */
  force?: boolean;
  /** Also build IMAGES.runner (the runner as a container), from the built site: `npm run build` first. */
  runner?: boolean;
}

export interface EnsureResult {
  built: string[];
  skipped: string[];
}

/** Thrown with a sentence meant for a person (the script prints only the message). */
export class ImageBuildError extends Error {}

/** Builds whatever is missing or out of date, in order: base -> busybox -> web, toolkit -> lab host (-> runner, when asked). */
export async function ensureImages(docker: Docker, options: EnsureOptions = {}): Promise<EnsureResult> {
  const suite = options.suite ?? DEFAULT_SUITE;
  if (!SUITES.includes(suite)) throw new ImageBuildError(`Unknown suite "${suite}"; use one of ${SUITES.join(', ')}.`);
  const log = options.log ?? ((line: string) => console.log(line));
  const force = options.force ?? false;
  const result: EnsureResult = { built: [], skipped: [] };
  const record = (tag: string, built: boolean, startedAt: number) => {
    (built ? result.built : result.skipped).push(tag);
    log(`${tag}: ${built ? 'built' : 'up to date'} (${seconds(startedAt)})`);
  };

  let t = performance.now();
  const baseTag = IMAGES.base(suite);
  const base = await ensureBase(docker, suite, force, log);
  record(baseTag, base.built, t);

  // The inner busybox image only takes Debian's busybox-static binary from the base, and is
  // shared by every suite: hash it without the base ID, or building forky and trixie in turn
  // would rebuild it (and then every lab host) each time.
  t = performance.now();
  const busybox = await ensureBuilt(docker, {
    tag: IMAGES.innerBusybox,
    contextDir: join(IMAGES_DIR, 'busybox'),
    buildArgs: { BASE: baseTag },
    hashArgs: {},
    parents: [],
    force,
    log,
  });
  record(IMAGES.innerBusybox, busybox.built, t);

  t = performance.now();
  const web = await ensureBuilt(docker, {
    tag: IMAGES.innerWeb,
    contextDir: join(IMAGES_DIR, 'web'),
    buildArgs: { BUSYBOX: IMAGES.innerBusybox },
    parents: [busybox.id],
    force,
    log,
  });
  record(IMAGES.innerWeb, web.built, t);

  // Like busybox, shared by every suite (hashed without the base ID); FROM busybox, whose layer
  // every lab host holds anyway.
  t = performance.now();
  const toolkit = await ensureBuilt(docker, {
    tag: IMAGES.innerToolkit,
    contextDir: join(IMAGES_DIR, 'toolkit'),
    buildArgs: { BASE: baseTag, BUSYBOX: IMAGES.innerBusybox },
    hashArgs: {},
    parents: [busybox.id],
    force,
    log,
  });
  record(IMAGES.innerToolkit, toolkit.built, t);

  t = performance.now();
  const inner = [
    [IMAGES.innerBusybox, INNER_TAGS.busybox],
    [IMAGES.innerWeb, INNER_TAGS.web],
    [IMAGES.innerToolkit, INNER_TAGS.toolkit],
  ] as const;
  const tagsFile = inner.map(([built, learner]) => `${built} ${learner}\n`).join('');
  const plain = await ensureBuilt(docker, {
    tag: IMAGES.labHostPlain(suite),
    contextDir: join(IMAGES_DIR, 'labhost'),
    buildArgs: { SUITE: suite },
    // The saved tar is not hashed (big, and not byte-stable): the IDs of what it holds are.
    parents: [base.id, busybox.id, web.id, toolkit.id],
    extraHash: tagsFile,
    force,
    log,
    addToContext: async (dir) => {
      await mkdir(join(dir, 'images'), { recursive: true });
      await writeFile(join(dir, INNER_TAGS_FILE), tagsFile);
      const names = inner.map(([built]) => built);
      log(`${IMAGES.labHostPlain(suite)}: docker save ${names.join(' ')}`);
      // One tar for all: web's and toolkit's layers are busybox's plus one each, stored once.
      const saved = await (docker as DockerWithGetImages).getImages({ names });
      await pipeline(saved, createWriteStream(join(dir, INNER_TAR)));
    },
  });
  record(IMAGES.labHostPlain(suite), plain.built, t);

  t = performance.now();
  const labHost = await ensureBuilt(docker, {
    tag: IMAGES.labHost(suite),
    contextDir: join(IMAGES_DIR, 'labhost-store'),
    buildArgs: { PLAIN: IMAGES.labHostPlain(suite) },
    parents: [plain.id],
    force,
    log,
    addToContext: (dir) => prepareImageStore(docker, suite, dir, log),
  });
  record(IMAGES.labHost(suite), labHost.built, t);

  if (options.runner) {
    t = performance.now();
    const runner = await ensureRunner(docker, suite, base.id, force, log);
    record(IMAGES.runner, runner.built, t);
  }

  await removeSuperseded(docker, log);
  return result;
}

// --- base image ----------------------------------------------------------------------------------

async function ensureBase(
  docker: Docker,
  suite: Suite,
  force: boolean,
  log: (line: string) => void,
): Promise<{ id: string; built: boolean }> {
  const tag = IMAGES.base(suite);
  const existing = await inspectImage(docker, tag);

  // A debian:<suite> image already in the engine (loaded by hand, or from a registry mirror
  // elsewhere) is used as is: tag it, never pull it.
  const official = await inspectImage(docker, `debian:${suite}`);
  if (official) {
    if (existing?.Id === official.Id) return { id: official.Id, built: false };
    log(`${tag}: tagging the local debian:${suite} image`);
    await docker.getImage(official.Id).tag({ repo: repoOf(tag), tag: tagOf(tag) });
    return { id: official.Id, built: true };
  }

  const hash = sha256([BUILDER_VERSION, suite, await readFile(BOOTSTRAP_SCRIPT)]);
  if (!force && existing?.Config?.Labels?.[LABELS.contextHash] === hash) return { id: existing.Id, built: false };

  if (!(await commandExists('debootstrap'))) {
    throw new ImageBuildError(
      `Install debootstrap (apt-get install debootstrap) or load a debian:${suite} image, then run this again.`,
    );
  }
  if (process.getuid?.() !== 0) {
    throw new ImageBuildError(`Making ${tag} with debootstrap needs root: run the image builder as root.`);
  }
  log(`${tag}: bootstrapping Debian ${suite} (debootstrap, about a minute)`);
  await run('sh', [BOOTSTRAP_SCRIPT, suite, tag], {
    env: { ...process.env, IMPORT_LABEL: `${LABELS.contextHash}=${hash}` },
    log: (line) => log(`${tag}: ${line}`),
  });
  const image = await inspectImage(docker, tag);
  if (!image) throw new ImageBuildError(`${tag} was not created; see the debootstrap output above.`);
  return { id: image.Id, built: true };
}

// --- Dockerfile images ---------------------------------------------------------------------------

interface BuildSpec {
  tag: string;
  contextDir: string;
  buildArgs: Record<string, string>;
  /** Build args that affect the result, if not all of them (default: buildArgs). */
  hashArgs?: Record<string, string>;
  /** IDs of the images this one is built FROM or embeds. */
  parents: string[];
  extraHash?: string;
  force: boolean;
  log: (line: string) => void;
  /** Adds generated files to a copy of contextDir before the build. */
  addToContext?: (dir: string) => Promise<void>;
}

async function ensureBuilt(docker: Docker, spec: BuildSpec): Promise<{ id: string; built: boolean }> {
  const hash = sha256([
    BUILDER_VERSION,
    await hashTree(spec.contextDir),
    JSON.stringify(sortKeys(spec.hashArgs ?? spec.buildArgs)),
    ...spec.parents,
    spec.extraHash ?? '',
  ]);
  const existing = await inspectImage(docker, spec.tag);
  if (!spec.force && existing?.Config?.Labels?.[LABELS.contextHash] === hash) {
    return { id: existing.Id, built: false };
  }

  let context = spec.contextDir;
  let staging: string | undefined;
  try {
    if (spec.addToContext) {
      staging = await mkdtemp(join(tmpdir(), 'dnl-context-'));
      await cp(spec.contextDir, staging, { recursive: true });
      await spec.addToContext(staging);
      context = staging;
    }
    await buildImage(docker, context, spec, hash);
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
  }

  const image = await inspectImage(docker, spec.tag);
  if (!image) throw new ImageBuildError(`${spec.tag} was not created; see the build output above.`);
  return { id: image.Id, built: true };
}

/** One build with the engine's legacy builder (engines without BuildKit have only that); streams each output line to log. */
async function buildImage(docker: Docker, contextDir: string, spec: BuildSpec, hash: string): Promise<void> {
  // tar-fs v3 packs with streamx streams, which dockerode pipes fine but its types don't know.
  const context = tar.pack(contextDir) as unknown as NodeJS.ReadableStream;
  const stream = await docker.buildImage(context, {
    t: spec.tag,
    buildargs: spec.buildArgs,
    labels: { [LABELS.contextHash]: hash },
    rm: true,
    forcerm: true,
    nocache: spec.force,
    // No `pull`: every FROM image is local, and no registry may be contacted.
  });
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null) => (err ? reject(err) : resolve()),
      (event: { stream?: string; status?: string; error?: string; errorDetail?: { message?: string } }) => {
        if (event.error) failure = event.errorDetail?.message ?? event.error;
        const text = event.stream ?? event.status ?? event.error ?? '';
        for (const line of text.split(/\r?\n/)) if (line.trim()) spec.log(`${spec.tag}: ${line.trimEnd()}`);
      },
    );
  });
  if (failure) throw new ImageBuildError(`Building ${spec.tag} failed: ${failure}`);
}

/**
 * Removes images of ours that a rebuild left untagged (now or in an earlier run), newest first:
 * an old inner image can only go once the old lab host or web image built from it is gone.
 * Untagged images carrying the hash of a current image are kept: they are the builder stage of
 * a multi-stage build (the legacy builder labels every stage), i.e. the layer cache. One still
 * used by a container (a running lab host) stays until a later run.
 */
async function removeSuperseded(docker: Docker, log: (line: string) => void): Promise<void> {
  const ours = await docker.listImages({ filters: { label: [LABELS.contextHash] } });
  const isTagged = (image: Docker.ImageInfo) => (image.RepoTags ?? []).some((tag) => tag !== '<none>:<none>');
  const current = new Set(ours.filter(isTagged).map((image) => image.Labels?.[LABELS.contextHash]));
  const superseded = ours.filter((image) => !isTagged(image) && !current.has(image.Labels?.[LABELS.contextHash]));
  for (const image of superseded.sort((a, b) => b.Created - a.Created)) {
    try {
      await docker.getImage(image.Id).remove();
      log(`removed superseded image ${image.Id.slice(7, 19)}`);
    } catch {
      // In use by a container, or parent of another image: Docker keeps it, and so do we.
    }
  }
}

// --- the runner image ---------------------------------------------------------------------------

/**
 * The runner as an image: the checkout's parts it needs (RUNNER_CODE, RUNNER_BUILD_OUTPUT, the
 * packages they import) copied into the context's app/, and the Node binary running this build as
 * `node` (the project needs Node >= 22.12; Debian's is older). Rebuilt when any of those files or
 * the Node version changes.
 */
async function ensureRunner(docker: Docker, suite: Suite, baseId: string, force: boolean, log: (line: string) => void): Promise<{ id: string; built: boolean }> {
  for (const output of RUNNER_BUILD_OUTPUT) {
    if (!(await exists(join(ROOT, output)))) {
      throw new ImageBuildError(`The runner image serves the built site, and ${output} is missing: run \`npm run build\` first, then this again.`);
    }
  }
  const parts = [...RUNNER_CODE, ...RUNNER_BUILD_OUTPUT, ...(await runnerPackages())];
  const hashes: string[] = [`node ${process.version} ${process.platform}-${process.arch}`];
  for (const part of parts) {
    const path = join(ROOT, part);
    hashes.push(part, (await stat(path)).isDirectory() ? await hashTree(path, leftOutOfRunner) : sha256([await readFile(path)]));
  }
  return ensureBuilt(docker, {
    tag: IMAGES.runner,
    contextDir: join(IMAGES_DIR, 'runner'),
    buildArgs: { SUITE: suite },
    parents: [baseId],
    extraHash: sha256(hashes),
    force,
    log,
    addToContext: async (dir) => {
      await cp(process.execPath, join(dir, 'node'));
      for (const part of parts) {
        await cp(join(ROOT, part), join(dir, 'app', part), { recursive: true, filter: (path) => !leftOutOfRunner(relative(join(ROOT, part), path)) });
      }
    },
  });
}

/** The folders (in node_modules, relative to the checkout) of every package the runner image's code imports, and of theirs. */
export async function runnerPackages(root = ROOT): Promise<string[]> {
  const names = new Set<string>();
  for (const part of RUNNER_CODE) {
    for (const file of await sourceFiles(join(root, part))) {
      for (const name of importedPackages(await readFile(file, 'utf8'))) names.add(name);
    }
  }
  return packageClosure(root, [...names].sort());
}

async function sourceFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return path.endsWith('.ts') ? [path] : [];
  const entries = await readdir(path, { recursive: true });
  return entries.filter((entry) => entry.endsWith('.ts') && !leftOutOfRunner(entry)).map((entry) => join(path, entry));
}

/**
 * The packages a module's source imports: bare specifiers of its static imports and re-exports
 * (at the start of a line) and of its dynamic imports, by package name; Node's own modules and
 * relative paths left out.
 */
export function importedPackages(source: string): string[] {
  const specifiers = [
    ...source.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ].map((match) => match[1]!);
  const packages = specifiers
    .filter((specifier) => !specifier.startsWith('.') && !specifier.startsWith('/') && !isBuiltin(specifier))
    .map((specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
  return [...new Set(packages)].sort();
}

/**
 * `names` and every package they depend on, as the folders Node loads them from (relative to
 * `root`, e.g. node_modules/ws or node_modules/a/node_modules/b): dependencies must be there,
 * optional and peer dependencies are taken when they are.
 */
export async function packageClosure(root: string, names: string[]): Promise<string[]> {
  const found = new Set<string>();
  const visit = async (name: string, from: string, required: boolean): Promise<void> => {
    const dir = await resolvePackage(root, from, name);
    if (!dir) {
      if (!required) return;
      throw new ImageBuildError(`The runner needs the package ${name}${from === root ? '' : ` (for ${relative(root, from)})`}, and it is not in node_modules: run \`npm install\`, then this again.`);
    }
    if (found.has(relative(root, dir))) return;
    found.add(relative(root, dir));
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
    for (const dep of Object.keys(manifest.dependencies ?? {})) await visit(dep, dir, true);
    for (const dep of Object.keys({ ...manifest.optionalDependencies, ...manifest.peerDependencies })) await visit(dep, dir, false);
  };
  for (const name of names) await visit(name, root, true);
  return [...found].sort();
}

/** Where Node finds package `name` from the folder `from`: its own node_modules, then each enclosing one up to `root`'s. */
async function resolvePackage(root: string, from: string, name: string): Promise<string | undefined> {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (basename(dir) !== 'node_modules' && (await exists(join(candidate, 'package.json')))) return candidate;
    if (dir === root || dir === dirname(dir)) return undefined;
  }
}

// --- the inner image store ----------------------------------------------------------------------

/**
 * Start the plain lab host once, with nothing but its own engine (no network), let its entrypoint
 * load the inner images, stop that engine so its files are at rest, and write two tars into the
 * build context `dir`: STORE_TAR, /var/lib/docker's image/ and overlay2/, and LAYERS_TAR, the
 * files of every layer in it.
 *
 * Each layer's overlay2/<id>/diff in the store is a symlink to LAYERS_DIR/<id>, in the lab host
 * image: lab hosts unpack only the store's metadata into their memory tmpfs (~100 KB), and their
 * inner engines use the layers from the image's read-only files, whose page cache every lab host
 * shares. The engine only reads an image layer's diff (as an overlay lowerdir, through its l/
 * link; `docker save` reads its files by path), and removing the image removes just the symlink.
 * Without this every lab host would hold its own copy of the toolkit's 38 MB in memory.
 */
async function prepareImageStore(docker: Docker, suite: Suite, dir: string, log: (line: string) => void): Promise<void> {
  const image = IMAGES.labHostPlain(suite);
  const name = `dnl-image-store-${suite}`;
  log(`${IMAGES.labHost(suite)}: preparing the inner image store in a ${image} container`);
  await docker.getContainer(name).remove({ force: true }).catch(() => {});
  const mode = await detectPrivilegeMode(docker, image, 'image-builder');
  const container = await docker.createContainer({
    name,
    Image: image,
    Labels: { [LABELS.role]: 'image-store-builder' },
    HostConfig: {
      ...privilegeHostConfig(mode),
      NetworkMode: 'none',
      Tmpfs: { [LAB_HOST_PATHS.dockerData]: dockerDataTmpfs(STORE_TMPFS_SIZE) },
    },
  });
  try {
    await container.start();
    await waitForEngine(docker, name);
    const out = '/run/lab/store';
    // Every overlay2 entry but l/ is an image layer: nothing else (no container) was created.
    const { code, output } = await execCollect(docker, name, [
      'sh', '-c',
      `set -e; pkill -x dockerd; while pgrep -x dockerd >/dev/null; do sleep 0.1; done
       mkdir -p ${out}/layers; cd /var/lib/docker/overlay2
       for id in *; do [ "$id" = l ] && continue; mv "$id/diff" "${out}/layers/$id"; ln -s "${LAYERS_DIR}/$id" "$id/diff"; done
       tar -C /var/lib/docker -cf ${out}/${STORE_TAR} image overlay2
       tar -C ${out}/layers -cf ${out}/${LAYERS_TAR} .`,
    ]);
    if (code !== 0) throw new ImageBuildError(`Preparing the inner image store failed (exit code ${code}): ${output.trim()}`);
    for (const file of [STORE_TAR, LAYERS_TAR]) {
      // The archive API wraps the file in a tar of its own: unpack that one file into place.
      const archive = await container.getArchive({ path: `${out}/${file}` });
      await pipeline(archive, tar.extract(dir) as unknown as NodeJS.WritableStream);
    }
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

// --- helpers -------------------------------------------------------------------------------------

type ImageInfo = Docker.ImageInspectInfo;
/** dockerode has `getImages` (GET /images/get, several images in one tar); its types lack it. */
type DockerWithGetImages = Docker & {
  getImages(options: { names: string[] }): Promise<NodeJS.ReadableStream>;
};

async function inspectImage(docker: Docker, ref: string): Promise<ImageInfo | null> {
  try {
    return await docker.getImage(ref).inspect();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return null;
    throw err;
  }
}

/** sha256 of a directory: every file's relative path, exec bit and content, in sorted order; `leaveOut(relative path)` skips files and folders. */
export async function hashTree(dir: string, leaveOut: (path: string) => boolean = () => false): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (current: string): Promise<void> => {
    const entries = (await readdir(current, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (leaveOut(relative(dir, path))) continue;
      if (entry.isDirectory()) {
        await walk(path);
      } else {
        const info = await stat(path);
        hash.update(`${relative(dir, path)}\0${info.mode & 0o111 ? 'x' : '-'}\0${info.size}\0`);
        hash.update(await readFile(path));
      }
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

function sha256(parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return `sha256:${hash.digest('hex')}`;
}

function sortKeys(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : 1));
}

const repoOf = (tag: string) => tag.slice(0, tag.lastIndexOf(':'));
const tagOf = (tag: string) => tag.slice(tag.lastIndexOf(':') + 1);
const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;

const exists = (path: string) => access(path).then(() => true, () => false);

async function commandExists(name: string): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    child.on('error', () => resolve(false));
    child.on('close', (code) => resolve(code === 0));
  });
}

/** Runs a command, passing each output line (stdout and stderr) to log; rejects on failure. */
async function run(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; log: (line: string) => void },
): Promise<void> {
  const child = spawn(command, args, { env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let last = '';
  const forward = (stream: NodeJS.ReadableStream) => {
    let buffer = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      buffer += chunk;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.log((last = line));
    });
    stream.on('end', () => buffer.trim() && options.log((last = buffer)));
  };
  forward(child.stdout);
  forward(child.stderr);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new ImageBuildError(`${command} ${args.join(' ')} failed (exit ${code}): ${last}`);
}

// --- script --------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let suite: Suite = DEFAULT_SUITE;
  let force = false;
  let runner = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--force') force = true;
    else if (arg === '--runner') runner = true;
    else if (arg === '--suite' || arg.startsWith('--suite=')) {
      const value = arg === '--suite' ? argv[++i] : arg.slice('--suite='.length);
      if (!SUITES.includes(value as Suite)) {
        console.error(`Unknown suite "${value}"; use one of ${SUITES.join(', ')}.`);
        return 2;
      }
      suite = value as Suite;
    } else {
      console.error(`usage: node sandbox/src/images.ts [--suite ${SUITES.join('|')}] [--force] [--runner]`);
      return arg === '--help' || arg === '-h' ? 0 : 2;
    }
  }

  const docker = new Docker();
  try {
    await docker.ping();
  } catch (err) {
    console.error(
      `Docker is not reachable (${(err as Error).message}): start dockerd, or set DOCKER_HOST, and run this again.`,
    );
    return 1;
  }

  const started = performance.now();
  try {
    const { built, skipped } = await ensureImages(docker, { suite, force, runner });
    console.log(
      `\nImages for ${suite} ready in ${seconds(started)}: ` +
        `built ${built.length ? built.join(', ') : 'nothing'}; up to date ${skipped.length ? skipped.join(', ') : 'nothing'}.`,
    );
    return 0;
  } catch (err) {
    console.error(`\n${err instanceof ImageBuildError ? err.message : `Image build failed: ${(err as Error).message}`}`);
    return 1;
  }
}

const runAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runAsScript) process.exitCode = await main(process.argv.slice(2));
