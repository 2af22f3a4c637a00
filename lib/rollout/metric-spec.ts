import { z } from 'zod';
import { durationSchema } from './duration';
import { finite, measurementLimit, nameField, specLimits } from './spec-fields';
import { storableText } from '../text';

/** What a metric measures (its provider) and how a measurement is judged; templates group metrics. */

export const providerSpec = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('prometheus'),
      /**
       * PromQL giving one number; `{{variant}}` becomes `canary` or `baseline`'s label value,
       * `{{target}}` the target and `{{window}}` the metric's window (e.g. `rate(x[{{window}}])`).
       */
      query: storableText('query')
        .min(1, 'query must not be empty')
        .max(specLimits.queryLength, `query must be at most ${specLimits.queryLength} characters`),
      /** Label values that `{{variant}}` takes for each side. */
      variantLabels: z
        .object({
          canary: storableText('variantLabels.canary').min(1).max(100),
          baseline: storableText('variantLabels.baseline').min(1).max(100),
        })
        .strict()
        .default({ canary: 'canary', baseline: 'stable' }),
    })
    .strict(),
  z
    .object({
      type: z.literal('builtin'),
      /** Outcomes that apps report through the SDK: share of errors, or a latency quantile in seconds. */
      measure: z.enum(['errorRate', 'latency']),
      quantile: z.number().gt(0, 'quantile must be above 0').max(1, 'quantile must be at most 1').default(0.95),
    })
    .strict(),
]);

/** Absolute thresholds: a value above max or below min fails. */
export const successCondition = z
  .object({ max: finite('successCondition.max').optional(), min: finite('successCondition.min').optional() })
  .strict()
  .refine((c) => c.max !== undefined || c.min !== undefined, 'successCondition needs max, min or both')
  .refine(
    (c) => c.max === undefined || c.min === undefined || c.min <= c.max,
    'successCondition.min must not exceed max',
  );

/**
 * Limits relative to the baseline: the canary fails when it exceeds baseline × (1 + maxIncrease)
 * (or falls below baseline × (1 − maxDecrease)) by more than minDelta in absolute terms; minDelta
 * keeps a baseline at exactly 0 from failing the canary's first error, and is 0 by default as in the origin.
 */
export const relativeLimit = z
  .object({
    maxIncrease: z
      .number()
      .min(0, 'relative.maxIncrease must be at least 0')
      .max(100, 'relative.maxIncrease is a fraction (0.5 = +50 %), at most 100')
      .optional(),
    maxDecrease: z
      .number()
      .min(0, 'relative.maxDecrease must be at least 0')
      .max(1, 'relative.maxDecrease is a fraction (0.1 = −10 %), at most 1')
      .optional(),
    minDelta: z.number().min(0, 'relative.minDelta must be at least 0').finite().default(0),
  })
  .strict()
  .refine(
    (r) => r.maxIncrease !== undefined || r.maxDecrease !== undefined,
    'relative needs maxIncrease, maxDecrease or both',
  );

/**
 * A Mann-Whitney U comparison of the canary's samples against the baseline's, as Kayenta
 * judges: a difference fails only when it is significant at `confidence` in the harmful
 * direction and the effect (ratio of means) is beyond `tolerance` (0.3 = 30 % worse).
 */
export const compareSpec = z
  .object({
    direction: z.enum(['increase', 'decrease']).default('increase'),
    confidence: z
      .number()
      .min(0.5, 'compare.confidence must be between 0.5 and 0.999')
      .max(0.999, 'compare.confidence must be between 0.5 and 0.999')
      .default(0.95),
    tolerance: z
      .number()
      .min(0, 'compare.tolerance must be at least 0')
      .max(100, 'compare.tolerance must be at most 100')
      .default(0),
    /** Below this many samples on either side the comparison is skipped (the normal approximation needs them). */
    minSamples: z
      .number()
      .int()
      .min(3, 'compare.minSamples must be between 3 and 100000')
      .max(100_000, 'compare.minSamples must be between 3 and 100000')
      .default(10),
  })
  .strict();

export const metricSpec = z
  .object({
    name: nameField('metric name'),
    provider: providerSpec,
    interval: durationSchema('interval', '1s', '1h').default('30s'),
    window: durationSchema('window', '1s', '24h').default('5m'),
    /** Measurements in a run; absent, the run measures until the rollout leaves the step (background analysis). */
    count: z
      .number()
      .int('count must be a whole number')
      .min(1, `count must be between 1 and ${specLimits.count}`)
      .max(specLimits.count, `count must be between 1 and ${specLimits.count}`)
      .optional(),
    successCondition: successCondition.optional(),
    relative: relativeLimit.optional(),
    compare: compareSpec.optional(),
    failureLimit: measurementLimit('failureLimit').default(0),
    consecutiveErrorLimit: measurementLimit('consecutiveErrorLimit').default(4),
    inconclusiveLimit: measurementLimit('inconclusiveLimit').default(0),
    /** Measured and recorded, never deciding: to try a metric before trusting it. */
    dryRun: z.boolean().default(false),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (!m.successCondition && !m.relative && !m.compare) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `metric ${m.name} judges nothing: give successCondition, relative or compare`,
      });
    }
    if (m.provider.type === 'prometheus' && (m.relative || m.compare) && !m.provider.query.includes('{{variant}}')) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['provider', 'query'],
        message: `metric ${m.name} compares canary and baseline, so its query must contain {{variant}}`,
      });
    }
  });

export const analysisTemplate = z
  .object({
    name: nameField('template name'),
    metrics: z
      .array(metricSpec)
      .min(1, 'a template needs at least one metric')
      .max(specLimits.metricsPerTemplate, `a template has at most ${specLimits.metricsPerTemplate} metrics`),
  })
  .strict()
  .superRefine((t, ctx) => {
    const seen = new Set<string>();
    for (const m of t.metrics) {
      if (seen.has(m.name))
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ['metrics'],
          message: `template ${t.name} names metric ${m.name} twice`,
        });
      seen.add(m.name);
    }
  });

export type ProviderSpec = z.output<typeof providerSpec>;
export type MetricSpec = z.output<typeof metricSpec>;
export type AnalysisTemplate = z.output<typeof analysisTemplate>;
