import { down } from '../../scripts/stack/stack';
import { stackSettings } from '../../scripts/stack/settings';

export default async function stackDown(): Promise<void> {
  if (process.env.KEEP_TEST_STACK === '1') return;
  await down(stackSettings('test'));
}
