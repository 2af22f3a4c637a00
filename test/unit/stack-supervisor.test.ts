import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { StackSettings } from '../../scripts/stack/settings';
import { createSupervisor } from '../../scripts/stack/supervisor';
import { readSupervisorState } from '../../scripts/stack/supervisor-state';

/** The supervisor's decisions on pid files and a clock of the test's: who it restarts, when, and who not. */
const deadPid = 4_194_303; // pid_max's ceiling: no process has it
let dir: string;
let s: StackSettings;
let clock: number;
let started: string[];
let failNext: boolean;

function supervisor(parts = ['worker']) {
  return createSupervisor(s, {
    parts,
    log: pino({ level: 'silent' }),
    now: () => clock,
    start: async (name) => {
      started.push(name);
      if (failNext) {
        failNext = false;
        throw new Error('worker exited during start-up\nits log: ...');
      }
      writeFileSync(join(dir, `${name}.pid`), `${process.pid}\n`);
    },
  });
}
const died = (name = 'worker') => writeFileSync(join(dir, `${name}.pid`), `${deadPid}\n`);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'supervisor-'));
  s = { runDir: dir } as StackSettings;
  clock = 1_000_000;
  started = [];
  failNext = false;
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a part that died is restarted once its backoff is over, and the restart is counted', async () => {
  const sup = supervisor();
  died();
  await sup.tick();
  expect(started).toEqual([]);
  clock += 999;
  await sup.tick();
  expect(started).toEqual([]);
  clock += 1;
  await sup.tick();
  expect(started).toEqual(['worker']);
  expect(readSupervisorState(s).worker).toMatchObject({ restarts: 1 });
  await sup.tick();
  expect(started).toEqual(['worker']);
});

test('a part without a pid file, or one being stopped, is left alone', async () => {
  const sup = supervisor(['worker', 'api']);
  died('api');
  writeFileSync(join(dir, 'api.stopping'), `${deadPid}\n`);
  clock += 120_000;
  await sup.tick();
  clock += 120_000;
  await sup.tick();
  expect(started).toEqual([]);
  expect(existsSync(join(dir, 'supervisor.json'))).toBe(false);
});

test('the backoff doubles while the part keeps dying, up to 30 s, and starts over after a stable minute', async () => {
  const sup = supervisor();
  const waits: number[] = [];
  for (let i = 0; i < 7; i++) {
    died();
    await sup.tick();
    const before = started.length;
    let waited = 0;
    while (started.length === before) {
      clock += 500;
      waited += 500;
      await sup.tick();
    }
    waits.push(waited);
  }
  expect(waits).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  clock += 60_000;
  await sup.tick();
  died();
  await sup.tick();
  clock += 1000;
  await sup.tick();
  expect(started).toHaveLength(8);
  expect(readSupervisorState(s).worker.restarts).toBe(8);
});

test('a restart that fails is recorded with its first line and tried again after a longer wait', async () => {
  const sup = supervisor();
  failNext = true;
  died();
  await sup.tick();
  clock += 1000;
  await sup.tick();
  expect(readSupervisorState(s).worker).toMatchObject({ restarts: 1, lastError: 'worker exited during start-up' });
  clock += 1999;
  await sup.tick();
  expect(started).toHaveLength(1);
  clock += 1;
  await sup.tick();
  expect(started).toHaveLength(2);
  expect(readSupervisorState(s).worker.lastError).toBeUndefined();
});
