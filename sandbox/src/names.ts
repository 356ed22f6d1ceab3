/**
 * Names the runner and the image builder agree on: image tags, labels, container and network
 * names. Defined once here; everything else imports them.
 */

/** Debian suites a lab host can be built from: forky ships Engine 28.5.2, trixie 26.1.5 (fallback). */
export const SUITES = ['forky', 'trixie'] as const;
export type Suite = (typeof SUITES)[number];
export const DEFAULT_SUITE: Suite = 'forky';

export const IMAGES = {
  /** Debian minbase root filesystem, imported locally when no registry is reachable. */
  base: (suite: Suite) => `dnl/debian:${suite}`,
  /** The lab host: Debian with its own dockerd ("Docker-in-Docker"), inner image store prepared. */
  labHost: (suite: Suite) => `dnl/labhost:${suite}`,
  /** The lab host before its inner image store is prepared (it loads the inner images at start). */
  labHostPlain: (suite: Suite) => `dnl/labhost-plain:${suite}`,
  /** Images learners run inside a lab host, preloaded there (tagged without the prefix inside). */
  innerBusybox: 'dnl/inner-busybox:latest',
  innerWeb: 'dnl/inner-web:latest',
  /** Network debugging tools (tcpdump, dig, nsenter, ss, ...) to run in other containers' namespaces. */
  innerToolkit: 'dnl/inner-toolkit:latest',
  /** The runner itself with the built site, for running it as a container (compose.yaml names it too). */
  runner: 'dnl/runner:latest',
} as const;

/** Tags the inner images carry inside a lab host: what a learner types in `docker run`. */
export const INNER_TAGS = { busybox: 'busybox:latest', web: 'web:latest', toolkit: 'toolkit:latest' } as const;

/** Labels on every object the runner creates; labels are the source of truth for reaping. */
export const LABELS = {
  /** Present on everything this project creates; value is the runner instance name. */
  instance: 'io.dnl.instance',
  lab: 'io.dnl.lab',
  /** A lab's shape (labspec.ts labShape): its hosts, and whether it is a macvlan lab. */
  shape: 'io.dnl.shape',
  role: 'io.dnl.role',
  host: 'io.dnl.host',
  /** On images: a hash of the build context, so an unchanged image is not rebuilt. */
  contextHash: 'io.dnl.context-hash',
} as const;

export const ROLES = {
  network: 'lab-network',
  host: 'lab-host',
  /** LAB_OWN_ENGINE's engine (labengine.ts): the instance's, but no lab's, and never a stray. */
  labEngine: 'lab-engine',
} as const;

export const labNetworkName = (labId: string) => `dnl-${labId}`;
export const labHostContainerName = (labId: string, host: string) => `dnl-${labId}-${host}`;

/** Variables the runner sets in a lab host for its lab-entrypoint and lab-shell (see sandbox/images/labhost). */
export const LAB_HOST_ENV = {
  /** Seconds its own dockerd may take to answer (LAB_ENGINE_START_TIMEOUT); 30 when unset. */
  engineStartTimeout: 'LAB_ENGINE_START_TIMEOUT_S',
} as const;

/** Paths inside a lab host image that the runner relies on (see sandbox/images/labhost). */
export const LAB_HOST_PATHS = {
  /** `lab-shell <terminal-id>`: waits for the inner engine, records its session, execs a login shell. */
  shell: '/usr/local/bin/lab-shell',
  /** `lab-end-terminal <terminal-id>`: hangs up and then kills that terminal's whole session. */
  endTerminal: '/usr/local/bin/lab-end-terminal',
  /** Exists once the inner dockerd answers and the inner images are loaded. */
  ready: '/run/lab/ready',
  /** Holds a sentence saying why the inner engine failed, if it did. */
  failed: '/run/lab/failed',
  /** The inner engine's storage: a sized tmpfs of its own. */
  dockerData: '/var/lib/docker',
  /**
   * The tmpfs holding everything else a learner can write (lab-entrypoint puts /root, /tmp,
   * /var/tmp, /home, /var/log, /etc/docker, /etc/ufw and /etc/default on it); the rest of the
   * root is read-only.
   */
  files: '/var/lib/lab-files',
  /** Runtime state of the lab host and its engine (sockets, /run/lab, network namespaces). */
  run: '/run',
} as const;

/**
 * The tmpfs options for a lab host's /var/lib/docker (LAB_HOST_PATHS.dockerData): the inner
 * engine's storage. overlay2 cannot sit on the container's own overlay, so it needs a tmpfs (or a
 * volume); exec, dev and suid because inner containers run from it; sized, so a lab cannot fill
 * the machine's memory through it.
 */
export const dockerDataTmpfs = (sizeBytes: number | string) => `rw,exec,dev,suid,size=${sizeBytes}`;
