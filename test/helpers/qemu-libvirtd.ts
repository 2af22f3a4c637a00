import { projectRoot } from '../../scripts/stack/settings';
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { logFile, runningPid, spawnDetached, stopProcess, waitFor } from '../../scripts/stack/proc';
import type { StackSettings } from '../../scripts/stack/settings';
import { writeEmptyQcow2 } from './qcow2';

/**
 * A libvirtd with the QEMU driver for the real-guest test, run in session mode as the
 * unprivileged user `nobody`: a privileged daemon would run QEMU as the `libvirt-qemu`
 * user that Debian's libvirt-daemon-system creates (absent here), and reads its settings
 * from /etc. In session mode every path (socket, config, logs) lives under one folder
 * of the test stack, and root's tests reach it through the socket.
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
  // The daemon runs as nobody and reads its config under the checkout: a checkout in a
  // private folder (a home or a mktemp directory) is out of its reach.
  else if (userId('nobody') && !nobodyCanReach(projectRoot))
    missing.push(`a checkout that the user nobody can reach (${projectRoot} is not)`);
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

export async function startGuestLab(s: StackSettings): Promise<GuestLab> {
  const owner = userId('nobody')!;
  const dir = join(s.dataDir, 'qemu-libvirtd');
  const p = {
    home: join(dir, 'home'),
    run: join(dir, 'run'),
    config: join(dir, 'config'),
    cache: join(dir, 'cache'),
    drivers: join(dir, 'drivers'),
    images: join(dir, 'images'),
  };
  await stopProcess(s, name);
  rmSync(dir, { recursive: true, force: true });
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
    stop: async () => void (await stopProcess(s, name, { graceMs: 10_000 })),
  };
}
