/**
 * The terminal WebSocket wire protocol, shared by the browser client and the runner.
 *
 * This module is imported by browser code, so it must never import `node:` modules
 * or anything that does. It names every message type once; nothing else spells them.
 *
 * One WebSocket carries one terminal on one lab host, at ROUTES.terminal (api.ts).
 *
 * | frame  | direction        | meaning                                                   |
 * |--------|------------------|-----------------------------------------------------------|
 * | binary | client -> server | keystrokes / pasted bytes, written to the shell's TTY      |
 * | binary | server -> client | bytes the TTY printed                                      |
 * | text   | client -> server | JSON control message, one of CLIENT_MESSAGES below         |
 * | text   | server -> client | JSON control message, one of SERVER_MESSAGES below         |
 *
 * A text frame that is not valid JSON, or names an unknown type, closes the socket with
 * CLOSE_CODES.policy. A frame larger than MAX_FRAME_BYTES closes it with CLOSE_CODES.tooBig.
 *
 * The lab event socket (LAB_EVENTS, below) and the instructor's watch socket (WATCH_MESSAGES,
 * below) use the same close codes.
 */
import type { LearnerState, Notice } from './api.ts';

/** Messages the browser sends. */
export const CLIENT_MESSAGES = {
  /** The terminal's size changed: `{type, cols, rows}`; values are clamped to TERMINAL_LIMITS. */
  resize: 'resize',
  /** The client has rendered `bytes` more bytes of output: `{type, bytes}` (flow control). */
  ack: 'ack',
} as const;

/** Messages the runner sends. */
export const SERVER_MESSAGES = {
  /** The shell is attached and input will reach it: `{type, host}`. */
  ready: 'ready',
  /** The shell ended: `{type, code}`; the socket closes with CLOSE_CODES.exited right after. */
  exit: 'exit',
  /**
   * Something went wrong that the learner should read: `{type, message, code?}`; `code` (one of
   * RUNNER_NOTICES) says which sentence it is, so a page in another language can say it in its own.
   */
  error: 'error',
} as const;

/**
 * Stable codes of the sentences the runner sends a learner over the terminal (SERVER_MESSAGES.error)
 * and lab event (LAB_EVENTS.ended) sockets. The runner's English sentence stays in the frame; a page
 * in another language shows its catalogue's sentence for the code (src/i18n), and the sentence
 * itself when a frame has no code it knows.
 */
export const RUNNER_NOTICES = {
  /** The lab reached its maximum lifetime and was removed. */
  maxLifetime: 'max_lifetime',
  /** The lab was idle too long and was removed. */
  idle: 'idle',
  /** The same browser started another lab (one lab per browser). */
  anotherTab: 'another_tab',
  /** The runner is shutting down. */
  shutdown: 'shutdown',
  /** The learner stopped the lab (Stop lab, or DELETE of the lab). */
  stopped: 'stopped',
  /** The instructor ended the lab from the dashboard. */
  endedByInstructor: 'ended_by_instructor',
  /** A lab host stopped, so the runner removed the lab. */
  hostStopped: 'host_stopped',
  /** The runner could not open a shell on the lab host. */
  shellFailed: 'shell_failed',
  /** The terminal's lab host no longer exists. */
  hostGone: 'host_gone',
  /** The runner lost its connection to the machine's Docker engine. */
  dockerLost: 'docker_lost',
  /** The terminal's lab host stopped (out of memory, or killed). */
  hostExited: 'host_exited',
} as const;
export type RunnerNoticeCode = (typeof RUNNER_NOTICES)[keyof typeof RUNNER_NOTICES];

/** A sentence for the learner and its code (RUNNER_NOTICES): what the runner sends and passes around. */
export interface RunnerNotice {
  code: RunnerNoticeCode;
  message: string;
}

const NOTICE_CODES: readonly string[] = Object.values(RUNNER_NOTICES);
/** A frame's `code` when it is one this page knows; anything else is dropped (the sentence is still there). */
const noticeCode = (code: unknown): { code?: RunnerNoticeCode } => (typeof code === 'string' && NOTICE_CODES.includes(code) ? { code: code as RunnerNoticeCode } : {});

