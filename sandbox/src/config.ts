/**
 * Every setting of the runner, read from environment variables once, validated with zod,
 * with the defaults documented in README.md ("Configuration"). Nothing else reads process.env.
 */
import path from 'node:path';
import { z } from 'zod';
import { SUITES, DEFAULT_SUITE } from './names.ts';
import { LAB_MANIFEST_DEFAULT } from './labspec.ts';

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
  /** Name of this runner; everything it creates is labelled with it and reaped by it at start. */
  LAB_INSTANCE: z.string().regex(/^[a-zA-Z0-9_.-]{1,40}$/).default('default'),
  /** Debian suite of the lab host image: forky (Engine 28.5.2) or trixie (26.1.5). */
  LAB_SUITE: z.enum(SUITES).default(DEFAULT_SUITE),
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
  /** A lab with no open terminal for this long is removed (seconds). */
  LAB_IDLE_TIMEOUT: wholeNumber(10, 7 * 86400).default(30 * 60),
  /** A lab is removed this long after it was created, whatever happens (seconds). Play with Docker used 4 h. */
  LAB_MAX_LIFETIME: wholeNumber(10, 7 * 86400).default(4 * 3600),
  /** Per lab host: memory (no swap beyond it), process count, CPUs, /var/lib/docker tmpfs size, log size. */
  LAB_HOST_MEMORY: size('LAB_HOST_MEMORY').default(1024 ** 3),
  LAB_HOST_PIDS: wholeNumber(64, 1_000_000).default(1000),
  LAB_HOST_CPUS: z.coerce.number().positive().max(1024).default(1),
  LAB_HOST_DOCKER_SIZE: size('LAB_HOST_DOCKER_SIZE').default(512 * 1024 ** 2),
  LAB_HOST_LOG_SIZE: z.string().regex(/^\d+[kmg]$/, 'must be a size such as 1m').default('1m'),
  /**
   * How lab hosts get the privileges dockerd needs: `auto` probes the engine once at start
   * (--privileged where it works; otherwise all capabilities but CAP_SYS_RESOURCE, which some
   * kernels do not grant), or force `privileged` / `capabilities`.
   */
  LAB_HOST_PRIVILEGES: z.enum(['auto', 'privileged', 'capabilities']).default('auto'),
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
   * Labs one client address may create per minute (a token bucket: this many at once, then one
   * every 60/N s). A classroom behind one NAT address shares it, so the default leaves room for
   * 30 learners starting a lab each in the same minute.
   */
  LAB_CREATE_RATE: wholeNumber(1, 100_000).default(30),
  /** Take the client address from X-Forwarded-For (only behind a reverse proxy that sets it). */
  LAB_TRUST_PROXY: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  /** One live lab per browser: starting a lab removes that browser's previous one. */
  LAB_ONE_PER_BROWSER: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /**
   * Run lab hosts under this OCI runtime instead of the engine's default (e.g. `sysbox-runc`,
   * which runs Docker-in-Docker without privileges). With a runtime set, lab hosts get no extra
   * privileges at all: the runtime provides what dockerd needs.
   */
  LAB_RUNTIME: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'must be a runtime name such as sysbox-runc').optional(),
});

export type RawConfig = z.infer<typeof configSchema>;

export interface Config extends RawConfig {
  siteDir: string;
  /** LAB_MANIFEST, resolved like siteDir. */
  manifestFile: string;
  /** Origins whose pages may use the API: the server's own, plus LAB_ALLOWED_ORIGINS. */
  allowedOrigins: Set<string>;
}

export class ConfigError extends Error {}

/** Read and validate the configuration; throws ConfigError with one line per bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape)
      .filter((k) => env[k] !== undefined && env[k] !== '')
      .map((k) => [k, env[k]]),
  );
  const result = configSchema.safeParse(known);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(known[String(i.path[0])])})`);
    throw new ConfigError(`Invalid configuration in environment variables:\n${lines.join('\n')}`);
  }
  const raw = result.data;
  const siteDir = path.resolve(cwd, raw.LAB_SITE_DIR);
  const manifestFile = path.resolve(cwd, raw.LAB_MANIFEST);
  const fromSite = path.relative(siteDir, manifestFile);
  if (fromSite !== '..' && !fromSite.startsWith(`..${path.sep}`) && !path.isAbsolute(fromSite)) {
    throw new ConfigError(`Invalid configuration in environment variables:\n  LAB_MANIFEST: must be outside LAB_SITE_DIR (${siteDir}), which is served to anyone, and the manifest holds every exercise's check (got ${JSON.stringify(raw.LAB_MANIFEST)})`);
  }
  return {
    ...raw,
    siteDir,
    manifestFile,
    allowedOrigins: new Set(raw.LAB_ALLOWED_ORIGINS),
  };
}

/** Origins a browser uses for this server once it knows its real port. */
export function ownOrigins(host: string, port: number): string[] {
  const hosts = host === '0.0.0.0' || host === '::' ? ['127.0.0.1', 'localhost'] : [host];
  if (host === '127.0.0.1') hosts.push('localhost');
  return hosts.map((h) => `http://${h.includes(':') ? `[${h}]` : h}:${port}`);
}
