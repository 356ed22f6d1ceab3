/**
 * Booting the guest with QEMU: which acceleration works here (KVM only where a stock kernel
 * really boots under it, else TCG emulation), and one boot that runs the job, with the
 * machine-side times at which the job's marks appeared in the shared folder.
 * Disks are opened with -snapshot: the cached images are never written, every run starts pristine.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

const QEMU = 'qemu-system-x86_64';
/** Guest size: the platform notes' verified guest (~380 MB used; two lab hosts and inner containers fit in 4 GiB). */
const GUEST_MEMORY = '4G';
const GUEST_CPUS = '2';
/**
 * A stock kernel under working KVM prints its banner within a second; on this machine's
 * paravirtual /dev/kvm it dies in its decompressor at once ("KVM internal error").
 */
const KVM_PROBE_TIMEOUT_MS = 20_000;
/** How often the job's marks file is read (a mark's time is known to within this). */
const MARK_POLL_MS = 250;

export interface Acceleration {
  name: 'kvm' | 'tcg';
  args: string[];
  /** Why this one, in a sentence. */
  reason: string;
}

/** A 9p share: a machine folder the guest mounts (job.sh) by its `tag`. */
export interface Share {
  tag: string;
  path: string;
  /** Where the guest mounts it. */
  guestPath: string;
  readonly: boolean;
}

/**
 * Emulation: every CPU feature QEMU emulates, but memory protection keys. With them, Node 24's V8
 * guards its JIT pages with PKU (ThreadIsolation), which no machine of this project has (their
 * /proc/cpuinfo lists no pku); in one CI run the runner in the guest then died with a V8 fatal
 * error ("Check failed: it->second.Size() > offset", code-memory-access) during the sandboxed pass.
 */
const TCG: string[] = ['-accel', 'tcg,thread=multi,tb-size=512', '-cpu', 'max,pku=off'];
const KVM: string[] = ['-accel', 'kvm', '-cpu', 'host'];

/** KVM when /dev/kvm opens and the guest's kernel prints its banner under it; TCG otherwise. */
export async function detectAcceleration(kernel: string, initrd: string): Promise<Acceleration> {
  try {
    closeSync(openSync('/dev/kvm', 'r+'));
  } catch (err) {
    return { name: 'tcg', args: TCG, reason: `/dev/kvm cannot be opened (${(err as NodeJS.ErrnoException).code}), so the guest is emulated (TCG)` };
  }
  const probe = await runQemu([...KVM, '-m', '512M', '-smp', '1', '-kernel', kernel, '-initrd', initrd, '-append', 'console=ttyS0 panic=-1',
    '-nic', 'none', '-display', 'none', '-serial', 'stdio', '-no-reboot'], KVM_PROBE_TIMEOUT_MS, (out) => /Linux version|KVM internal error|error/i.test(out));
  if (/Linux version/.test(probe.output)) return { name: 'kvm', args: KVM, reason: 'a stock kernel boots under /dev/kvm' };
  // Here it is "KVM internal error ... emulation failure" or, with -cpu host, an assertion on an MSR.
  const why = /KVM internal error[^\n]*|error[^\n]*/i.exec(probe.output)?.[0] ?? (probe.timedOut ? `no kernel banner within ${KVM_PROBE_TIMEOUT_MS / 1000} s` : `QEMU exited with ${probe.code}`);
  return { name: 'tcg', args: TCG, reason: `/dev/kvm is there but a stock kernel does not boot under it (${why.trim()}), so the guest is emulated (TCG)` };
}

/** Run QEMU until it exits, `done(output)` says so, or `timeoutMs` passes; then it is killed. */
function runQemu(args: string[], timeoutMs: number, done: (output: string) => boolean): Promise<{ output: string; code: number | null; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const take = (d: Buffer) => {
      output += d.toString();
      if (done(output)) child.kill('SIGKILL');
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (err) => (output += `\n${QEMU} could not start: ${err.message}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ output, code, timedOut });
    });
  });
}

export interface BootOptions {
  acceleration: Acceleration;
  kernel: string;
  initrd: string;
  disks: string[];
  shares: Share[];
  serialLog: string;
  /** The job's marks file: one "name guest-uptime" line per mark. */
  marksFile: string;
  timeoutMs: number;
}

export interface BootResult {
  /** QEMU's own output (errors), not the guest's console (that is in serialLog). */
  output: string;
  code: number | null;
  timedOut: boolean;
  /** Milliseconds from QEMU's start to when each mark was first seen on the machine. */
  marks: Record<string, number>;
  ms: number;
}

/** Boot the guest with the job's shares; resolves when it powers off or the timeout kills it. */
export async function boot(o: BootOptions): Promise<BootResult> {
  const args = [...o.acceleration.args, '-m', GUEST_MEMORY, '-smp', GUEST_CPUS,
    '-kernel', o.kernel, '-initrd', o.initrd, '-append', 'root=/dev/vda rw console=ttyS0 panic=-1',
    ...o.disks.flatMap((file) => ['-drive', `file=${file},format=raw,if=virtio`]), '-snapshot',
    ...o.shares.flatMap((s) => ['-virtfs', `local,path=${s.path},mount_tag=${s.tag},security_model=none,id=${s.tag}${s.readonly ? ',readonly=on' : ''}`]),
    '-nic', 'none', '-display', 'none', '-serial', `file:${o.serialLog}`, '-no-reboot'];
  const started = Date.now();
  const marks: Record<string, number> = {};
  const poll = setInterval(() => {
    let text = '';
    try {
      text = readFileSync(o.marksFile, 'utf8');
    } catch {
      return;
    }
    // Only whole lines: the last one may be half written.
    for (const line of text.split('\n').slice(0, -1)) {
      const name = line.split(' ')[0];
      if (name && !(name in marks)) marks[name] = Date.now() - started;
    }
  }, MARK_POLL_MS);
  const result = await runQemu(args, o.timeoutMs, () => false);
  clearInterval(poll);
  return { ...result, marks, ms: Date.now() - started };
}