export type ClientMessage =
  | { type: typeof CLIENT_MESSAGES.resize; cols: number; rows: number }
  | { type: typeof CLIENT_MESSAGES.ack; bytes: number };

export type ServerMessage =
  | { type: typeof SERVER_MESSAGES.ready; host: string }
  | { type: typeof SERVER_MESSAGES.exit; code: number | null }
  | { type: typeof SERVER_MESSAGES.error; message: string; code?: RunnerNoticeCode };

/** WebSocket close codes. 1xxx are the standard ones; 4xxx are this protocol's own. */
export const CLOSE_CODES = {
  normal: 1000,
  /** The runner is shutting down. */
  goingAway: 1001,
  /** A malformed or unknown control message. */
  policy: 1008,
  /** A frame larger than MAX_FRAME_BYTES. */
  tooBig: 1009,
  /** A watcher that fell too far behind the learner's output; open the watch again. */
  tryAgainLater: 1013,
  /** The shell exited (the learner typed `exit`). Reconnecting opens a new shell. */
  exited: 4000,
  /** The lab no longer exists (deleted or expired). Do not reconnect; start a new lab. */
  labGone: 4404,
  /** The lab host or its Docker engine failed; the message frame before it says why. */
  hostFailed: 4500,
} as const;

/**
 * Longest close reason a WebSocket close frame may carry, in UTF-8 bytes (RFC 6455 5.5: a
 * control frame's payload is at most 125 bytes, two of which are the close code). ws throws on
 * a longer one, so a reason that quotes client input must be cut to fit first.
 */
export const MAX_CLOSE_REASON_BYTES = 123;

/** `reason` cut to MAX_CLOSE_REASON_BYTES of UTF-8 without splitting a character. */
export function closeReason(reason: string): string {
  const encoder = new TextEncoder();
  if (encoder.encode(reason).length <= MAX_CLOSE_REASON_BYTES) return reason;
  let cut = '';
  let bytes = 0;
  for (const ch of reason) {
    const size = encoder.encode(ch).length;
    if (bytes + size > MAX_CLOSE_REASON_BYTES) break;
    cut += ch;
    bytes += size;
  }
  return cut;
}

/**
 * Largest frame either side accepts. Keystrokes and pastes are small; the ws library's
 * default (100 MiB) would let one client make the runner buffer that much.
 */
export const MAX_FRAME_BYTES = 64 * 1024;

/** Terminal sizes are clamped to these bounds (a 65535x65535 resize is absurd, not an error). */
export const TERMINAL_LIMITS = { minCols: 2, maxCols: 500, minRows: 1, maxRows: 200 } as const;

/**
 * Flow control. The runner counts bytes it sent and the client has not acknowledged yet;
 * above HIGH it stops reading the shell's output, below LOW it reads again. The client
 * acknowledges from xterm's write callback (bytes actually parsed), in batches of ACK_BATCH.
 * Numbers: xterm.js's flow-control guide recommends a high watermark of at most ~500 KB;
 * ttyd acknowledges about every 100 kB. HIGH must stay well above ACK_BATCH or the runner
 * would pause before the client ever acknowledges.
 */
export const FLOW = {
  HIGH_WATERMARK: 512 * 1024,
  LOW_WATERMARK: 128 * 1024,
  ACK_BATCH: 64 * 1024,
} as const;

export function clampSize(cols: number, rows: number): { cols: number; rows: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Math.round(v)));
  return {
    cols: clamp(cols, TERMINAL_LIMITS.minCols, TERMINAL_LIMITS.maxCols),
    rows: clamp(rows, TERMINAL_LIMITS.minRows, TERMINAL_LIMITS.maxRows),
  };
}

export type Parsed<T> = { ok: true; message: T } | { ok: false; reason: string };

