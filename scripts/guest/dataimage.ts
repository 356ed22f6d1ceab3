/**
 * The guest's Docker data disk: a /var/lib/docker that already holds the lab host image, made on
 * the machine and cached by that image's ID, so no run loads the image inside the guest.
 *
 * Why on the machine: `docker load` of the lab host image inside the emulated guest, over 9p,
 * took ~190 s (platform notes); a throwaway second dockerd on the machine (its own socket, data
 * root and exec root, no bridge, no firewall rules) loads it in ~15 s, and `mkfs.ext4 -d` turns
 * its data root into a disk in seconds. Engine 20.10 writes the same overlay2 layout Engine
 * 26.1.5 reads: the guest job checks the image is there before anything else.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { sh } from './cache.ts';

/** The data disk's size (sparse; lab hosts keep their own Docker data in tmpfs, so little is added at run time). */
const DATA_SIZE = '4G';
/** How long the throwaway dockerd may take to answer (~2 s on an idle machine). */
const DOCKERD_START_TIMEOUT_MS = 60_000;
export const DATA_FILE = 'data.img';

/** The ID of `image` on the machine's engine: the data disk's cache key. */
export async function imageId(image: string): Promise<string> {
  try {
    return (await sh('docker', ['image', 'inspect', '--format', '{{.Id}}', image], { quiet: true })).trim();
  } catch {
    throw new Error(`The lab host image ${image} is not on this machine's Docker Engine: build it first (node sandbox/src/images.ts --suite forky).`);
  }
}

/** Build `out`/data.img: a Docker data root holding `image` (the machine's `source`, tagged `image` in the guest). */
export async function buildDataImage(out: string, source: string, image: string, log: (line: string) => void): Promise<void> {
  const dataRoot = path.join(out, 'docker');
  // A short exec root: it holds unix sockets, whose paths may not exceed 108 bytes.
  const execRoot = `/run/dnl-guest-data-${process.pid}`;
  const socket = `unix://${execRoot}/docker.sock`;
  await mkdir(dataRoot);
  await mkdir(execRoot, { recursive: true });
  log(`loading ${source}${source === image ? '' : ` as ${image}`} into a throwaway dockerd (data root ${dataRoot})`);
  const dockerd = spawn('dockerd', ['--host', socket, '--data-root', dataRoot, '--exec-root', execRoot, '--pidfile', `${execRoot}/dockerd.pid`,
    '--bridge', 'none', '--iptables=false', '--storage-driver', 'overlay2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let daemonLog = '';
  dockerd.stdout.on('data', (d) => (daemonLog += d));
  dockerd.stderr.on('data', (d) => (daemonLog += d));
  const exited = new Promise<void>((resolve) => dockerd.once('exit', () => resolve()));
  try {
    const deadline = Date.now() + DOCKERD_START_TIMEOUT_MS;
    while (!(await sh('docker', ['-H', socket, 'info'], { quiet: true }).then(() => true, () => false))) {
      if (dockerd.exitCode !== null || Date.now() > deadline) throw new Error(`The throwaway dockerd for the guest's data disk did not start; its log ends:\n${daemonLog.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    await sh('sh', ['-c', 'docker save "$1" | docker -H "$2" load', 'sh', source, socket], { quiet: true });
    if (source !== image) await sh('docker', ['-H', socket, 'tag', source, image], { quiet: true });
  } finally {
    dockerd.kill('SIGTERM');
    await exited;
    await rm(execRoot, { recursive: true, force: true });
  }
  // The guest's engine makes its own default networks; this daemon's (no bridge) must not carry over.
  await rm(path.join(dataRoot, 'network'), { recursive: true, force: true });
  if (!existsSync(path.join(dataRoot, 'image/overlay2/repositories.json'))) throw new Error(`The throwaway dockerd left no overlay2 image store in ${dataRoot}.`);
  log(`mkfs.ext4 -d (a ${DATA_SIZE} sparse disk from the data root)`);
  await sh('mkfs.ext4', ['-q', '-F', '-L', 'dnl-docker', '-d', dataRoot, path.join(out, DATA_FILE), DATA_SIZE], { quiet: true });
  await rm(dataRoot, { recursive: true, force: true });
}
