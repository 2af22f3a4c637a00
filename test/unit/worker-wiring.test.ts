import type { Client } from '@temporalio/client';
import { mergeActivities } from '../../activities/merge';
import { loadConfig } from '../../lib/infra/config';
import { applySchedules } from '../../lib/infra/schedules';
import { createLogger } from '../../lib/infra/logger';
import type { Pool } from '../../lib/infra/db';
import type { Redis } from '../../lib/infra/redis';
import type { VmResources } from '../../activities/vm/resources';
import {
  hostedActivities,
  hostedSchedules,
  needsOf,
  processes,
  type ProcessName,
  type WorkerDeps,
} from '../../workers/processes';

const log = createLogger(loadConfig({ LOG_LEVEL: 'silent' }), 'test');
const orchestrator: ProcessName[] = ['self-check', 'cbb', 'batch-migration', 'rollout', 'vm', 'access'];
const settings = ['ACCESS_USAGE_FLUSH_EVERY', 'CBB_SWEEP_EVERY', 'VM_RECONCILE_EVERY', 'HMM_REFIT_EVERY'];

/** A client that records the Schedules created, as the server would hold them. */
function recordingClient(): { client: Client; created: string[] } {
  const created: string[] = [];
  const client = {
    schedule: {
      create: async (o: { scheduleId: string }) => {
        created.push(o.scheduleId);
      },
    },
  } as unknown as Client;
  return { client, created };
}

async function applied(env: Record<string, string>): Promise<string[]> {
  const config = loadConfig(env);
  const { client, created } = recordingClient();
  await applySchedules(client, hostedSchedules(orchestrator, config), log);
  await applySchedules(client, hostedSchedules(['hmm'], config), log);
  return created.sort();
}

test('every Schedule is declared with its own setting, and all are applied by default', async () => {
  const all = ['access', 'cbb', 'batch-migration', 'hmm', 'rollout', 'self-check', 'vm'] as ProcessName[];
  expect(
    hostedSchedules(all, loadConfig({}))
      .map((s) => s.setting)
      .sort(),
  ).toEqual([...settings].sort());
  expect(await applied({})).toEqual(['access-usage-flush', 'cbb-sweep', 'hmm-refit', 'vm-reconcile']);
});

test.each(settings)('%s=off leaves that Schedule alone and applies every other', async (setting) => {
  const all = await applied({});
  const without = await applied({ [setting]: 'off' });
  expect(without).toHaveLength(all.length - 1);
  const config = loadConfig({});
  const left = hostedSchedules([...orchestrator, 'hmm'], config).find((s) => s.setting === setting)!;
  expect(without).not.toContain(left.declare('1m').scheduleId);
});

test('a Schedule that cannot be applied does not keep the others from being applied', async () => {
  const created: string[] = [];
  const client = {
    schedule: {
      create: async (o: { scheduleId: string }) => {
        if (o.scheduleId === 'cbb-sweep') throw new Error('server said no');
        created.push(o.scheduleId);
      },
    },
  } as unknown as Client;
  await expect(applySchedules(client, hostedSchedules(orchestrator, loadConfig({})), log)).rejects.toThrow(
    /cbb-sweep \(server said no\)/,
  );
  expect(created.sort()).toEqual(['access-usage-flush', 'vm-reconcile']);
});

test('an activity name two factories both define is refused, naming both', () => {
  expect(() => mergeActivities({ a: { ping: () => 1 }, b: { pong: () => 2, ping: () => 3 } })).toThrow(
    'activity ping is defined by both a and b',
  );
  expect(Object.keys(mergeActivities({ a: { ping: () => 1 }, b: { pong: () => 2 } }))).toEqual(['ping', 'pong']);
});

describe('a worker opens only the connections its processes declare', () => {
  const base: WorkerDeps = {
    config: loadConfig({}),
    pool: {} as Pool,
    log,
    client: {} as Client,
    stopping: new AbortController().signal,
  };

  test('the hmm worker needs Redis and no libvirt; the orchestrator worker needs both', () => {
    expect([...needsOf(['hmm'])]).toEqual(['redis']);
    expect([...needsOf(orchestrator)].sort()).toEqual(['libvirt', 'redis']);
  });

  test.each(Object.keys(processes) as ProcessName[])('%s builds its activities with only what it declares', (name) => {
    const needs = needsOf([name]);
    const deps: WorkerDeps = {
      ...base,
      redis: needs.has('redis') ? ({} as Redis) : undefined,
      vm: needs.has('libvirt') ? ({ adapter: {} } as VmResources) : undefined,
    };
    expect(Object.keys(hostedActivities([name], deps)).length).toBeGreaterThan(1);
  });

  test('a process whose connection was not opened is refused, naming it', () => {
    expect(() => hostedActivities(['vm'], base)).toThrow('a hosted process needs libvirt, which it did not declare');
  });
});
