/**
 * The sandboxed mode: lab hosts under an engine that remaps user namespaces (dockerd
 * --userns-remap). There a lab host's root is an unprivileged uid on the machine (165536, or
 * whatever /etc/subuid gives `dockremap`), so a learner who escapes their lab host lands on a
 * user that owns nothing. This module tells whether the engine runs that way, and does the one
 * root-side step a lab host needs there: it hands the lab host's own cgroup directories to its
 * mapped root, so that the lab host's engine can make cgroups for the learner's containers.
 *
 * On cgroup v1 the outer engine leaves a container's cgroup directories root's, and every inner
 * `docker run` fails (`mkdir /sys/fs/cgroup/cpuset/docker: permission denied`). Handed over are
 * the directory, `cgroup.procs` and `tasks` of each line of /proc/PID/cgroup: enough to make and
 * fill sub-cgroups, never the limit files (memory.limit_in_bytes, pids.max), which stay root's, so
 * the lab cannot raise its own limits. On cgroup v2 runc hands the scope to the mapped root itself
 * (verified: docs in README, "Security"), and the step changes nothing there. Nothing is handed
 * back: the directories go when the engine removes the lab host, with everything below them.
 *
 * It does not decide the lab host's form (docker.ts) or start lab hosts (engine.ts).
 */
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import type { Isolation } from '../../contract/api.ts';
import { ISOLATION } from '../../contract/isolation.ts';
import { withTimeout } from './docker.ts';
import { LABELS } from './names.ts';

/** What `docker info` lists in SecurityOptions when the engine remaps user namespaces (Engine >= 1.13). */
const USERNS_SECURITY_OPTION = 'name=userns';
/** Where the helper sees the machine's cgroup tree. */
const HOST_CGROUP = '/host/cgroup';
/** How long the helper may take: it starts, reads two files, chowns a dozen, exits (~0.35 s here). */
const HELPER_TIMEOUT_MS = 20_000;
/** The helper's role label, so that a runner killed during its run has it removed as a stray at the next start. */
export const DELEGATION_ROLE = 'cgroup-delegation';

/** Whether the engine `docker info` describes remaps user namespaces. */
export function remapsUsers(info: { SecurityOptions?: string[] | null }): boolean {
  return (info.SecurityOptions ?? []).includes(USERNS_SECURITY_OPTION);
}

/** The mode in words (contract/isolation.ts ISOLATION). */
export function isolationOf(remapped: boolean): Isolation {
  return remapped ? { sandboxed: true, sentence: ISOLATION.sandboxed } : { sandboxed: false, sentence: ISOLATION.rootEquivalent };
}

/**
 * The helper's script: $1 the lab host's pid on the machine, $2 its container id. Reads the
 * mapped root from /proc/PID/uid_map and gid_map, and for each line of /proc/PID/cgroup that is
 * the lab host's own (its path names the container, so nothing else on the machine can be
 * chosen) and whose cgroup.procs is not its mapped root's yet, hands over the directory and the
 * files that make and fill sub-cgroups: v1 cgroup.procs and tasks; v2 (only on a machine with no
 * v1 controllers: a hybrid machine's unified tree is not mounted in the lab host) cgroup.procs,
 * cgroup.subtree_control and cgroup.threads, runc's own delegation set. Prints each directory
 * it changed.
 */