function parseObject(text: string): Parsed<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: 'control frame is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, reason: 'control frame is not a JSON object' };
  }
  return { ok: true, message: value as Record<string, unknown> };
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Validate a text frame from the browser. Sizes come back clamped. */
export function parseClientMessage(text: string): Parsed<ClientMessage> {
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const m = parsed.message;
  switch (m.type) {
    case CLIENT_MESSAGES.resize:
      if (!isFiniteNumber(m.cols) || !isFiniteNumber(m.rows)) {
        return { ok: false, reason: 'resize needs numeric cols and rows' };
      }
      return { ok: true, message: { type: CLIENT_MESSAGES.resize, ...clampSize(m.cols, m.rows) } };
    case CLIENT_MESSAGES.ack:
      if (!isFiniteNumber(m.bytes) || m.bytes < 0) return { ok: false, reason: 'ack needs a non-negative byte count' };
      return { ok: true, message: { type: CLIENT_MESSAGES.ack, bytes: Math.floor(m.bytes) } };
    default:
      return { ok: false, reason: `unknown message type ${quoteType(m.type)}` };
  }
}

/** How much of an unknown message type a reason quotes: enough to recognise it, not a whole frame. */
const QUOTED_TYPE_CHARS = 40;
const quoteType = (type: unknown) => {
  const text = JSON.stringify(type) ?? String(type);
  return text.length > QUOTED_TYPE_CHARS ? `${text.slice(0, QUOTED_TYPE_CHARS)}…` : text;
};

/** Validate a text frame from the runner. */
export function parseServerMessage(text: string): Parsed<ServerMessage> {
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const m = parsed.message;
  switch (m.type) {
    case SERVER_MESSAGES.ready:
      return typeof m.host === 'string'
        ? { ok: true, message: { type: SERVER_MESSAGES.ready, host: m.host } }
        : { ok: false, reason: 'ready needs a host' };
    case SERVER_MESSAGES.exit:
      return m.code === null || isFiniteNumber(m.code)
        ? { ok: true, message: { type: SERVER_MESSAGES.exit, code: m.code } }
        : { ok: false, reason: 'exit needs a code' };
    case SERVER_MESSAGES.error:
      return typeof m.message === 'string'
        ? { ok: true, message: { type: SERVER_MESSAGES.error, message: m.message, ...noticeCode(m.code) } }
        : { ok: false, reason: 'error needs a message' };
    default:
      return { ok: false, reason: `unknown message type ${quoteType(m.type)}` };
  }
}

/**
 * The lab event socket (ROUTES.labEvents): one per lab page, server to client only, text frames
 * of JSON. The runner sends `state` when the socket opens and again whenever any of it changes;
 * `ended` says why the lab went away, right before the socket closes with CLOSE_CODES.labGone.
 * Anything the client sends closes the socket with CLOSE_CODES.policy: the learner changes
 * their side over HTTP (ROUTES.learner).
 */
export const LAB_EVENTS = {
  /** `{type, state}`: the whole LabEventState, every time. */
  state: 'state',
  /** `{type, reason, code?}`: a sentence for the learner, and its code (RUNNER_NOTICES). */
  ended: 'ended',
} as const;

/**
 * The instructor's watch socket (INSTRUCTOR_ROUTES.watch), server to client only: binary frames
 * are what the learner's terminal on that host printed (first the recent past, then live), text
 * frames say the learner's terminal size, so the watching xterm wraps lines as the learner's does.
 * Anything the client sends closes the socket with CLOSE_CODES.policy: watching is read-only.
 * A watcher that does not keep up is closed with CLOSE_CODES.tryAgainLater rather than slowing the learner.
 */
export const WATCH_MESSAGES = {
  /** `{type, cols, rows}`. */
  size: 'size',
} as const;

export type WatchMessage = { type: typeof WATCH_MESSAGES.size; cols: number; rows: number };

/** Validate a text frame of the watch socket (the browser's side). */
export function parseWatchMessage(text: string): Parsed<WatchMessage> {
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const m = parsed.message;
  if (m.type !== WATCH_MESSAGES.size) return { ok: false, reason: `unknown message type ${quoteType(m.type)}` };
  if (!isFiniteNumber(m.cols) || !isFiniteNumber(m.rows)) return { ok: false, reason: 'size needs numeric cols and rows' };
  return { ok: true, message: { type: WATCH_MESSAGES.size, ...clampSize(m.cols, m.rows) } };
}

