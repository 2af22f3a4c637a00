import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logFile, runningPid, spawnDetached, stopProcess, waitFor } from '../../scripts/stack/proc';
import type { StackSettings } from '../../scripts/stack/settings';
import { writeEmptyQcow2 } from './qcow2';

/**
 * A libvirtd with the QEMU driver for the real-guest test, run in session mode as the
 * unprivileged user `nobody`: a privileged daemon would run QEMU as the `libvirt-qemu`
 * user that Debian's libvirt-daemon-system creates (absent here), and reads its settings
 * from /etc. In session mode every path the daemon and QEMU touch (socket, config, disk,
 * kernel and initrd, logs) lives in one temporary folder of the lab's own, owned by
 * nobody, and root's tests reach it through the socket. Not under the checkout: a
 * checkout in a private folder (a home, a mktemp directory) is out of nobody's reach, and
 * a deep one would make the socket's path too long for a unix socket (108 bytes).
 */

const driver = '/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so';
const name = 'libvirtd-qemu';

const has = (command: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** What the real-guest test lacks on this machine, in words; undefined when it can run. */
export function missingForGuest(): string | undefined {
  const missing: string[] = [];
  if (!has('qemu-system-x86_64')) missing.push('qemu-system-x86_64 (Debian qemu-system-x86)');
  if (!has('libvirtd') || !existsSync(driver)) missing.push("libvirtd's QEMU driver (Debian libvirt-daemon)");
  if (!existsSync('/bin/busybox')) missing.push('/bin/busybox (Debian busybox-static)');
  if (!has('cpio')) missing.push('cpio (Debian cpio)');
  if (!existsSync('/boot') || !readdirSync('/boot').some((f) => f.startsWith('vmlinuz-')))
    missing.push('a kernel in /boot (Debian linux-image-amd64)');
  if (!has('id') || !userId('nobody')) missing.push('the user nobody');
  if (process.getuid?.() !== 0) missing.push('root (to start the daemon as nobody)');
  return missing.length ? missing.join(', ') : undefined;
}

function nobodyCanReach(dir: string): boolean {
  try {
    execFileSync('runuser', ['-u', 'nobody', '--', 'test', '-x', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function userId(user: string): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return undefined;
  }
}

export interface GuestLab {
  uri: string;
  kernel: string;
  initrd: string;
  /** A fresh empty qcow2 disk (internal snapshots need one) and a console log path, per guest. */
  disk(guest: string): string;
  consoleLog(guest: string): string;
  stop(): Promise<void>;
}

/**
 * The lab's folders are named after the stack whose pid file tracks the daemon, so a start
 * clears what a killed run of the same stack left, and never another stack's running lab.
 */
const labPrefix = (s: StackSettings) =>
  `vm-guest-lab-${createHash('sha256').update(s.dataDir).digest('hex').slice(0, 12)}-`;

function labFolder(s: StackSettings, owner: { uid: number; gid: number }): string {
  const base = tmpdir();
  if (!nobodyCanReach(base)) {
    throw new Error(
      `the real-guest lab needs a temporary folder that the user nobody can enter; ${base} is not one (set TMPDIR to one, /tmp is)`,
    );
  }
  for (const stale of readdirSync(base).filter((f) => f.startsWith(labPrefix(s)))) {
    rmSync(join(base, stale), { recursive: true, force: true });
  }
  // mkdtemp makes it 0700: handed to nobody, only nobody (and root) can enter it.
  const dir = mkdtempSync(join(base, labPrefix(s)));
  chownSync(dir, owner.uid, owner.gid);
  chmodSync(dir, 0o700);
  return dir;
}

export async function startGuestLab(s: StackSettings): Promise<GuestLab> {
  const owner = userId('nobody')!;
  // A daemon a killed run left behind goes before its folder does.
  await stopProcess(s, name);
  const dir = labFolder(s, owner);
  try {
    return await startIn(s, dir, owner);
  } catch (err) {
    await stopProcess(s, name);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

async function startIn(s: StackSettings, dir: string, owner: { uid: number; gid: number }): Promise<GuestLab> {
  const p = {
    home: join(dir, 'home'),
    run: join(dir, 'run'),
    config: join(dir, 'config'),
    cache: join(dir, 'cache'),
    drivers: join(dir, 'drivers'),
    images: join(dir, 'images'),
  };
  for (const d of Object.values(p)) mkdirSync(d, { recursive: true });
  mkdirSync(join(p.config, 'libvirt'), { recursive: true });
  // Only the QEMU driver: no network or storage drivers to start, nothing else to touch.
  symlinkSync(driver, join(p.drivers, 'libvirt_driver_qemu.so'));
  // QEMU writes its own logs: no virtlogd to start beside it.
  writeFileSync(join(p.config, 'libvirt', 'qemu.conf'), 'stdio_handler = "file"\n');
  execFileSync('bash', [join(s.root, 'scripts', 'vm', 'build-guest.sh'), p.images], { stdio: 'ignore' });
  const chown = (path: string) => {
    chownSync(path, owner.uid, owner.gid);
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) chown(child);
      else if (!entry.isSymbolicLink()) chownSync(child, owner.uid, owner.gid);
    }
  };
  chown(dir);
  spawnDetached(s, {
    name,
    command: 'libvirtd',
    args: [],
    // Not the checkout, which nobody may not be able to enter.
    cwd: p.home,
    uid: owner.uid,
    gid: owner.gid,
    env: {
      PATH: process.env.PATH,
      HOME: p.home,
      XDG_RUNTIME_DIR: p.run,
      XDG_CONFIG_HOME: p.config,
      XDG_CACHE_HOME: p.cache,
      LIBVIRT_DRIVER_DIR: p.drivers,
      LANG: 'C.UTF-8',
    },
  });
  const uri = `qemu+unix:///session?socket=${join(p.run, 'libvirt', 'libvirt-sock')}`;
  await waitFor(
    name,
    async () => {
      execFileSync('virsh', ['-c', uri, 'uri'], { stdio: 'ignore', timeout: 5_000 });
      return true;
    },
    { pid: () => runningPid(s, name), log: logFile(s, name), timeoutMs: 30_000 },
  );
  return {
    uri,
    kernel: join(p.images, 'vmlinuz'),
    initrd: join(p.images, 'initrd.img'),
    disk(guest) {
      const path = join(p.images, `${guest}.qcow2`);
      writeEmptyQcow2(path, 64 * 1024 * 1024);
      chownSync(path, owner.uid, owner.gid);
      return path;
    },
    consoleLog: (guest) => join(p.cache, `${guest}.console`),
    async stop() {
      await stopProcess(s, name, { graceMs: 10_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
