import { writeFileSync } from 'node:fs';

/**
 * Writes an empty qcow2 (version 2) image, laid out as `qemu-img create -f qcow2` lays
 * it out, for a guest disk that can hold internal snapshots where qemu-utils is not
 * installed: the header in cluster 0, the refcount table in cluster 1, its one refcount
 * block in cluster 2 and the L1 table in cluster 3, each of those clusters counted once.
 */
export function writeEmptyQcow2(path: string, sizeBytes: number): void {
  const clusterBits = 16;
  const cluster = 1 << clusterBits;
  const l2Entries = cluster / 8;
  const l1Size = Math.max(1, Math.ceil(sizeBytes / (cluster * l2Entries)));
  if (l1Size * 8 > cluster) throw new Error(`a ${sizeBytes}-byte image needs more than one cluster of L1 table`);
  const image = Buffer.alloc(4 * cluster);
  image.write('QFI\xfb', 0, 'latin1');
  image.writeUInt32BE(2, 4); // version
  image.writeBigUInt64BE(0n, 8); // no backing file
  image.writeUInt32BE(0, 16);
  image.writeUInt32BE(clusterBits, 20);
  image.writeBigUInt64BE(BigInt(sizeBytes), 24);
  image.writeUInt32BE(0, 32); // no encryption
  image.writeUInt32BE(l1Size, 36);
  image.writeBigUInt64BE(BigInt(3 * cluster), 40); // L1 table
  image.writeBigUInt64BE(BigInt(cluster), 48); // refcount table
  image.writeUInt32BE(1, 56); // refcount table clusters
  image.writeUInt32BE(0, 60); // snapshots
  image.writeBigUInt64BE(0n, 64);
  image.writeBigUInt64BE(BigInt(2 * cluster), cluster); // refcount table → block
  for (let i = 0; i < 4; i++) image.writeUInt16BE(1, 2 * cluster + 2 * i); // 16-bit refcounts
  writeFileSync(path, image, { mode: 0o644 });
}
