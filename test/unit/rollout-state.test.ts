import { AppError } from '../../lib/errors';
import type { Step } from '../../lib/rollout/step-spec';
import type { Action, Phase } from '../../lib/rollout/phases';
import { RolloutMachine } from '../../lib/rollout/state';

const steps: Step[] = [
  { setWeight: 5 },
  { pause: { duration: '10m' } },
  { pause: { untilApproved: true } },
  { analysis: { templates: ['default'] } },
  { setWeight: 50 },
];
const started = () => {
  const m = new RolloutMachine(steps);
  m.start();
  return m;
};
/** A machine walked to step `index` by completing the steps before it. */
const at = (index: number) => {
  const m = started();
  for (let i = 0; i < index; i++) {
    if (m.phase === 'waiting-for-approval') m.approve();
    else expect(m.completeStep(i)).toBeDefined();
  }
  return m;
};
const watching = () => at(steps.length);
const aborted = () => {
  const m = at(1);
  m.abort('p95 regressed', 'alice');
  return m;
};
const abortedByAnalysis = () => {
  const m = at(3);
  m.rollback('the analysis of step 4', 'error-rate 0.09 breaks ≤ 0.05');
  return m;
};
const promoted = () => {
  const m = watching();
  m.endWatch();
  return m;
};
const heldInconclusive = () => {
  const m = at(3);
  m.holdInconclusive('error-rate: 3 inconclusive measurements');
  return m;
};

describe('rollout state machine: the workflow walks the steps', () => {
  it('enters each step in its phase with its weight, then watches at 100 and ends promoted', () => {
    const m = new RolloutMachine(steps);
    const seen: [Phase, number][] = [];
    const t = m.start();
    expect(t).toMatchObject({ action: 'start', from: 'progressing', to: 'progressing', stepIndex: 0, weight: 5 });
    seen.push([m.phase, m.weight]);
    for (let i = 0; i < steps.length; i++) {
      if (m.phase === 'waiting-for-approval') expect(m.completeStep(i)).toBeUndefined(); // only a person opens a gate
      if (m.phase === 'waiting-for-approval') m.approve();
      else m.completeStep(i);
      seen.push([m.phase, m.weight]);
    }
    expect(seen).toEqual([
      ['progressing', 5],
      ['paused', 5],
      ['waiting-for-approval', 5],
      ['analysing', 5],
      ['progressing', 50],
      ['watching', 100],
    ]);
    expect(m.completeStep(steps.length)).toBeUndefined();
    expect(m.endWatch()).toMatchObject({ from: 'watching', to: 'promoted', weight: 100 });
    expect(m.phase).toBe('promoted');
  });

  it('ignores a late completion of a step the rollout already left', () => {
    const m = at(1);
    m.promote();
    const rev = m.revision;
    expect(m.completeStep(1)).toBeUndefined();
    expect(m.revision).toBe(rev);
    expect(m.stepIndex).toBe(2);
  });

  it('holds the weight on an inconclusive analysis, and a timer then cannot advance it', () => {
    const m = at(1);
    expect(m.holdInconclusive('no data')).toMatchObject({ from: 'paused', to: 'paused', weight: 5, reason: 'no data' });
    expect(m.snapshot().pause).toEqual({ kind: 'inconclusive', reason: 'no data' });
    expect(m.completeStep(1)).toBeUndefined();
    expect(m.holdInconclusive('again')).toBeUndefined();
    expect(m.phase).toBe('paused');
  });

  it('a failing analysis aborts to weight 0 in one transition from any live phase, the watch included, naming itself', () => {
    for (const m of [at(0), at(1), at(2), at(3), heldInconclusive(), watching()]) {
      const t = m.rollback('the background analysis', 'error-rate breaks ≤ 0.05');
      expect(t).toMatchObject({
        action: 'rollback',
        to: 'aborted',
        weight: 0,
        reason: 'aborted by the background analysis: error-rate breaks ≤ 0.05',
      });
      expect(m.snapshot()).toMatchObject({
        phase: 'aborted',
        weight: 0,
        reason: 'error-rate breaks ≤ 0.05',
        abortedBy: 'the background analysis',
      });
    }
    expect(promoted().rollback('the background analysis', 'late')).toBeUndefined();
    expect(aborted().rollback('the background analysis', 'twice')).toBeUndefined();
  });

  it('reads a snapshot of an earlier version, whose rollback ended in rolled-back, as aborted by analysis', () => {
    const earlier = { ...abortedByAnalysis().snapshot(), abortedBy: undefined, phase: 'rolled-back' } as never;
    const m = new RolloutMachine(steps, earlier);
    expect(m.snapshot()).toMatchObject({ phase: 'aborted', abortedBy: 'analysis', weight: 0 });
    expect(m.retry()).toMatchObject({ action: 'retry', to: 'progressing', weight: 5 });
  });

  it('restores from a snapshot (continue-as-new) with the same state', () => {
    const m = at(2);
    const copy = new RolloutMachine(steps, m.snapshot());
    expect(copy.snapshot()).toEqual(m.snapshot());
    copy.approve();
    expect(copy.phase).toBe('analysing');
    expect(m.phase).toBe('waiting-for-approval');
  });

  it('refuses to start twice', () => {
    expect(() => started().start()).toThrow('the rollout has already started');
  });
});

