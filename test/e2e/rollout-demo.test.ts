import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { startApiProcess, startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';

/**
 * `npm run demo:rollout`, as the README and docs/rollout.md promise it: HAProxy in front of
 * two demo services, judged on the stack's Prometheus, through the real worker and API. The
 * healthy run ends promoted at weight 100; `--bad errors` ends aborted at weight 0 and
 * prints the incident naming the metric. The worker and the API are this file's (the
 * demo reuses running parts), so the sweep Schedule stays paused and both stop with it.
 */
const root = resolve(__dirname, '../..');
let connection: Connection;

beforeAll(async () => {
  connection = await Connection.connect({ address: appEnv(stackSettings('test')).TEMPORAL_ADDRESS });
  await startWorkerProcess(new Client({ connection }));
  await startApiProcess();
}, 180_000);

afterAll(async () => {
  await stopAppProcesses('api', 'worker');
  await connection.close();
});

function demo(...args: string[]): Promise<{ code: number | null; lines: string[] }> {
  return new Promise((done) => {
    const child = spawn('npx', ['tsx', 'scripts/rollout/demo.ts', '--test-stack', '--no-build', ...args], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => done({ code, lines: output.trim().split('\n') }));
  });
}

/** Fails with the demo's last lines, which say where it stopped. */
function expectEnd({ code, lines }: { code: number | null; lines: string[] }, last: RegExp): void {
  if (code !== 0 || !last.test(lines.at(-1) ?? '')) {
    throw new Error(`the demo exited with ${code}, ending:\n${lines.slice(-30).join('\n')}`);
  }
}

test('the healthy demo ends promoted at weight 100', async () => {
  expectEnd(await demo(), /^rollout rollout-demo-\S+: promoted at weight 100$/);
}, 600_000);

test('--bad errors ends aborted at weight 0, printing the incident that names the error rate', async () => {
  const run = await demo('--bad', 'errors');
  expectEnd(run, /^rollout rollout-demo-\S+: aborted at weight 0$/);
  expect(run.lines.join('\n')).toMatch(
    /incident \(rollback, from weight \d+ %\): aborted by the background analysis: error-rate/,
  );
}, 600_000);
