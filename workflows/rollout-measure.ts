import { condition, proxyActivities } from '@temporalio/workflow';
import type { RolloutActivities } from '../activities/rollout';
import type { CompactVerdict } from '../lib/rollout/contract';
import { durationMs } from '../lib/rollout/duration';
import type { MetricSpec } from '../lib/rollout/metric-spec';
import type { MetricVerdict } from '../lib/rollout/verdict';
import { failureMessage } from './failure';
import type { Run } from './rollout-run';

// A provider's failure is an answer, not an error; what retries here is the record's write.
const measurements = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '60s',
  retry: { initialInterval: '1s', maximumInterval: '10s', maximumAttempts: 5 },
});

export type AnalysisKind = 'step' | 'background';

/**
 * One measurement of a metric, stored with its verdict, and the clock of the next one: what
 * both analyses take, each deciding for itself what the verdicts mean.
 */
export function createMeasurer({ spec, machine, st }: Pick<Run, 'spec' | 'machine' | 'st'>) {
  async function measure(kind: AnalysisKind, metric: MetricSpec): Promise<MetricVerdict> {
    const seq = st.seq++;
    const at = Date.now();
    const baseline = machine.weight < 100 && st.appliedWeight < 100;
    let verdict: MetricVerdict;
    try {
      verdict = await measurements.measureRollout({
        rolloutId: st.rolloutId,
        seq,
        at,
        target: spec.target,
        metric,
        baseline,
        analysis: kind,
        stepIndex: machine.stepIndex,
        weight: st.appliedWeight,
        attempt: machine.snapshot().attempt,
      });
    } catch (err) {
      // Never a pass: a measurement that could not be made or stored counts as a provider error.
      verdict = {
        metric: metric.name,
        verdict: 'inconclusive',
        unjudged: 'error',
        reason: `${metric.name}: the measurement failed: ${failureMessage(err)}`,
        checks: [],
        dryRun: metric.dryRun,
      };
    }
    st.lastVerdicts.set(metric.name, verdict);
    st.nextDue[`${kind}:${metric.name}`] = at + durationMs(metric.interval);
    return verdict;
  }

  const compact = (v: MetricVerdict): CompactVerdict => ({
    verdict: v.verdict,
    reason: v.reason,
    ...(v.unjudged ? { unjudged: v.unjudged } : {}),
  });

  /** Waits until `key` is due or `stop` holds; true when due. */
  async function untilDue(key: string, stop: () => boolean): Promise<boolean> {
    const due = st.nextDue[key];
    if (due === undefined || due <= Date.now()) return !stop();
    return !(await condition(stop, due - Date.now())) && !stop();
  }

  return { measure, compact, untilDue };
}