/** A web server a container in the lab publishes, opened on the preview origin (never the course's). */
export interface PreviewLink {
  host: string;
  port: number;
  url: string;
}

export interface LabEventState {
  learner: LearnerState;
  /** Instructors watching one of this lab's terminals now; the panel says so while above 0. */
  watchers: number;
  notice: Notice | null;
  previews: PreviewLink[];
  /**
   * Hosts whose own Docker engine is still starting (a lab built on request on a slow machine):
   * the panel says so instead of letting a waiting terminal look broken. Absent from runners
   * before it, which the page takes as none.
   */
  starting?: string[];
}

export type LabEvent =
  | { type: typeof LAB_EVENTS.state; state: LabEventState }
  | { type: typeof LAB_EVENTS.ended; reason: string; code?: RunnerNoticeCode };

/** Validate a text frame of the lab event socket (the browser's side). */
export function parseLabEvent(text: string): Parsed<LabEvent> {
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const m = parsed.message;
  switch (m.type) {
    case LAB_EVENTS.state: {
      const st = m.state as Partial<LabEventState> | undefined;
      if (typeof st !== 'object' || st === null || typeof st.learner !== 'object' || !Array.isArray(st.previews) || typeof st.watchers !== 'number') {
        return { ok: false, reason: 'state needs learner, watchers and previews' };
      }
      // Hosts are shown by name: anything but a list of strings is taken as none.
      const starting = Array.isArray(st.starting) ? st.starting.filter((h): h is string => typeof h === 'string') : [];
      return { ok: true, message: { type: LAB_EVENTS.state, state: { ...(st as LabEventState), starting } } };
    }
    case LAB_EVENTS.ended:
      return typeof m.reason === 'string'
        ? { ok: true, message: { type: LAB_EVENTS.ended, reason: m.reason, ...noticeCode(m.code) } }
        : { ok: false, reason: 'ended needs a reason' };
    default:
      return { ok: false, reason: `unknown message type ${quoteType(m.type)}` };
  }
}

/**
 * The lab map socket (ROUTES.labMap): server to client only, text frames of JSON. `map` carries
 * the whole LabMap when the socket opens (once collected) and again after every change the
 * runner sees (coalesced); nothing is sent while nothing changes. Anything the client sends
 * closes the socket with CLOSE_CODES.policy; the lab's end closes it with CLOSE_CODES.labGone.
 */
export const LAB_MAP = {
  /** `{type, map}`: the whole LabMap. */
  map: 'map',
} as const;

/** Bump when LabMap changes incompatibly; a page that gets another version says so instead of drawing. */
export const LAB_MAP_VERSION = 1;

/**
 * A lab's real network state, drawn on the map (src/client/map/) and in lessons' "goal" maps
 * (static documents of the same shape). Assembled by the runner from each lab host: its inner
 * engine (networks, containers, swarm) and its own interfaces (`ip -j -d`), including network
 * namespaces made by hand (`ip netns`). Documented in docs/protocol.md.
 */
export interface LabMap {
  version: typeof LAB_MAP_VERSION;
  /** ISO 8601: when it was collected. */
  at: string;
  /** In the lab's order (host1, host2...); all are on the lab link, the lab's own network. */
  hosts: MapHost[];
  /**
   * Docker networks, lab-wide: a local network (bridge, macvlan, host, none) is one per host it is
   * on; a swarm-scoped one (overlay) present on several hosts is one entry listing them all.
   */
  networks: MapNetwork[];
}

export interface MapHost {
  name: string;
  /** Its address on the lab link (eth0, CIDR), if it has one. */
  labAddress: string | null;
  /** Whether its Docker engine answered the last collection (false: its parts below are partial). */
  engineUp: boolean;
  swarm: { nodeId: string; role: 'manager' | 'worker'; state: string } | null;
  /** The host's own interfaces (its root namespace): eth0, lo, docker0, br-*, veths, vxlan, macvlan... */
  interfaces: MapInterface[];
  /** `ip route` of its root namespace, one line each. */
  routes: string[];
  containers: MapContainer[];
  /** Namespaces made by hand (`ip netns add`), with their interfaces and routes. */
  namespaces: MapNamespace[];
}

