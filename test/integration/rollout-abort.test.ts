import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { recordHistory } from '../helpers/histories';
import { projectRoot } from '../helpers/paths';
import { rolloutTestFile } from '../helpers/rollout-live';

/**
 * An operator's abort of canaryRollout with the real activities, through the API and through
 * the Temporal CLI, each taking HAProxy's weight to 0 in one step (test/helpers/rollout-live.ts).
 */
const file = rolloutTestFile();
const { run, haproxyWeight, spec, startRollout, statusOf, until, callsFor } = file;

/** `temporal workflow update execute` of one update with its inputs (JSON), as an operator types it. */
const updateByCli = (id: string, update: string, ...inputs: string[]) =>
  promisify(execFile)(join(projectRoot, '.venv', 'bin', 'temporal'), [
    ...['workflow', 'update', 'execute', '--workflow-id', id, '--name', update, '--output', 'json'],
    ...inputs.flatMap((input) => ['--input', input]),
    ...['--address', file.stack.config.temporal.address],
  ]);

test('abort through the API and through the Temporal CLI each take the weight to 0 in one step', async () => {
  const target = `abort-${run}`;
  const id = await startRollout(spec(target));
  await until(id, 'paused at 50 %', (st) => st.phase === 'paused' && st.weight === 50);
  const before = callsFor(target).length;
  // A NUL byte cannot be stored with the abort's records: refused at the door, the rollout untouched.
  const bad = await file.api.post(`/api/v1/rollouts/${id}/abort`, { reason: 'errors\u0000up' });
  expect(bad.status).toBe(400);
  expect(JSON.stringify(bad.body)).toMatch(/reason.*must not contain control characters/);
  expect(await statusOf(id)).toMatchObject({ phase: 'paused', weight: 50 });
  const aborted = await file.api.post(
    `/api/v1/rollouts/${id}/abort`,
    { reason: 'checkout errors reported by support' },
    { 'x-requested-by': 'support-desk' },
  );
  expect(aborted.status).toBe(200);
  expect(aborted.body).toMatchObject({
    phase: 'aborted',
    weight: 0,
    reason: 'checkout errors reported by support',
    abortedBy: 'support-desk',
  });
  expect(await haproxyWeight()).toBe(0);
  expect(callsFor(target).slice(before)).toEqual([0]);
  const refused = await file.api.post(`/api/v1/rollouts/${id}/abort`, { reason: 'again' });
  expect(refused.status).toBe(409);
  expect(refused.body.detail).toMatch(
    /^abort refused: the rollout is already aborted by support-desk: checkout errors/,
  );

  expect((await file.api.post(`/api/v1/rollouts/${id}/retry`)).status).toBe(200);
  await until(id, 'paused at 50 % again', (st) => st.attempt === 2 && st.phase === 'paused' && st.weight === 50);
  const beforeCli = callsFor(target).length;
  const cli = await updateByCli(id, 'abort', '"p95 regressed (from the CLI)"', '"carol"');
  expect(JSON.parse(cli.stdout)).toMatchObject({ name: 'abort', result: { phase: 'aborted', weight: 0 } });
  expect(await haproxyWeight()).toBe(0);
  expect(callsFor(target).slice(beforeCli)).toEqual([0]);
  expect(await statusOf(id)).toMatchObject({
    phase: 'aborted',
    weight: 0,
    reason: 'p95 regressed (from the CLI)',
    abortedBy: 'carol',
    attempt: 2,
  });
  const cliRefused = await updateByCli(id, 'approve').catch((err: { stderr: string }) => err);
  expect((cliRefused as { stderr: string }).stderr).toContain('approve refused: approve applies only at a manual gate');

  const { body } = await file.api.get(`/api/v1/rollouts/${id}`);
  const aborts = body.transitions.filter((t: { action: string }) => t.action === 'abort');
  expect(aborts.map((t: { fromPhase: string; weight: number }) => [t.fromPhase, t.weight])).toEqual([
    ['paused', 0],
    ['paused', 0],
  ]);
  expect(body.incidents.map((i: { kind: string; weightBefore: number }) => [i.kind, i.weightBefore])).toEqual([
    ['abort', 50],
    ['abort', 50],
  ]);
  expect(body.incidents.map((i: { reason: string }) => i.reason)).toEqual([
    'aborted by support-desk: checkout errors reported by support',
    'aborted by carol: p95 regressed (from the CLI)',
  ]);
  await recordHistory(file.stack.client.workflow.getHandle(id), 'aborted-api-and-cli');
}, 180_000);