const DELEGATE_SCRIPT = `set -eu
pid=$1 id=$2 root=${HOST_CGROUP}
mapped() { while read -r inside outside _; do [ "$inside" = 0 ] && { echo "$outside"; return; }; done < "$1"; }
uid=$(mapped /proc/$pid/uid_map) gid=$(mapped /proc/$pid/gid_map)
case "$uid:$gid" in 0:*|*:0|:*|*:) echo "the lab host's root is not mapped to another user (uid $uid, gid $gid)"; exit 3;; esac
# The part of its hierarchy a mount point shows (/ on a machine; an engine in a container sees
# only its own cgroup there, while /proc/PID/cgroup names paths from the hierarchy's top).
base() { while read -r _ _ _ r mp _; do [ "$mp" = "$1" ] && { echo "$r"; return; }; done < /proc/self/mountinfo; }
v1=no
while IFS=: read -r _ controllers _; do [ -z "$controllers" ] || v1=yes; done < /proc/$pid/cgroup
while IFS=: read -r _ controllers path; do
  if [ -n "$controllers" ]; then mp=$root/\${controllers#name=} files="cgroup.procs tasks"
  elif [ $v1 = no ]; then mp=$root files="cgroup.procs cgroup.subtree_control cgroup.threads"
  else continue; fi
  case "$path" in *"$id"*) ;; *) echo "$path is not the lab host's own cgroup"; exit 4;; esac
  b=$(base "$mp"); [ "$b" != / ] || b=
  dir=$mp\${path#"$b"}
  [ "$(stat -c %u "$dir/cgroup.procs")" != "$uid" ] || continue
  set -- "$dir"
  for f in $files; do [ ! -e "$dir/$f" ] || set -- "$@" "$dir/$f"; done
  chown "$uid:$gid" "$@"
  echo "\${dir#$root}"
done < /proc/$pid/cgroup`;

/**
 * Hand the running lab host `container`'s (name or id) own cgroup directories to its mapped root (see the
 * module's comment); resolves with the directories changed (none on cgroup v2). Idempotent: a
 * revived lab host's are checked again and left alone.
 *
 * Root on the machine does it, through a short-lived helper container started by the same
 * engine: that works whether the runner runs on the machine or in its own container (which has
 * neither the machine's /proc nor its cgroup tree), and needs no setuid tool or root for the
 * runner itself. The helper is the one container that leaves the remapping (`--userns=host`, so
 * its root is the machine's and may chown), and it joins the machine's pid and cgroup namespaces
 * (to read the lab host's /proc files with the machine's paths). It gets CHOWN alone of every
 * capability, no network and a read-only root, never --privileged: that would add every device
 * and capability for a chown, and this project's kernels refuse it besides (CAP_SYS_RESOURCE is
 * not in their bounding set: "unable to apply caps: operation not permitted").
 */
export async function delegateCgroups(docker: Docker, container: string, instance: string): Promise<string[]> {
  const { Id, State, Image } = await docker.getContainer(container).inspect();
  if (!State.Running || !State.Pid) throw new Error('the lab host is not running');
  const helper = await docker.createContainer({
    // The lab host's own image: it is on this engine, and has sh, stat and chown.
    Image,
    Entrypoint: ['sh', '-c', DELEGATE_SCRIPT, 'delegate-cgroups', String(State.Pid), Id],
    Cmd: [],
    User: '0:0',
    // With a TTY its log is one plain stream (no multiplexing frames to take apart).
    Tty: true,
    Labels: { [LABELS.instance]: instance, [LABELS.role]: DELEGATION_ROLE },
    NetworkDisabled: true,
    // CgroupnsMode (Engine API 1.41) is missing from dockerode's types.
    HostConfig: {
      UsernsMode: 'host',
      PidMode: 'host',
      CgroupnsMode: 'host',
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      CapAdd: ['CHOWN'],
      ReadonlyRootfs: true,
      // The machine's path, resolved by the engine: right from a runner in a container too.
      Binds: [`/sys/fs/cgroup:${HOST_CGROUP}`],
    } as ContainerCreateOptions['HostConfig'],
  });
  try {
    await withTimeout(helper.start(), HELPER_TIMEOUT_MS, 'handing a lab host its cgroups');
    const { StatusCode } = (await withTimeout(helper.wait(), HELPER_TIMEOUT_MS, 'handing a lab host its cgroups')) as { StatusCode: number };
    const output = (await helper.logs({ stdout: true, stderr: true })).toString('utf8').trim();
    if (StatusCode !== 0) throw new Error(output || `the helper container exited with ${StatusCode}`);
    return output ? output.split(/\r?\n/) : [];
  } finally {
    await helper.remove({ force: true }).catch(() => {});
  }
}
