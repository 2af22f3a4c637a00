/**
 * Snapshots a machine's record lists but libvirt no longer has: a test driver that
 * restarted forgets every domain and its snapshots, a host that lost a domain loses its
 * snapshot metadata with it, and someone may delete one with virsh. They are marked lost
 * rather than dropped, so a user who reverts to one learns why it cannot be done.
 */

/** The patch that marks runs checking snapshots on reconcile: older runs replay as they ran. */
export const snapshotsLostPatch = 'vm-snapshots-lost';

export interface LostSnapshot {
  name: string;
  /** When the loss was noticed (libvirt cannot say when it happened). */
  lostAt: string;
}

/** A machine's snapshots as its workflow keeps them. */
export interface SnapshotBook {
  snapshots: string[];
  lostSnapshots?: LostSnapshot[];
}

/** The recorded snapshots libvirt does not list, in the record's order. */
export function lostSnapshots(recorded: readonly string[], inLibvirt: readonly string[]): string[] {
  const present = new Set(inLibvirt);
  return recorded.filter((name) => !present.has(name));
}

/** The book once `marked` are lost: out of the snapshots, into the lost ones (a name lost again keeps one mark). */
export function markLost(book: SnapshotBook, marked: readonly LostSnapshot[]): Required<SnapshotBook> {
  const names = new Set(marked.map((l) => l.name));
  return {
    snapshots: book.snapshots.filter((n) => !names.has(n)),
    lostSnapshots: [...(book.lostSnapshots ?? []).filter((l) => !names.has(l.name)), ...marked],
  };
}

/** The book once a snapshot is taken: a new one under a lost one's name replaces it. */
export function taken(book: SnapshotBook, name: string): Required<SnapshotBook> {
  return {
    snapshots: book.snapshots.includes(name) ? book.snapshots : [...book.snapshots, name],
    lostSnapshots: (book.lostSnapshots ?? []).filter((l) => l.name !== name),
  };
}

/** The words of a drift report and an event: "snapshots lost: a, b (libvirt no longer has them)". */
export const describeLost = (names: readonly string[]): string =>
  `${names.length === 1 ? 'snapshot' : 'snapshots'} lost: ${names.join(', ')} (libvirt no longer has ${
    names.length === 1 ? 'it' : 'them'
  })`;
