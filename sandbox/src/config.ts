/**
 * Every setting of the runner, read from environment variables once, validated with zod,
 * with the defaults documented in README.md ("Configuration"). Nothing else reads process.env.
 */
import path from 'node:path';
import { z } from 'zod';
import { parseProxyTrust } from './clientaddress.ts';
import { SUITES } from './names.ts';
import { ENGINES, LAB_MANIFEST_DEFAULT, type Engine } from '../../contract/labspec.ts';

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Parse a Docker-style size ("512m", "1g", "1048576") into bytes. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg]?)i?b?$/i.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[m[2].toLowerCase()]);
}

const size = (what: string) =>
  z.string().transform((text, ctx) => {
    const bytes = parseSize(text);
    if (bytes === undefined || bytes <= 0) {
      ctx.addIssue({ code: 'custom', message: `${what} must be a size such as 512m or 1g, not "${text}"` });
      return z.NEVER;
    }
    return bytes;
  });

const wholeNumber = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const cidr = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR such as 10.213.0.0/16');

/** One LAB_CELL_PEERS entry: a DNS name or IPv4 address, or an IPv6 one in brackets, and maybe a port. */
const cellPeer = z.string().transform((text, ctx) => {
  const m = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9]([a-zA-Z0-9.-]{0,251}[a-zA-Z0-9])?)(?::(\d{1,5}))?$/.exec(text);
  const port = m?.[3] === undefined ? undefined : Number(m[3]);
  if (!m || port === 0 || (port !== undefined && port > 65535)) {
    ctx.addIssue({ code: 'custom', message: `"${text.slice(0, 100)}" is not host[:port] (e.g. tasks.runner or 10.0.0.5:4321)` });
    return z.NEVER;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
});

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

