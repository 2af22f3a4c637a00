import { log, proxyActivities } from '@temporalio/workflow';
import type { RolloutActivities } from '../activities/rollout';
import { failureMessage } from './failure';
import type { Run } from './rollout-run';

// No attempt limit: weight 0 must get through a router that blinks. Each call has its own
// timeout (the HAProxy socket 5 s, a webhook at most 60 s) that ends before this one.
const traffic = proxyActivities<RolloutActivities>({
  startToCloseTimeout: '75s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

/**
 * The one applier that moves traffic: the weight the router holds follows the machine's
 * weight through it, in order. An abort while a step's weight is being set waits for that
 * one call, then sets 0 in one call: it never walks back through the steps, and a late call
 * can never overwrite it. `idle` is the applier's work so far, to wait for before the run ends.
 */
export function createWeightApplier({ spec, machine, st, transition, publish }: Run) {
  let weightChain: Promise<void> = Promise.resolve();
  /** Brings the router to the machine's weight; concurrent callers queue behind the call in flight. */
  const syncWeight = (): Promise<void> => {
    const run = weightChain.then(async () => {
      while (st.appliedWeight !== machine.weight && !st.weightError) {
        const weight = machine.weight;
        try {
          await traffic.setRolloutWeight({ target: spec.target, traffic: spec.traffic, weight });
          st.appliedWeight = weight;
          publish();
        } catch (err) {
          const message = failureMessage(err);
          if (weight === 0) {
            // Retries are unlimited for transient errors: only a permanent refusal gets here.
            st.weightError = message;
            publish();
            log.error('could not set weight 0', { target: spec.target, error: message });
          } else {
            // Recorded before the loop goes on to weight 0; awaiting the applier here would wait on itself.
            await transition(
              machine.rollback('the traffic controller', `setting weight ${weight} % failed: ${message}`),
              'traffic',
              false,
            );
          }
        }
      }
    });
    weightChain = run.catch(() => undefined);
    return run;
  };
  return { syncWeight, idle: () => weightChain };
}
