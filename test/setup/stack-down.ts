import { rmSync } from 'node:fs';
import { postgresDataDir } from '../../scripts/stack/postgres';
import { down, stackProcesses } from '../../scripts/stack/stack';
import { stackSettings } from '../../scripts/stack/parts';

/** Stops the test stack, and fails the run if any of its processes outlives `down`. */
export default async function stackDown(): Promise<void> {
  if (process.env.KEEP_TEST_STACK === '1') return;
  const s = stackSettings('test');
  await down(s);
  const left = stackProcesses(s);
  if (left.length > 0) {
    throw new Error(`stack down left processes running:\n${left.map((p) => `  ${p.pid} ${p.command}`).join('\n')}`);
  }
  // A test cluster kept outside the checkout (see scripts/stack/postgres.ts) is thrown away too.
  const pgDir = postgresDataDir(s);
  if (!pgDir.startsWith(s.dataDir)) rmSync(pgDir, { recursive: true, force: true });
}