/** The environment variables, their defaults, and what each means (mirrored in README.md). */
export const configSchema = z.object({
  /** Address the HTTP server binds to. Loopback by default: labs are root shells. */
  HOST: z.string().default('127.0.0.1'),
  PORT: wholeNumber(0, 65535).default(4321),
  /** The built site (astro build output) served at /. */
  LAB_SITE_DIR: z.string().default('dist'),
  /**
   * The lab manifest the site build writes (every exercise's check, which pages leave out),
   * read at start. It must be outside LAB_SITE_DIR: everything in there is served to anyone.
   */
  LAB_MANIFEST: z.string().default(LAB_MANIFEST_DEFAULT),
  /**
   * Name of this runner; everything it creates is labelled with it, and a runner started with
   * the same name adopts the labs an earlier one left (and removes what no lab owns).
   */
  LAB_INSTANCE: z.string().regex(/^[a-zA-Z0-9_.-]{1,40}$/).default('default'),
  /**
   * Where each lab's state is kept so that labs outlive the runner process (store.ts): one
   * folder per instance inside it. On the runner's own machine, not shared between runners.
   */
  LAB_STATE_DIR: z.string().default('.lab/state'),
  /**
   * The Docker Engines labs may run, by id (contract/engines.ts ENGINES: 28 is Engine 28.5.2 from
   * Debian forky, 26 is 26.1.5 from trixie), comma-separated; the first is the default (Start lab
   * without a choice, and the one the warm pool keeps). One whose lab host image is not built is
   * not offered (the runner says so at start and in GET /api/health).
   */
  LAB_ENGINES: list
    .pipe(z.array(z.enum(ENGINES.map((e) => e.id) as [Engine['id'], ...Engine['id'][]], { message: `an engine is one of ${ENGINES.map((e) => e.id).join(', ')}` })).min(1, 'name at least one engine'))
    .refine((ids) => new Set(ids).size === ids.length, 'names an engine twice')
    .optional(),
  /** Deprecated, replaced by LAB_ENGINES: the one suite all labs used (LAB_SUITE=trixie is LAB_ENGINES=26). */
  LAB_SUITE: z.enum(SUITES).optional(),
  /** Range each lab network's subnet is carved from, and the size of each. */
  LAB_SUBNET_POOL: cidr.default('10.213.0.0/16'),
  LAB_SUBNET_PREFIX: wholeNumber(16, 29).default(26),
  /**
   * Labs kept ready per lab shape the lessons use (one host; two hosts; two hosts for macvlan),
   * so Start lab needs no engine to boot; 0 turns the warm pool off. Each pooled lab host holds
   * ~40 MiB while idle. A workshop where many start the same chapter at once wants more.
   */
  LAB_POOL_SIZE: wholeNumber(0, 100).default(1),
  /** Labs existing at once; further requests get 503. */
  LAB_MAX_LABS: wholeNumber(1, 10000).default(30),
  /**
   * Labs one client address may hold at once, so that one client cannot take the whole
   * machine (the browser id it sends is its own choice, so one lab per browser alone does not
   * bound it). 3 lets a learner keep labs in a couple of browsers, and one address at most a
   * tenth of the default LAB_MAX_LABS. A room behind one NAT address needs it raised to the
   * number of learners behind it (or a proxy that tells them apart, LAB_TRUST_PROXY).
   */
  LAB_MAX_LABS_PER_ADDRESS: wholeNumber(1, 10000).default(3),
  /** A lab with no open terminal for this long is removed (seconds). */
  LAB_IDLE_TIMEOUT: wholeNumber(10, 7 * 86400).default(30 * 60),
  /**
   * How long each lab host's own Docker Engine may take to answer (seconds), after which the lab
   * host says it failed. ~3 s on an idle machine; 30 leaves room for a machine busy starting many
   * at once. A slow host (an emulated VM: ~85 s for the guest's engine alone) needs far more.
   */
  LAB_ENGINE_START_TIMEOUT: wholeNumber(1, 3600).default(30),
  /**
   * How long the runner waits for a lab host's engine to be ready (seconds) before it gives the
   * lab host up (the warm pool builds another). At least LAB_ENGINE_START_TIMEOUT: the engine's
   * own start counts in it.
   */
  LAB_READY_TIMEOUT: wholeNumber(1, 7200).default(60),
  /** A lab is removed this long after it was created, whatever happens (seconds). Play with Docker used 4 h. */
  LAB_MAX_LIFETIME: wholeNumber(10, 7 * 86400).default(4 * 3600),
  /** Per lab host: memory (no swap beyond it), process count, CPUs, /var/lib/docker tmpfs size, log size. */
  LAB_HOST_MEMORY: size('LAB_HOST_MEMORY').default(1024 ** 3),
  LAB_HOST_PIDS: wholeNumber(64, 1_000_000).default(1000),
  LAB_HOST_CPUS: z.coerce.number().positive().max(1024).default(1),
  LAB_HOST_DOCKER_SIZE: size('LAB_HOST_DOCKER_SIZE').default(512 * 1024 ** 2),
  /**
   * Everything else a learner can write in a lab host (/root, /tmp, /var/tmp, /home, /var/log and
   * changes under /etc) shares one tmpfs of this size: the root filesystem is read-only, so
   * nothing a learner writes lands on the machine's disk, and tmpfs pages count against
   * LAB_HOST_MEMORY. 256m holds any lesson's files with room to spare.
   */
  LAB_HOST_FILES_SIZE: size('LAB_HOST_FILES_SIZE').default(256 * 1024 ** 2),
  /**
   * The largest file a learner uploads or saves through the Files API (PUT, bytes): 10 MiB holds
   * any lesson's files and a small image or archive, and it lands in LAB_HOST_FILES_SIZE (256m).
   * The runner streams it (never holds a file), so this bounds the lab host's tmpfs, not the runner.
   */
  LAB_FILE_UPLOAD_MAX: size('LAB_FILE_UPLOAD_MAX').default(10 * 1024 ** 2),
  /**
   * The largest file the browser opens in its editor (bytes); a bigger one is offered as a
   * download. 1 MiB is far beyond any config file and still quick in CodeMirror.
   */
  LAB_FILE_EDIT_MAX: size('LAB_FILE_EDIT_MAX').default(1024 ** 2),
  LAB_HOST_LOG_SIZE: z.string().regex(/^\d+[kmg]$/, 'must be a size such as 1m').default('1m'),
  /**
   * How lab hosts get the privileges dockerd needs (docker.ts): `auto` probes the engine once
   * (the capabilities form wherever it starts; --privileged, which also hands over the machine's
   * devices, only where it does not), or force `privileged` / `capabilities`.
   */
  LAB_HOST_PRIVILEGES: z.enum(['auto', 'privileged', 'capabilities']).default('auto'),
  /**
   * `1`: refuse to start unless labs run as an unprivileged user on this machine, i.e. the
   * engine remaps user namespaces (dockerd --userns-remap; userns.ts, README "Security"). For a
   * workshop on a machine that must not be handed to whoever escapes a lab host.
   */
  LAB_REQUIRE_SANDBOX: z.enum(['0', '1'], { message: 'must be 1 (require it) or 0' }).default('0').transform((v) => v === '1'),
  /**
   * `1`: labs run on a Docker Engine of the runner's own that remaps user namespaces (the
   * sandboxed mode), which it starts, or adopts, as a container on the engine DOCKER_HOST names
   * (labengine.ts). Outside any compose project, so stopping or replacing the runner keeps it and
   * its labs; `npm run labs:remove-all` removes it. compose.yaml sets it.
   */
  LAB_OWN_ENGINE: z.enum(['0', '1'], { message: 'must be 1 (an engine of its own) or 0' }).default('0').transform((v) => v === '1'),
  /**
   * The folder where that engine makes its socket, which the runner and the engine's container
   * share: a path on the machine, or in the runner's container a path on one of its volumes or
   * bind mounts. Default /run/dnl-lab-engine/<LAB_INSTANCE>.
   */
  LAB_OWN_ENGINE_DIR: z.string().regex(/^\//, 'must be an absolute path').optional(),
  /** Extra origins allowed to open terminals and create labs (comma separated), e.g. behind a proxy. */
  LAB_ALLOWED_ORIGINS: list.default([]),
  /** How often expired labs are looked for (seconds). */
  LAB_SWEEP_INTERVAL: wholeNumber(1, 3600).default(15),
  /**
   * When set, creating a lab needs this code (a workshop's organiser hands it out); the page
   * asks for it once and remembers it. Terminals of existing labs need only their lab's token.
   */
  LAB_ACCESS_CODE: z
    .string()
    // Browsers send it in a request header, which carries only printable ASCII.
    .regex(/^[\x21-\x7e]{4,200}$/, 'must be 4-200 printable ASCII characters, no spaces')
    .optional(),
  /**
   * Turns on the instructor dashboard at /instructor/ and is the code that signs in to it. At
   * least 8 characters: unlike the access code, which every learner in the room is told, it is
   * a secret, and wrong tries are only slowed down per address.
   */
  LAB_INSTRUCTOR_CODE: z
    .string()
    .regex(/^[\x21-\x7e]{8,200}$/, 'must be 8-200 printable ASCII characters, no spaces')
    .optional(),
  /**
   * Labs one client address may create per minute (a token bucket: this many at once, then one
   * every 60/N s). Each start costs the machine about a second of CPU, and with one lab per
   * browser each start ends the previous lab: 10 a minute is more than a learner moving from
   * chapter to chapter needs, and bounds the churn one address causes. Raise it with
   * LAB_MAX_LABS_PER_ADDRESS for a room behind one NAT address.
   */
  LAB_CREATE_RATE: wholeNumber(1, 100_000).default(10),
  /**
   * Which proxies' X-Forwarded-For to believe, counted from the right (clientaddress.ts):
   * `false` (none: the socket's address), `true` or a number of hops (the usual reverse proxy
   * on the same machine is 1), or a comma-separated list of proxy addresses and CIDRs.
   * Only behind proxies that append to the header, with the runner reachable through them alone.
   */
  LAB_TRUST_PROXY: z.string().default('false').transform((text, ctx) => {
    const trust = parseProxyTrust(text);
    if (typeof trust === 'string') {
      ctx.addIssue({ code: 'custom', message: `must be false, true, a number of hops or a list of proxy addresses: ${trust}` });
      return z.NEVER;
    }
    return trust;
  }),
  /**
   * Connections the server holds at once (page loads, API calls, terminal sockets); beyond it
   * new ones are dropped. A full room of 30 learners holds ~150 (6 parallel page loads and a
   * few terminals each).
   */
  LAB_MAX_CONNECTIONS: wholeNumber(16, 1_000_000).default(1024),
  /**
   * Connections one client address holds at once, so that one client's idle sockets cannot
   * fill LAB_MAX_CONNECTIONS for everyone. Not applied when LAB_TRUST_PROXY is set: then every
   * connection comes from the proxy, which should cap its clients itself.
   */
  LAB_MAX_CONNECTIONS_PER_ADDRESS: wholeNumber(4, 1_000_000).default(64),
  /** One live lab per browser: starting a lab removes that browser's previous one. */
  LAB_ONE_PER_BROWSER: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /**
   * Run lab hosts under this OCI runtime instead of the engine's default (e.g. `sysbox-runc`,
   * which runs Docker-in-Docker without privileges). With a runtime set, lab hosts get no extra
   * privileges at all: the runtime provides what dockerd needs.
   */
  LAB_RUNTIME: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be a runtime name such as sysbox-runc').optional(),
  /**
   * Where web previews are served (previews.ts): `https://<id>.<this domain>/`, for a deployment
   * whose reverse proxy has a wildcard DNS name and certificate for it and passes the Host header
   * on. Unset: `http://<id>.localhost:<PORT>/` (browsers resolve *.localhost to loopback), which
   * only works for a browser on this machine. Either way a preview is an origin of its own, never
   * the course's; every name one label under this domain is a preview's, never the course's.
   */
  LAB_PREVIEW_DOMAIN: z
    .string()
    .transform((s) => s.toLowerCase().replace(/\.$/, ''))
    .pipe(z.string().regex(/^(?=.{1,200}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'must be a DNS name such as preview.example.org (no scheme, port or path)'))
    .optional(),
  /**
   * This runner's cell name when several machines form one workshop (cells.ts): lab ids start
   * with it. A Swarm node id is 25 of these characters. Unset: one machine, plain lab ids.
   */
  LAB_CELL: z.string().regex(/^[a-z0-9]{1,25}$/, 'must be 1-25 lowercase letters or digits (a Swarm node id is 25)').optional(),
  /**
   * Where the other cells are: comma-separated `host[:port]` (this runner itself may be listed);
   * a DNS name may resolve to several (Swarm's `tasks.runner`). The port defaults to PORT.
   */
  LAB_CELL_PEERS: list.pipe(z.array(cellPeer).min(1, 'name at least one host')).optional(),
  /** The secret cells prove themselves to each other with: the same on every cell, never told to learners. */
  LAB_CELL_SECRET: z
    .string()
    // Sent in a request header, which carries only printable ASCII.
    .regex(/^[\x21-\x7e]{32,500}$/, 'must be 32-500 printable ASCII characters, no spaces (openssl rand -hex 32 makes one)')
    .optional(),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface Config extends RawConfig {
  siteDir: string;
  /** LAB_MANIFEST, resolved like siteDir. */
  manifestFile: string;
  /** LAB_STATE_DIR resolved, plus this instance's own folder in it. */
  stateDir: string;
  /** LAB_OWN_ENGINE_DIR, or its default for this instance. */
  ownEngineDir: string;
  /** Origins whose pages may use the API: the server's own, plus LAB_ALLOWED_ORIGINS. */
  allowedOrigins: Set<string>;
  /** LAB_ENGINES (or the deprecated LAB_SUITE's engine), the default first: what labs may run if their images exist. */
  engines: readonly Engine[];
  /** Sentences for the log about settings that still work but should change (a deprecated variable). */
  warnings: string[];
}

export class ConfigError extends Error {}

/** Variables whose value an error message leaves out. */
const SECRETS = new Set(['LAB_CELL_SECRET']);

/** Read and validate the configuration; throws ConfigError with one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const result = configSchema.safeParse(known);
  if (!result.success) {
    // A secret is not written to the log, even a wrong one.
    const shown = (name: string) => (SECRETS.has(name) ? 'a value that is not shown' : JSON.stringify(known[name]));
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${shown(String(i.path[0]))})`);
    throw new ConfigError(`Invalid configuration in environment variables:\n${lines.join('\n')}`);
  }
  const raw = result.data;
  const siteDir = path.resolve(cwd, raw.LAB_SITE_DIR);
  const manifestFile = path.resolve(cwd, raw.LAB_MANIFEST);
  const fromSite = path.relative(siteDir, manifestFile);
  const fail = (line: string) => new ConfigError(`Invalid configuration in environment variables:\n  ${line}`);
  if (fromSite !== '..' && !fromSite.startsWith(`..${path.sep}`) && !path.isAbsolute(fromSite)) {
    throw fail(`LAB_MANIFEST: must be outside LAB_SITE_DIR (${siteDir}), which is served to anyone, and the manifest holds every exercise's check (got ${JSON.stringify(raw.LAB_MANIFEST)})`);
  }
  if (raw.LAB_SUITE && raw.LAB_ENGINES) throw fail(`LAB_SUITE: set LAB_ENGINES alone, which replaced it (got LAB_SUITE=${raw.LAB_SUITE} and LAB_ENGINES=${raw.LAB_ENGINES.join(',')})`);
  if (raw.LAB_READY_TIMEOUT < raw.LAB_ENGINE_START_TIMEOUT) {
    throw fail(`LAB_READY_TIMEOUT: must be at least LAB_ENGINE_START_TIMEOUT (${raw.LAB_ENGINE_START_TIMEOUT} s), which it includes (got ${raw.LAB_READY_TIMEOUT})`);
  }
  if (raw.LAB_CELL_PEERS && !raw.LAB_CELL) throw fail('LAB_CELL_PEERS: needs LAB_CELL, this runner\'s own cell name, set too (lab ids carry it)');
  if (raw.LAB_CELL_PEERS && !raw.LAB_CELL_SECRET) throw fail('LAB_CELL_SECRET: must be set (the same on every cell, at least 32 characters) when LAB_CELL_PEERS is');
  const suiteEngine = ENGINES.find((e) => e.suite === raw.LAB_SUITE);
  const engines = suiteEngine ? [suiteEngine] : (raw.LAB_ENGINES ?? ENGINES.map((e) => e.id)).map((id) => ENGINES.find((e) => e.id === id)!);
  return {
    ...raw,
    engines,
    warnings: suiteEngine ? [`LAB_SUITE is deprecated: labs run Docker Engine ${suiteEngine.version} only; set LAB_ENGINES=${suiteEngine.id} instead (or leave both unset to offer every engine).`] : [],
    siteDir,
    manifestFile,
    stateDir: path.resolve(cwd, raw.LAB_STATE_DIR, raw.LAB_INSTANCE),
    ownEngineDir: raw.LAB_OWN_ENGINE_DIR ?? `/run/dnl-lab-engine/${raw.LAB_INSTANCE}`,
    allowedOrigins: new Set(raw.LAB_ALLOWED_ORIGINS),
  };
}

/** Origins a browser uses for this server once it knows its real port. */
export function ownOrigins(host: string, port: number): string[] {
  const hosts = host === '0.0.0.0' || host === '::' ? ['127.0.0.1', 'localhost'] : [host];
  if (host === '127.0.0.1') hosts.push('localhost');
  return hosts.map((h) => `http://${h.includes(':') ? `[${h}]` : h}:${port}`);
}