export type MapInterfaceKind = 'loopback' | 'ethernet' | 'bridge' | 'veth' | 'vxlan' | 'macvlan' | 'ipvlan' | 'dummy' | 'tun' | 'other';

export interface MapInterface {
  name: string;
  /** Its ifindex in its own namespace. */
  index: number;
  kind: MapInterfaceKind;
  up: boolean;
  mac: string | null;
  mtu: number;
  /** CIDR, IPv4 and IPv6. */
  addresses: string[];
  /** The bridge it is plugged into (`master`), if any. */
  master: string | null;
  /**
   * A veth's other end, matched by peer index: in a container (its name), a hand-made namespace,
   * or this same namespace. Null when not found (e.g. moved to a namespace nobody named).
   */
  peer: { container?: string; namespace?: string; interface: string } | null;
  /** vxlan: its VNI; macvlan: its mode and parent interface. */
  vni?: number;
  macvlan?: { mode: string; parent: string };
}

export interface MapNamespace {
  name: string;
  interfaces: MapInterface[];
  routes: string[];
}

export interface MapNetwork {
  /** Stable across collections: `<host>/<name>` for local networks, `swarm/<name>` for swarm-scoped ones. */
  key: string;
  name: string;
  /** bridge, overlay, macvlan, ipvlan, host, null... as the engine says. */
  driver: string;
  scope: 'local' | 'swarm' | 'global';
  /** Hosts it is on. */
  hosts: string[];
  subnets: { subnet: string; gateway: string | null }[];
  internal: boolean;
  /** The Linux bridge carrying it on its host (docker0, br-1a2b...), for bridge networks. */
  bridge: string | null;
  /** overlay: its VXLAN network identifiers. */
  vni: number[];
  /** macvlan/ipvlan: parent interface and mode. */
  parent: string | null;
  mode: string | null;
}

export interface MapContainer {
  /** Short id (12 hex). */
  id: string;
  name: string;
  image: string;
  running: boolean;
  /** Its network namespace's interfaces (eth0...) with their peers, when it runs. */
  interfaces: MapInterface[];
  routes: string[];
  endpoints: MapEndpoint[];
  /** Published ports: `address:hostPort -> containerPort/protocol`. */
  ports: { address: string; hostPort: number; containerPort: number; protocol: string }[];
}

export interface MapEndpoint {
  /** MapNetwork.key. */
  network: string;
  ipv4: string | null;
  ipv6: string | null;
  mac: string | null;
  /** The names the network's DNS answers for it, and its aliases there. */
  dnsNames: string[];
  aliases: string[];
}

export type LabMapMessage = { type: typeof LAB_MAP.map; map: LabMap };

/** Validate a text frame of the lab map socket (the browser's side): the type and version; the map is the runner's. */
export function parseLabMapMessage(text: string): Parsed<LabMapMessage> {
  const parsed = parseObject(text);
  if (!parsed.ok) return parsed;
  const m = parsed.message;
  if (m.type !== LAB_MAP.map) return { ok: false, reason: `unknown message type ${quoteType(m.type)}` };
  const map = m.map as Partial<LabMap> | undefined;
  if (typeof map !== 'object' || map === null || !Array.isArray(map.hosts) || !Array.isArray(map.networks)) return { ok: false, reason: 'map needs hosts and networks' };
  if (map.version !== LAB_MAP_VERSION) return { ok: false, reason: `map version ${String(map.version)} is not ${LAB_MAP_VERSION}` };
  return { ok: true, message: { type: LAB_MAP.map, map: map as LabMap } };
}

export function encodeMessage(message: ClientMessage | ServerMessage | LabEvent | WatchMessage | LabMapMessage): string {
  return JSON.stringify(message);
}
