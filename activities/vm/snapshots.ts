import type { ObservedState } from '../../lib/vm/states';
import type { Virsh } from './virsh';

/**
 * Snapshots, which the binding lacks, through virsh. Creating one that exists and
 * deleting one that is gone succeed, so that a retried activity does not fail on its
 * own earlier success.
 */
export function createSnapshotOperations(virsh: Virsh, state: (name: string) => Promise<ObservedState>) {
  async function listSnapshots(name: string): Promise<string[]> {
    const out = await virsh.run('list snapshots', name, ['snapshot-list', '--domain', name, '--name']);
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
  }

  return {
    listSnapshots,

    async createSnapshot(name: string, snapshot: string, description?: string): Promise<void> {
      if ((await listSnapshots(name)).includes(snapshot)) return;
      const args = ['snapshot-create-as', '--domain', name, '--name', snapshot];
      if (description) args.push('--description', description);
      await virsh.run('snapshot', name, args);
    },

    async revertSnapshot(name: string, snapshot: string): Promise<ObservedState> {
      await virsh.run('revert', name, ['snapshot-revert', '--domain', name, '--snapshotname', snapshot]);
      return state(name);
    },

    async deleteSnapshot(name: string, snapshot: string): Promise<void> {
      if (!(await listSnapshots(name)).includes(snapshot)) return;
      await virsh.run('delete snapshot', name, ['snapshot-delete', '--domain', name, '--snapshotname', snapshot]);
    },
  };
}
