import { describeSituation, type Situation } from '../../lib/rollout/details';
import type { Step } from '../../lib/rollout/step-spec';
import { RolloutMachine } from '../../lib/rollout/state';

/** The words the Web UI and the status show for each situation, with what a person can do. */
const steps: Step[] = [{ setWeight: 25 }, { pause: { duration: '10m' } }, { pause: { untilApproved: true } }];
const until = Date.UTC(2030, 0, 1, 12, 30, 0);
const situation = (m: RolloutMachine, extra: Partial<Situation> = {}): string =>
  describeSituation({
    snapshot: m.snapshot(),
    steps,
    appliedWeight: m.weight,
    rollbackWindow: '30m',
    ...extra,
  });

test('each phase in words', () => {
  const m = new RolloutMachine(steps);
  expect(situation(m)).toBe('starting');
  m.start();
  expect(situation(m, { appliedWeight: 0 })).toBe(
    'progressing: step 1 of 3 (set weight 25 %), weight 25 %, moving from weight 0 %',
  );
  m.completeStep(0);
  expect(situation(m, { waitingUntil: until })).toBe(
    'paused at weight 25 %, step 2 of 3 (pause 10m) until 2030-01-01T12:30:00Z',
  );
  m.completeStep(1);
  expect(situation(m)).toBe(
    'waiting for approval at weight 25 %, step 3 of 3 (wait for approval). Approve to go on, or abort',
  );
  m.holdInconclusive('error-rate: 3 inconclusive measurements');
  expect(situation(m)).toBe(
    'paused: inconclusive at weight 25 %, step 3 of 3 (wait for approval): error-rate: 3 inconclusive measurements. Promote to go on, or abort',
  );
  m.promote();
  expect(situation(m, { waitingUntil: until })).toBe(
    'watching at weight 100 % for the rollback window of 30m until 2030-01-01T12:30:00Z',
  );
  m.rollback('the background analysis', 'error-rate 0.09 breaks ≤ 0.05');
  expect(situation(m, { appliedWeight: 100 })).toBe(
    'aborted by the background analysis: error-rate 0.09 breaks ≤ 0.05; taking weight 100 % to 0',
  );
  expect(situation(m, { weightError: 'HAProxy: No such server.' })).toBe(
    'aborted by the background analysis: error-rate 0.09 breaks ≤ 0.05; but weight 0 could not be set (HAProxy: No such server.)',
  );
  expect(situation(m)).toBe(
    'aborted at weight 0 by the background analysis: error-rate 0.09 breaks ≤ 0.05. Retry starts again from step 1',
  );
  m.retry();
  m.abort('wrong build', 'alice');
  expect(situation(m, { appliedWeight: 25 })).toBe('aborted by alice: wrong build; taking weight 25 % to 0');
  expect(situation(m, { waitingUntil: until })).toBe(
    'aborted at weight 0 by alice: wrong build. Retry starts again from step 1 (possible until 2030-01-01T12:30:00Z)',
  );
});
