import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { recordHistory } from '../helpers/histories';
import { settled } from '../helpers/http';
import { projectRoot } from '../helpers/paths';
import type { z } from 'zod';
import { providerSpec } from '../../lib/rollout/metric-spec';
import { rolloutSpec, type RolloutSpecInput } from '../../lib/rollout/spec';
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
  const aborted = await settled(
    file.api,
    await file.api.post(
      `/api/v1/rollouts/${id}/abort`,
      { reason: 'checkout errors reported by support' },
      { 'x-requested-by': 'support-desk' },
    ),
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
  const refused = await settled(file.api, await file.api.post(`/api/v1/rollouts/${id}/abort`, { reason: 'again' }));
  expect(refused.status).toBe(409);
  expect(refused.body.detail).toMatch(
    /^abort refused: the rollout is already aborted by support-desk: checkout errors/,
  );

  expect((await settled(file.api, await file.api.post(`/api/v1/rollouts/${id}/retry`))).status).toBe(200);
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

test('a spec with a control character in its version, a query or a variant label is refused with 400 naming the field, and starts nothing', async () => {
  const target = `nul-${run}`;
  const base = spec(target);
  const metric = base.templates![0].metrics[0];
  const withQuery = (provider: z.input<typeof providerSpec>): RolloutSpecInput => ({
    ...base,
    templates: [{ ...base.templates![0], metrics: [{ ...metric, provider }] }],
  });
  const cases: [string, RolloutSpecInput][] = [
    ['version', { ...base, version: '2.4.0\u0000' }],
    ['templates.0.metrics.0.provider.query', withQuery({ type: 'prometheus', query: 'up{v="{{variant}}"}\u0000' })],
    [
      'templates.0.metrics.0.provider.variantLabels.canary',
      withQuery({
        type: 'prometheus',
        query: 'up{v="{{variant}}"}',
        variantLabels: { canary: 'can\u001bary', baseline: 'stable' },
      }),
    ],
  ];
  for (const [field, body] of cases) {
    const res = await file.api.post('/api/v1/rollouts', body);
    expect({ field, status: res.status }).toEqual({ field, status: 400 });
    expect(res.body.errors).toEqual([{ field, message: expect.stringMatching(/must not contain control characters/) }]);
  }
  expect((await file.api.get(`/api/v1/rollouts/rollout-${target}`)).status).toBe(404);
  // Tab and newlines are ordinary text in a query, and stay allowed.
  expect(
    rolloutSpec.safeParse(withQuery({ type: 'prometheus', query: 'sum(\n\trate(up{v="{{variant}}"}[1m]))' })).success,
  ).toBe(true);
});
