import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { duration, durationMs, every, invalid, optional } from './shared';

/** The VM backend: libvirt, its connection pool, and the machines' lifecycle. */
export const vmEnv = z.object({
  // The local stack's libvirtd (test driver) by default; qemu:///system or qemu+ssh://host/system in production.
  LIBVIRT_URI: optional,
  DATA_DIR: optional,
  // What a machine's domain XML says it is: `test` for the test driver, `kvm` where /dev/kvm works, `qemu` (TCG) otherwise.
  LIBVIRT_DOMAIN_TYPE: z.enum(['test', 'qemu', 'kvm']).optional(),
  // The VM backend's pool: 2 to 10 connections, 30 s to wait for one, idle ones beyond the minimum closed after 60 s.
  LIBVIRT_POOL_MIN: z.coerce.number().int().min(0).max(100).default(2),
  LIBVIRT_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  LIBVIRT_ACQUIRE_TIMEOUT: duration.default('30s'),
  LIBVIRT_IDLE_TIMEOUT: duration.default('60s'),
  LIBVIRT_VIRSH_TIMEOUT: duration.default('60s'),
  // How long a guest gets to power off after the ACPI request before it is destroyed.
  VM_SHUTDOWN_TIMEOUT: duration.default('60s'),
  VM_RECONCILE_EVERY: every.default('1m'),
});

export interface VmConfig {
  libvirt: {
    uri: string;
    domainType: 'test' | 'qemu' | 'kvm';
    pool: { min: number; max: number; acquireTimeoutMs: number; idleTimeoutMs: number };
    virshTimeoutMs: number;
  };
  vm: { shutdownTimeoutMs: number; reconcileEvery: string };
}

/** The project's root, from sources (lib/infra/config) and compiled code (dist/lib/infra/config) alike. */
const projectRoot = (): string => {
  const up = resolve(__dirname, '..', '..', '..');
  return basename(up) === 'dist' ? resolve(up, '..') : up;
};

/** The socket of the libvirtd that `npm run up` starts (scripts/stack/libvirtd.ts puts it there). */
export const localLibvirtUri = (dataDir?: string): string =>
  `test+unix:///default?socket=${join(resolve(projectRoot(), dataDir ?? '.data'), 'libvirt', 'libvirt-sock')}`;

export function vmConfig(e: z.infer<typeof vmEnv>): VmConfig {
  const uri = e.LIBVIRT_URI ?? localLibvirtUri(e.DATA_DIR);
  if (e.LIBVIRT_POOL_MIN > e.LIBVIRT_POOL_MAX) {
    throw invalid('LIBVIRT_POOL_MIN', `at most LIBVIRT_POOL_MAX (${e.LIBVIRT_POOL_MAX})`, String(e.LIBVIRT_POOL_MIN));
  }
  return {
    libvirt: {
      uri,
      // The test driver only knows domains of type `test`; a real hypervisor is asked for KVM unless told otherwise.
      domainType: e.LIBVIRT_DOMAIN_TYPE ?? (uri.startsWith('test') ? 'test' : 'kvm'),
      pool: {
        min: e.LIBVIRT_POOL_MIN,
        max: e.LIBVIRT_POOL_MAX,
        acquireTimeoutMs: durationMs(e.LIBVIRT_ACQUIRE_TIMEOUT),
        idleTimeoutMs: durationMs(e.LIBVIRT_IDLE_TIMEOUT),
      },
      virshTimeoutMs: durationMs(e.LIBVIRT_VIRSH_TIMEOUT),
    },
    vm: { shutdownTimeoutMs: durationMs(e.VM_SHUTDOWN_TIMEOUT), reconcileEvery: e.VM_RECONCILE_EVERY },
  };
}
