import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../scripts/stack/settings';
import { testLibvirtd } from '../helpers/libvirtd';

/**
 * Forced-GC stress of the adapter. jest cannot expose `gc` to a test, so the stress runs
 * in a child `node --expose-gc --import tsx` (tsx compiles the TypeScript fixture on
 * load) and this test reads its exit: a Domain collected while a call on it is in flight
 * ends that child with "invalid domain pointer" or a segmentation fault.
 */

let lv: Awaited<ReturnType<typeof testLibvirtd>>;

beforeAll(async () => {
  lv = await testLibvirtd();
});

afterAll(async () => {
  await lv?.release();
});

function stress(
  rounds: number,
  ...flags: string[]
): Promise<{ code: number | null; signal: string | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        join(projectRoot, 'test', 'fixtures', 'vm-gc-stress.ts'),
        lv.uri,
        String(rounds),
        ...flags,
      ],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal, out }));
  });
}

describe('adapter under forced garbage collection', () => {
  it('survives 2,000 calls with a full collection on every event-loop turn', async () => {
    const run = await stress(400);
    expect({ code: run.code, signal: run.signal }).toEqual({ code: 0, signal: null });
    expect(JSON.parse(run.out.trim().split('\n').pop()!)).toMatchObject({ calls: 2000, rounds: 400 });
  }, 300_000);
});
