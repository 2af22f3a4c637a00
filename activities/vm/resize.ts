import { vmError } from '../../lib/vm/errors';
import type { DomainStatus } from './domain-status';
import type { Virsh } from './virsh';

const kib = (mib: number) => String(mib * 1024);

/**
 * Memory and vCPUs, through virsh (the binding can set neither). A
 * running domain changes live and in its definition, so the size outlives a restart; a
 * domain at rest changes in its definition only. Setting a size it has already is a no-op
 * for libvirt, so a retry is safe.
 */
export function createResizeOperations(
  virsh: Virsh,
  status: (operation: string, name: string) => Promise<DomainStatus>,
) {
  async function maxVcpus(name: string): Promise<number> {
    const out = await virsh.run('resize', name, ['vcpucount', '--domain', name, '--maximum', '--config']);
    return Number(out.trim());
  }

  return {
    async setMemory(name: string, memoryMiB: number): Promise<void> {
      const s = await status('resize', name);
      if (s.state === 'shutoff') {
        // At rest the definition changes: the maximum grows first, so any size up to the template's limit fits.
        if (memoryMiB > s.maxMemoryMiB)
          await virsh.run('resize', name, ['setmaxmem', name, kib(memoryMiB), '--config']);
        await virsh.run('resize', name, ['setmem', name, kib(memoryMiB), '--config']);
        return;
      }
      if (memoryMiB > s.maxMemoryMiB) {
        throw vmError(
          'RESOURCE_CONFLICT',
          `${JSON.stringify(name)} can grow to ${s.maxMemoryMiB} MiB while running; shut it down to give it ${memoryMiB} MiB`,
        );
      }
      // Live and definition apart: some drivers (the test driver) refuse both flags in one call.
      await virsh.run('resize', name, ['setmem', name, kib(memoryMiB), '--live']);
      await virsh.run('resize', name, ['setmem', name, kib(memoryMiB), '--config']);
    },

    async setVcpus(name: string, vcpus: number): Promise<void> {
      const s = await status('resize', name);
      if (s.state === 'shutoff') {
        const max = await maxVcpus(name);
        if (vcpus > max) await virsh.run('resize', name, ['setvcpus', name, String(vcpus), '--config', '--maximum']);
        await virsh.run('resize', name, ['setvcpus', name, String(vcpus), '--config']);
        return;
      }
      await virsh.run('resize', name, ['setvcpus', name, String(vcpus), '--live']);
      await virsh.run('resize', name, ['setvcpus', name, String(vcpus), '--config']);
    },
  };
}
