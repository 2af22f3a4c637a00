import { proxyActivities } from '@temporalio/workflow';
import type { RolloutActivities } from '../activities/rollout';
import { retryWindowMs } from '../lib/rollout/contract';
import { durationMs } from '../lib/rollout/duration';
import type { Transition } from '../lib/rollout/phases';
import type { MetricRunSummary } from '../lib/rollout/analysis-run';
import type { AbortCause, Run } from './rollout-run';

export const records = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumInterval: '30s' },
});

/**
 * The one way a transition the machine just made is applied: clocks and words at once
 * (before any await, so that a pause's time starts when it is entered), then the weight,
 * then the records, with an incident naming the failing metrics when it aborts.
 */
export function createTransition(
  { spec, machine, st }: Pick<Run, 'spec' | 'machine' | 'st'>,
  parts: { blockingNow: () => MetricRunSummary[]; publish: () => void; syncWeight: () => Promise<void> },
): Run['transition'] {
  const startWaiting = (ms: number) => {
    st.waitingUntil = Date.now() + ms;
    st.waitingRevision = machine.revision;
  };
  return async (t: Transition | undefined, abortCause?: AbortCause, sync = true) => {
    if (!t) return;
    const seq = st.seq++;
    const at = Date.now();
    st.updatedAt = at;
    const s = machine.snapshot();
    const weightBefore = st.appliedWeight;
    if (s.pause?.kind === 'timed') startWaiting(durationMs(s.pause.duration));
    else if (s.phase === 'watching') startWaiting(durationMs(spec.rollbackWindow));
    else if (s.phase === 'aborted') startWaiting(retryWindowMs);
    const failing = t.action === 'abort' || t.action === 'rollback' ? parts.blockingNow() : undefined;
    parts.publish();
    if (sync) await parts.syncWeight();
    await records.recordRolloutTransition({
      rolloutId: st.rolloutId,
      seq,
      at,
      target: spec.target,
      transition: t,
      attempt: s.attempt,
      finished: t.to === 'promoted',
      ...(failing && abortCause ? { abortCause } : {}),
    });
    if (failing) {
      await records.recordRolloutIncident({
        rolloutId: st.rolloutId,
        seq,
        at,
        kind: t.action === 'abort' ? 'abort' : 'rollback',
        reason: t.reason ?? t.action,
        stepIndex: t.stepIndex,
        weightBefore,
        attempt: s.attempt,
        failing,
        lastVerdicts: [...st.lastVerdicts.values()],
      });
    }
  };
}
