import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { load } from 'js-yaml';
import { appEnv, stackSettings } from '../../scripts/stack/parts';
import { logFile } from '../../scripts/stack/proc';
import { startApiProcess, startWorkerProcess, stopAppProcesses } from '../helpers/app-parts';
import { apiClient, eventually } from '../helpers/http';
import { promValue, scrape } from '../helpers/metrics-text';
import { projectRoot } from '../helpers/paths';

/**
 * One of the repository's alert rules firing in the stack's Prometheus, driven by the real
 * worker: a rollout aborted through the API counts on the worker's /metrics, Prometheus
 * scrapes it, and RolloutAborted fires with the abort's cause.
 */
const s = stackSettings('test');
const env = appEnv(s);
const api = apiClient(`http://127.0.0.1:${s.ports.api}`);
const prometheus = `http://127.0.0.1:${s.ports.prometheus}`;
const workerMetrics = `http://127.0.0.1:${s.ports.workerMetrics}/metrics`;
let connection: Connection;
let rolloutId: string | undefined;
let logFrom = 0;

beforeAll(async () => {
  connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  logFrom = statSync(logFile(s, 'worker'), { throwIfNoEntry: false })?.size ?? 0;
  await startWorkerProcess(new Client({ connection }), { LOG_LEVEL: 'info' });
  await startApiProcess();
}, 120_000);
afterAll(async () => {
  if (rolloutId) await api.post(`/api/v1/rollouts/${rolloutId}/abort`, { reason: 'test cleanup' });
  await stopAppProcesses('api', 'worker');
  await connection?.close();
});

interface PromAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  state: 'pending' | 'firing';
}
const alerts = async (): Promise<PromAlert[]> =>
  ((await (await fetch(`${prometheus}/api/v1/alerts`)).json()) as { data: { alerts: PromAlert[] } }).data.alerts;

test("the stack's Prometheus has loaded every alert rule in the repository", async () => {
  const file = join(projectRoot, 'prometheus', 'rules', 'alerts.yml');
  const doc = load(readFileSync(file, 'utf8')) as { groups: { rules: { alert: string }[] }[] };
  const shipped = doc.groups.flatMap((g) => g.rules.map((r) => r.alert)).sort();
  const res = (await (await fetch(`${prometheus}/api/v1/rules?type=alert`)).json()) as {
    data: { groups: { rules: { name: string }[] }[] };
  };
  expect(res.data.groups.flatMap((g) => g.rules.map((r) => r.name)).sort()).toEqual(shipped);
});

test('a rollout aborted through the API makes RolloutAborted fire with reason="manual"', async () => {
  const query = 'sum(rollout_aborts_total{reason="manual"})';
  const before = (await scrape(workerMetrics))('rollout_aborts_total', { reason: 'manual' });
  // Prometheus holds the count before the abort: increase() needs a sample from before it.
  await eventually(
    'Prometheus to hold the manual abort count before the abort',
    async () => ((await promValue(prometheus, query)) === before ? true : undefined),
    60_000,
  );
  expect((await alerts()).filter((a) => a.labels.alertname === 'RolloutAborted')).toEqual([]);

  const target = `alert-${Date.now().toString(36)}`;
  const started = await api.post('/api/v1/rollouts', {
    target,
    steps: [{ setWeight: 10 }, { pause: { untilApproved: true } }],
    backgroundAnalysis: null,
    rollbackWindow: '0s',
  });
  expect(started.status).toBe(201);
  rolloutId = started.body.id as string;
  await eventually(`${rolloutId} to wait for approval at weight 10`, async () => {
    const { status } = (await api.get(`/api/v1/rollouts/${rolloutId}`)).body;
    return status?.weight === 10 && status?.phase === 'waiting-for-approval' ? true : undefined;
  });
  const aborted = await api.post(`/api/v1/rollouts/${rolloutId}/abort`, { reason: 'the alert test aborts it' });
  expect(aborted.status).toBe(200);
  expect(aborted.body.weight).toBe(0);
  rolloutId = undefined;

  await eventually('the worker to count the abort', async () =>
    (await scrape(workerMetrics))('rollout_aborts_total', { reason: 'manual' }) === before + 1 ? true : undefined,
  );
  const firing = await eventually(
    'RolloutAborted to fire',
    async () =>
      (await alerts()).find(
        (a) => a.labels.alertname === 'RolloutAborted' && a.labels.reason === 'manual' && a.state === 'firing',
      ),
    90_000,
  );
  expect(firing.labels.severity).toBe('page');
  expect(firing.annotations.summary).toBe('A rollout was taken to weight 0 (manual)');

  // One log line per transition, each with the API request's correlation id.
  const lines = readFileSync(logFile(s, 'worker'), 'utf8')
    .slice(logFrom)
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l.msg === 'rollout transition' && l.target === target);
  expect(lines.map((l) => `${l.action}@${l.weight}`)).toEqual(['start@10', 'step@10', 'abort@0']);
  expect(lines.every((l) => typeof l.correlationId === 'string' && l.correlationId.length > 0)).toBe(true);
});
