/**
 * The guest's root disk: Debian trixie (the stable release, Docker Engine 26.1.5) from Debian's
 * own packages, with its stock kernel, systemd and Docker, and a oneshot unit that runs the job
 * the machine shares with it (job.sh over 9p), writes the exit code beside it and powers off.
 * Built once per recipe (cached by its hash): debootstrap ~2 min, then ~1 min for the rest.
 * The guest has no network device; nothing in it is downloaded at run time.
 */
import { copyFile, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { sh } from './cache.ts';

export const SUITE = 'trixie';
const MIRROR = 'http://deb.debian.org/debian';
/**
 * What debootstrap installs (the set verified by hand in the platform notes): the kernel and
 * its initramfs, systemd as init, Docker Engine and its firewall, tools the job uses.
 */
const PACKAGES = ['systemd-sysv', 'udev', 'kmod', 'linux-image-amd64', 'docker.io', 'iptables', 'ca-certificates', 'procps', 'iproute2', 'util-linux', 'e2fsprogs'];
/** trixie's docker.io without recommends has no CLI; apparmor is what its runc expects to find. */
const EXTRA_PACKAGES = ['docker-cli', 'apparmor'];
/** The root filesystem's size (sparse: it takes what is written, ~1.3 GiB). */
const ROOT_SIZE = '8G';

/** The 9p tag of the job's folder, which the unit mounts. */
export const JOB_TAG = 'job';
export const JOB_MOUNT = '/mnt/job';
/** Files in the job folder: the job, its log, its exit code (written last). */
export const JOB_FILES = { script: 'job.sh', log: 'job.log', exitCode: 'exit-code' } as const;
/** msize 512 KiB: 9p's default (8 KiB) makes reading the clone's node_modules crawl. */
export const NINEP_OPTIONS = 'trans=virtio,version=9p2000.L,msize=524288';

const JOB_RUNNER = `#!/bin/sh
# Run the job the machine shares (${JOB_FILES.script}), keep its output and exit code there, power off.
mkdir -p ${JOB_MOUNT}
if ! mount -t 9p -o ${NINEP_OPTIONS} ${JOB_TAG} ${JOB_MOUNT}; then
  echo "dnl-guest: the job folder could not be mounted" > /dev/console
  systemctl poweroff --force
  exit 1
fi
echo "dnl-guest: job starts" > /dev/console
code=0
/bin/sh ${JOB_MOUNT}/${JOB_FILES.script} > ${JOB_MOUNT}/${JOB_FILES.log} 2>&1 || code=$?
echo "$code" > ${JOB_MOUNT}/${JOB_FILES.exitCode}
echo "dnl-guest: job ended with $code" > /dev/console
sync
systemctl poweroff --force
`;

const JOB_UNIT = `[Unit]
Description=Docker Networking Lab guest job (shared by the machine over 9p)
After=local-fs.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/dnl-guest-job
TimeoutStartSec=infinity
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

/** The Docker data disk (dataimage.ts) is the guest's /var/lib/docker; nofail so a missing one fails the job, not the boot. */
const FSTAB = `/dev/vda / ext4 rw 0 1
/dev/vdb /var/lib/docker ext4 rw,nofail 0 0
`;

/** Raise when buildRootImage changes what it writes beyond the strings below (the cache key has no other way to see it). */
const BUILD_VERSION = 2;

/** Everything that decides what the image holds: its hash is the cache key. */
export const ROOT_RECIPE = { version: BUILD_VERSION, suite: SUITE, mirror: MIRROR, packages: PACKAGES, extra: EXTRA_PACKAGES, size: ROOT_SIZE, runner: JOB_RUNNER, unit: JOB_UNIT, fstab: FSTAB };

/** The files a built root image leaves in its cache folder. */
export const ROOT_FILES = { disk: 'root.img', kernel: 'vmlinuz', initrd: 'initrd.img' } as const;

/** Build the root disk, kernel and initramfs into `out` (an empty folder). */
export async function buildRootImage(out: string, log: (line: string) => void): Promise<void> {
  const root = path.join(out, 'rootfs');
  log(`debootstrap ${SUITE} (minbase, ${PACKAGES.length} packages and their dependencies)`);
  await sh('debootstrap', ['--variant=minbase', `--include=${PACKAGES.join(',')}`, SUITE, root, MIRROR], { quiet: true });
  log(`apt-get install ${EXTRA_PACKAGES.join(' ')} in the guest's root`);
  await sh('mount', ['-t', 'proc', 'proc', path.join(root, 'proc')]);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    await sh('chroot', [root, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...EXTRA_PACKAGES], { env, quiet: true });
    await sh('chroot', [root, 'apt-get', 'clean'], { env, quiet: true });
  } finally {
    await sh('umount', [path.join(root, 'proc')]);
  }
  await rm(path.join(root, 'var/lib/apt/lists'), { recursive: true, force: true });
  // trixie's apparmor ships ~100 profiles for desktop programs; loading them took ~55 s of an
  // emulated boot. Docker writes and loads its own docker-default profile, which still confines
  // every container (the abstractions and tunables it includes stay).
  const profiles = path.join(root, 'etc/apparmor.d');
  for (const entry of await readdir(profiles, { withFileTypes: true })) {
    if (entry.isFile()) await rm(path.join(profiles, entry.name));
  }
  await writeFile(path.join(root, 'usr/local/sbin/dnl-guest-job'), JOB_RUNNER, { mode: 0o755 });
  await writeFile(path.join(root, 'etc/systemd/system/dnl-guest-job.service'), JOB_UNIT);
  const wants = path.join(root, 'etc/systemd/system/multi-user.target.wants');
  await mkdir(wants, { recursive: true });
  await symlink('/etc/systemd/system/dnl-guest-job.service', path.join(wants, 'dnl-guest-job.service'));
  await writeFile(path.join(root, 'etc/fstab'), FSTAB);
  await writeFile(path.join(root, 'etc/hostname'), 'dnl-guest\n');
  await mkdir(path.join(root, 'var/lib/docker'), { recursive: true });
  // The kernel and initramfs boot with QEMU's -kernel/-initrd (no bootloader in the image).
  const boot = await readdir(path.join(root, 'boot'));
  const kernel = boot.find((f) => f.startsWith('vmlinuz-'));
  const initrd = boot.find((f) => f.startsWith('initrd.img-'));
  if (!kernel || !initrd) throw new Error(`The guest's /boot has no kernel and initramfs (found: ${boot.join(', ')}); linux-image-amd64 did not install.`);
  await copyFile(path.join(root, 'boot', kernel), path.join(out, ROOT_FILES.kernel));
  await copyFile(path.join(root, 'boot', initrd), path.join(out, ROOT_FILES.initrd));
  log(`mkfs.ext4 -d (a ${ROOT_SIZE} sparse disk from the root folder)`);
  await sh('mkfs.ext4', ['-q', '-F', '-L', 'dnl-guest', '-d', root, path.join(out, ROOT_FILES.disk), ROOT_SIZE], { quiet: true });
  await rm(root, { recursive: true, force: true });
}
