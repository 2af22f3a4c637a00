import { z } from 'zod';
import { durationSchema } from './duration';
import { analysisTemplate, type MetricSpec } from './metric-spec';
import { defaultStepsInput, defaultTemplateInput, defaultTemplateName } from './spec-defaults';
import { specLimits, targetName } from './spec-fields';
import { storableText } from '../text';
import { stepSpec, templateRefs } from './step-spec';
import { trafficSpec } from './traffic-spec';

/**
 * The rollout spec: what the API accepts, what the workflow runs and what the OpenAPI
 * document shows, from one set of schemas. Shapes follow Argo Rollouts' canary steps
 * (`setWeight`, `pause`, `analysis`) so that a spec reads familiar.
 *
 * Defaults reproduce the process this replaces: stages of 5, 25, 50 and 100 %,
 * 10 minutes each, judged every 30 s over a 5-minute window on an error rate under
 * 5 % and a p95 latency under 2 s, and relative to the baseline on an error-rate
 * increase of at most 50 % and a latency increase of at most 30 %; after full
 * promotion a 30-minute watch can still abort the rollout.
 *
 * Bounds (each refused with a message naming the field):
 * - steps: 1 to 100; setWeight 0 to 100; pause duration 1s to 24h (a longer wait is a manual gate);
 * - templates: at most 20, each with 1 to 20 metrics;
 * - interval 1s to 1h; window 1s to 24h; count 1 to 10000 (absent: until the rollout ends);
 * - failureLimit, consecutiveErrorLimit, inconclusiveLimit 0 to 1000;
 * - rollbackWindow 0s (no watch) to 24h.
 */

export const rolloutSpecObject = z
  .object({
    target: targetName,
    /** The release being rolled out, as its owners name it (kept in records and the Web UI). */
    version: storableText('version').min(1).max(100, 'version must be at most 100 characters').optional(),
    traffic: trafficSpec.default({ controller: 'flag' }),
    steps: z
      .array(stepSpec)
      .min(1, 'a rollout needs at least one step')
      .max(specLimits.steps, `a rollout has at most ${specLimits.steps} steps`)
      .default(defaultStepsInput),
    /**
     * Templates measured through the whole rollout and its watch. Absent: the template named
     * `default` if the spec has one; null: none.
     */
    backgroundAnalysis: templateRefs.nullable().optional(),
    templates: z
      .array(analysisTemplate)
      .max(specLimits.templates, `a rollout has at most ${specLimits.templates} templates`)
      .default([defaultTemplateInput]),
    rollbackWindow: durationSchema('rollbackWindow', '0s', '24h').default('30m'),
  })
  .strict();

export const rolloutSpec = rolloutSpecObject
  .superRefine((spec, ctx) => {
    const names = new Set<string>();
    spec.templates.forEach((t, i) => {
      if (names.has(t.name))
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['templates', i, 'name'],
          message: `template ${t.name} is defined twice`,
        });
      names.add(t.name);
    });
    const check = (refs: string[], path: (string | number)[]) => {
      for (const ref of refs) {
        if (!names.has(ref)) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            path,
            message: `analysis names template ${ref}, which the spec does not define (defined: ${[...names].join(', ') || 'none'})`,
          });
        }
      }
    };
    spec.steps.forEach((step, i) => {
      if ('analysis' in step) check(step.analysis.templates, ['steps', i, 'analysis', 'templates']);
    });
    if (spec.backgroundAnalysis) check(spec.backgroundAnalysis.templates, ['backgroundAnalysis', 'templates']);
  })
  .transform((spec) => ({
    ...spec,
    backgroundAnalysis:
      spec.backgroundAnalysis !== undefined
        ? spec.backgroundAnalysis
        : spec.templates.some((t) => t.name === defaultTemplateName)
          ? { templates: [defaultTemplateName] }
          : null,
  }));

export type RolloutSpecInput = z.input<typeof rolloutSpec>;
export type RolloutSpec = z.output<typeof rolloutSpec>;

/** The metrics of the named templates, in order. */
export function metricsOf(spec: Pick<RolloutSpec, 'templates'>, templates: string[]): MetricSpec[] {
  return templates.flatMap((ref) => spec.templates.find((t) => t.name === ref)?.metrics ?? []);
}
