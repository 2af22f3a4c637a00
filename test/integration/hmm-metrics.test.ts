import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger, type LogEntry } from '@temporalio/worker';
import { createHmmActivities } from '../../activities/hmm';
import { createHmmMetrics } from '../../activities/hmm/metrics';
import { syntheticBars } from '../../lib/hmm';
import { defaultAnalysisParams, type FitSummary, type SeriesRef } from '../../lib/hmm/contract';
import { importBars } from '../../store/hmm/bars';
import { fakeMeter } from '../helpers/fake-meter';
import { connectStack, type StackHandles } from '../helpers/stack';

/** The fit activity counts each fit by outcome, with its duration, and logs one line per fit done, on real bars. */
const symbol = `HM${Date.now().toString(36).toUpperCase()}`;
let stack: StackHandles;
beforeAll(async () => {
  stack = await connectStack();
  await importBars(stack.pool, symbol, syntheticBars({ n: 1500, seed: 5 }).bars);
});
afterAll(() => stack?.close());

test('a finished fit counts as converged or not, as it ended, and logs one line; a cancelled one counts as cancelled', async () => {
  const f = fakeMeter();
  const acts = createHmmActivities({ ...stack.deps, metrics: createHmmMetrics(f.meter) });
  const lines: LogEntry[] = [];
  const env = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('INFO', (e) => lines.push(e)) });
  const params = defaultAnalysisParams(symbol);
  const ref = (await env().run(acts.loadBars, params)) as SeriesRef;

  const fit = (await env().run(acts.fitModel, params, ref)) as FitSummary;
  const outcome = fit.converged ? 'converged' : 'not_converged';
  expect(f.total('hmm_fits_total', { engine: 'local', outcome })).toBe(1);
  expect(f.instruments.get('hmm_fit_duration_seconds')?.values.get('{"engine":"local"}')).toHaveLength(1);
  const done = lines.filter((l) => l.message === 'hmm fit done');
  expect(done.map((l) => l.meta)).toEqual([
    expect.objectContaining({ symbol, engine: 'local', converged: fit.converged, iterations: fit.iterations }),
  ]);

  const cancelling = env();
  const cancelled = cancelling.run(acts.fitModel, params, ref);
  cancelling.cancel();
  await expect(cancelled).rejects.toThrow();
  expect(f.total('hmm_fits_total', { engine: 'local', outcome: 'cancelled' })).toBe(1);
  expect(lines.filter((l) => l.message === 'hmm fit done')).toHaveLength(1);
});
