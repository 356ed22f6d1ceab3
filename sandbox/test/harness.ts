/**
 * Test harness for the runner's integration tests: a real runner process, real labs on the real
 * engine, and a terminal client that behaves like the browser's (binary frames, acks).
 * No Docker mocks: the runner under test talks to the engine tests run against.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Docker from 'dockerode';
import WebSocket from 'ws';
import { CLIENT_MESSAGES, FLOW, encodeMessage, parseServerMessage, terminalPath, type LabCreated, type ServerMessage } from '../src/protocol.ts';
import { LABELS } from '../src/names.ts';
import { LAB_MANIFEST_PATH, type LabManifest } from '../src/labspec.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const docker = new Docker();

/** How long a runner may take to print that it listens (it reaps and probes the engine first). */
const RUNNER_START_TIMEOUT_MS = 30_000;

export interface RunningRunner {
  url: string;
  port: number;
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<number | null>;
  /** RSS of the runner process in bytes, from /proc. */
  rss(): number;
}

export function uniqueInstance(name: string): string {
  return `test-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

export async function startRunner(env: Record<string, string> = {}): Promise<RunningRunner> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'sandbox/src/main.ts')], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LAB_INSTANCE: uniqueInstance('runner'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner did not start:\n${out}`)), RUNNER_START_TIMEOUT_MS);
    const check = () => {
      const m = /ready on (http:\/\/[^\s]+?)\/?\s/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`runner exited with ${code}:\n${out}`));
    });
  });
  return {
    url,
    port: Number(new URL(url).port),
    proc,
    output: () => out,
    rss: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))![1]) * 1024,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill('SIGTERM');
      }),
  };
}

/** A site directory holding only a lab manifest, for labs whose shape no lesson needs yet. */
export function fixtureSite(lessons: LabManifest['lessons']): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dnl-site-'));
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, LAB_MANIFEST_PATH), JSON.stringify({ lessons }));
  return dir;
}

export async function api(runner: RunningRunner, method: string, pathname: string, opts: { body?: unknown; token?: string; headers?: Record<string, string> } = {}) {
  const res = await fetch(runner.url + pathname, {
    method,
    headers: {
      ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      ...opts.headers,
    },
    body: opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

export async function createLab(runner: RunningRunner, lesson: string): Promise<LabCreated> {
  const res = await api(runner, 'POST', '/api/labs', { body: { lesson } });
  if (res.status !== 201) throw new Error(`POST /api/labs gave ${res.status}: ${res.text}`);
  return res.json as LabCreated;
}

/** Debian's root prompt, `root@host1:~# `, once colours are stripped. */
const PROMPT = /root@[\w-]+:[^\n]*# $/;

/** Remove terminal escape sequences (colours, bracketed-paste mode, titles) so output reads as text. */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]/g, '');
}

/** A terminal client like the browser's: collects output, acknowledges what it "rendered". */
export class TerminalClient {
  readonly ws: WebSocket;
  text = '';
  bytes = 0;
  messages: ServerMessage[] = [];
  closeCode?: number;
  firstByteAt?: number;
  private waiters: Array<() => void> = [];
  private pendingAck = 0;

  constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data, isBinary) => {
      const buf = data as Buffer;
      if (isBinary) {
        this.firstByteAt ??= performance.now();
        this.bytes += buf.length;
        this.text += buf.toString('utf8');
        // Keep the tail only: a flood must not make the test itself grow without bound.
        if (this.text.length > 1_000_000) this.text = this.text.slice(-200_000);
        this.pendingAck += buf.length;
        if (this.pendingAck >= FLOW.ACK_BATCH) this.flushAck();
        else setTimeout(() => this.flushAck(), 20);
      } else {
        const parsed = parseServerMessage(buf.toString('utf8'));
        if (parsed.ok) this.messages.push(parsed.message);
      }
      this.notify();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.notify();
    });
  }

  static open(runner: RunningRunner, lab: LabCreated, host: string, opts: { token?: string; origin?: string } = {}): Promise<TerminalClient> {
    const ws = new WebSocket(runner.url.replace(/^http/, 'ws') + terminalPath(lab.id, host, opts.token ?? lab.token), {
      headers: { origin: opts.origin ?? runner.url },
    });
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TerminalClient(ws)));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  private flushAck(): void {
    if (this.pendingAck > 0 && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(encodeMessage({ type: CLIENT_MESSAGES.ack, bytes: this.pendingAck }));
      this.pendingAck = 0;
    }
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  type(text: string): void {
    this.ws.send(Buffer.from(text, 'utf8'), { binary: true });
  }

  /** Resolve when the output since `from` matches; reject after `timeoutMs` with what was seen. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000, from = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const seen = stripAnsi(this.text.slice(from));
      if (pattern.test(seen)) return seen;
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}) before ${pattern}; output:\n${seen.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${pattern}; output:\n${seen.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Wait for a shell prompt (`root@host:...# `) after `from`. */
  waitForPrompt(timeoutMs = 30_000, from = 0): Promise<string> {
    return this.waitFor(PROMPT, timeoutMs, from);
  }

  /**
   * Type a command and wait for its echo, then a new prompt; returns that output. Waiting for
   * the echo first matters: bash redraws its prompt on a resize, which is not the command's end.
   */
  async run(command: string, timeoutMs = 30_000): Promise<string> {
    const from = this.text.length;
    this.type(`${command}\r`);
    const echoed = command.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return this.waitFor(new RegExp(`${echoed}[\\s\\S]*${PROMPT.source}`), timeoutMs, from);
  }

  waitClosed(timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.closeCode !== undefined) return resolve(this.closeCode);
      const t = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.ws.once('close', (code) => {
        clearTimeout(t);
        resolve(code);
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Everything on the engine that carries this lab's label. */
export async function labObjects(labId: string) {
  const filters = JSON.stringify({ label: [`${LABELS.lab}=${labId}`] });
  const [containers, networks, volumes] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers: containers.length, networks: networks.length, volumes: volumes.Volumes?.length ?? 0 };
}

export async function instanceObjects(instance: string) {
  const filters = JSON.stringify({ label: [`${LABELS.instance}=${instance}`] });
  const [containers, networks] = await Promise.all([docker.listContainers({ all: true, filters }), docker.listNetworks({ filters })]);
  return { containers: containers.length, networks: networks.length };
}

/** Run a command in a lab host outside any terminal; returns exit code and output. */
export async function execIn(containerName: string, cmd: string[], timeoutMs = 20_000): Promise<{ code: number | null; output: string }> {
  const exec = await docker.getContainer(containerName).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, Tty: true });
  const stream = await exec.start({ hijack: true, stdin: false, Tty: true });
  let output = '';
  stream.on('data', (d: Buffer) => (output += d.toString('utf8')));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`exec ${cmd.join(' ')} timed out; output: ${output}`)), timeoutMs);
    stream.on('end', () => {
      clearTimeout(t);
      resolve();
    });
  });
  return { code: (await exec.inspect()).ExitCode, output };
}