describe('rollout state machine: updates from people', () => {
  const expectRefused = (m: RolloutMachine, action: Action, message: RegExp, reason?: string) => {
    const before = m.snapshot();
    expect(m.refusal(action, reason)).toMatch(message);
    const call = () => (action === 'abort' ? m.abort(reason ?? '') : m[action]());
    expect(call).toThrow(AppError);
    expect(call).toThrow(message);
    expect(m.snapshot()).toEqual(before);
  };

  it('promote skips the current step: a weight, a pause, a gate, an analysis, an inconclusive hold', () => {
    for (const [m, next] of [
      [at(0), 1],
      [at(1), 2],
      [at(2), 3],
      [at(3), 4],
      [at(4), 5],
      [heldInconclusive(), 4],
    ] as const) {
      expect(m.refusal('promote')).toBeUndefined();
      m.promote();
      expect(m.stepIndex).toBe(next);
    }
    const end = at(4);
    end.promote();
    expect([end.phase, end.weight]).toEqual(['watching', 100]);
  });

  it('promote during an inconclusive hold in the watch accepts the release', () => {
    const m = watching();
    m.holdInconclusive('prometheus down');
    m.promote();
    expect([m.phase, m.weight]).toEqual(['promoted', 100]);
  });

  it('promote is refused while watching and after the end', () => {
    expectRefused(watching(), 'promote', /already at weight 100 and watching/);
    expectRefused(promoted(), 'promote', /promote applies to a live rollout; this one is promoted/);
    expectRefused(aborted(), 'promote', /this one is aborted \(p95 regressed\)/);
    expectRefused(new RolloutMachine(steps), 'promote', /has not started yet/);
  });

  it('promoteFull goes to 100 and the watch from any step; refused once there', () => {
    for (const m of [at(0), at(2), heldInconclusive()]) {
      expect(m.promoteFull()).toMatchObject({
        action: 'promoteFull',
        to: 'watching',
        weight: 100,
        stepIndex: steps.length,
      });
    }
    expectRefused(watching(), 'promoteFull', /already at weight 100/);
    expectRefused(abortedByAnalysis(), 'promoteFull', /this one is aborted/);
  });

  it('abort sets weight 0 in one step from every live phase, also after a full promote', () => {
    const fullyPromoted = at(1);
    fullyPromoted.promoteFull();
    for (const m of [at(0), at(1), at(2), at(3), at(4), heldInconclusive(), watching(), fullyPromoted]) {
      const t = m.abort('  checkout errors  ', ' bob ');
      expect(t).toMatchObject({ action: 'abort', to: 'aborted', weight: 0, reason: 'aborted by bob: checkout errors' });
      expect(m.snapshot()).toMatchObject({ phase: 'aborted', weight: 0, reason: 'checkout errors', abortedBy: 'bob' });
    }
    expect(at(1).abort('checkout errors').reason).toBe('aborted by an operator: checkout errors');
  });

  it('abort needs a reason and is refused when there is nothing to abort', () => {
    expectRefused(at(1), 'abort', /abort needs a reason/, '   ');
    expectRefused(at(1), 'abort', /at most 500 characters, got 501/, 'x'.repeat(501));
    // A NUL byte cannot be stored: the abort's records would fail on every retry.
    expectRefused(at(1), 'abort', /must not contain control characters/, 'errors\u0000up');
    expect(at(1).refusal('abort', 'errors up\n\tin checkout')).toBeUndefined();
    expectRefused(
      aborted(),
      'abort',
      /already aborted by alice: p95 regressed \(weight 0\); retry starts it again/,
      'again',
    );
    expectRefused(abortedByAnalysis(), 'abort', /already aborted by the analysis of step 4: error-rate/, 'again');
    expectRefused(promoted(), 'abort', /finished at weight 100 and its watch is over/, 'too late');
  });

  it('approve opens a manual gate and nothing else', () => {
    const m = at(2);
    expect(m.approve()).toMatchObject({ from: 'waiting-for-approval', to: 'analysing', stepIndex: 3 });
    expectRefused(at(1), 'approve', /only at a manual gate .*; the rollout is paused at step 2 of 5 \(pause 10m\)$/);
    expectRefused(heldInconclusive(), 'approve', /inconclusive analysis is passed with promote/);
    expectRefused(watching(), 'approve', /the rollout is watching/);
    expectRefused(aborted(), 'approve', /the rollout is aborted/);
  });

  it('retry starts again from the first step after an abort by a person or by analysis, and only then', () => {
    for (const m of [aborted(), abortedByAnalysis()]) {
      const t = m.retry();
      expect(t).toMatchObject({ action: 'retry', to: 'progressing', stepIndex: 0, weight: 5 });
      expect(m.snapshot()).toMatchObject({ attempt: 2, reason: undefined, abortedBy: undefined });
    }
    expectRefused(at(1), 'retry', /retry applies only after an abort; the rollout is paused at step 2 of 5/);
    expectRefused(watching(), 'retry', /the rollout is watching/);
    expectRefused(promoted(), 'retry', /the rollout is promoted/);
  });

  it('counts every transition in the revision', () => {
    const m = at(1);
    const rev = m.revision;
    m.abort('x');
    m.retry();
    expect(m.revision).toBe(rev + 2);
  });
});

it('an abort before the first step holds: the start that follows does not walk over it, and retry begins the steps', () => {
  const m = new RolloutMachine(steps);
  m.abort('wrong build', 'alice');
  expect(m.start()).toBeUndefined();
  expect(m.snapshot()).toMatchObject({ phase: 'aborted', weight: 0, abortedBy: 'alice', reason: 'wrong build' });
  expect(m.retry()).toMatchObject({ action: 'retry', to: 'progressing', weight: 5 });
});
