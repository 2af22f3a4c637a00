import { condition } from '@temporalio/workflow';
import { analysisOutcome, type AnalysisOutcome, type MetricRunSummary } from '../lib/rollout/analysis-run';
import type { MetricSpec } from '../lib/rollout/metric-spec';
import { livePhases } from '../lib/rollout/phases';
import { metricsOf } from '../lib/rollout/spec';
import { createMeasurer } from './rollout-measure';
import type { Run } from './rollout-run';

/**
 * A run's analyses: the background analysis, measured every interval through the whole
 * rollout and its watch, and each analysis step's. A failing one aborts the rollout, an
 * inconclusive one holds it for a person.
 */
export function createAnalysis(run: Run) {
  const { spec, machine, st, background, transition } = run;
  const { measure, compact, untilDue } = createMeasurer(run);
  const stepMetrics = (): MetricSpec[] => {
    const step = machine.step;
    return step && 'analysis' in step ? metricsOf(spec, step.analysis.templates) : [];
  };
  const stepOutcome = (): AnalysisOutcome | undefined =>
    machine.phase === 'analysing' || (st.stepRevision !== undefined && Object.keys(st.stepRuns).length > 0)
      ? analysisOutcome(stepMetrics(), st.stepRuns)
      : undefined;
  const backgroundOutcome = (): AnalysisOutcome | undefined =>
    background.length ? analysisOutcome(background, st.backgroundRuns) : undefined;

  /** The deciding metrics that failed or were inconclusive in either analysis: what an incident names. */
  const blockingNow = (): MetricRunSummary[] => [
    ...(stepOutcome()?.blocking ?? []),
    ...(backgroundOutcome()?.blocking ?? []),
  ];

  const resetBackground = () => {
    st.backgroundRuns = {};
    st.backgroundEpoch++;
    for (const key of Object.keys(st.nextDue)) if (key.startsWith('background:')) delete st.nextDue[key];
  };

  /** The background analysis of one metric: measures every interval while the canary takes traffic. */
  async function backgroundLoop(metric: MetricSpec): Promise<void> {
    const key = `background:${metric.name}`;
    const measurable = () =>
      livePhases.has(machine.phase) &&
      machine.weight > 0 &&
      st.appliedWeight > 0 &&
      (metric.count === undefined || (st.backgroundRuns[metric.name]?.length ?? 0) < metric.count);
    const halt = () => st.draining || st.stopped;
    for (;;) {
      await condition(() => halt() || measurable());
      if (halt()) return;
      if (!(await untilDue(key, () => halt() || !measurable()))) continue;
      const epoch = st.backgroundEpoch;
      const verdict = await measure('background', metric);
      if (epoch !== st.backgroundEpoch || !livePhases.has(machine.phase)) continue;
      (st.backgroundRuns[metric.name] ??= []).push(compact(verdict));
      const outcome = analysisOutcome(background, st.backgroundRuns);
      if (outcome.outcome === 'fail') {
        await transition(machine.rollback('the background analysis', outcome.reason), 'analysis');
      } else if (outcome.outcome === 'inconclusive') {
        await transition(machine.holdInconclusive(`background analysis inconclusive: ${outcome.reason}`));
      }
    }
  }

  /** The analysis of the current step; returns once it is decided, or the rollout moved on. */
  async function stepAnalysis(revision: number): Promise<void> {
    const metrics = stepMetrics();
    if (st.stepRevision !== revision) {
      st.stepRuns = {};
      st.stepRevision = revision;
      for (const key of Object.keys(st.nextDue)) if (key.startsWith('step:')) delete st.nextDue[key];
    }
    let decided = false;
    const done = () => decided || st.draining || machine.revision !== revision;
    const decide = () => {
      if (analysisOutcome(metrics, st.stepRuns).outcome !== 'running') decided = true;
    };
    decide();
    await Promise.all(
      metrics.map(async (metric) => {
        const key = `step:${metric.name}`;
        // A step analysis without a count takes one measurement: it must end for the rollout to go on.
        const count = metric.count ?? 1;
        for (;;) {
          if (done() || (st.stepRuns[metric.name]?.length ?? 0) >= count) return;
          if (!(await untilDue(key, done))) continue;
          const verdict = await measure('step', metric);
          if (machine.revision !== revision) return;
          (st.stepRuns[metric.name] ??= []).push(compact(verdict));
          decide();
        }
      }),
    );
    if (st.draining || machine.revision !== revision) return;
    const outcome = analysisOutcome(metrics, st.stepRuns, { ended: true });
    const step = `step ${machine.stepIndex + 1}`;
    if (outcome.outcome === 'pass') await transition(machine.completeStep(machine.stepIndex));
    else if (outcome.outcome === 'fail')
      await transition(machine.rollback(`the analysis of ${step}`, outcome.reason), 'analysis');
    else await transition(machine.holdInconclusive(`analysis at ${step} inconclusive: ${outcome.reason}`));
  }

  return { stepOutcome, backgroundOutcome, blockingNow, resetBackground, backgroundLoop, stepAnalysis };
}
