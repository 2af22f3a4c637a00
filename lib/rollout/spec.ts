import { z } from 'zod';
import { durationSchema } from './duration';

/**
 * The rollout spec: what the API accepts, what the workflow runs and what the OpenAPI
 * document shows, from one set of schemas. Shapes follow Argo Rollouts' canary steps
 * (`setWeight`, `pause`, `analysis`) so that a spec reads familiar.
 *
 * Defaults reproduce the process this replaces: stages of 5, 25, 50 and 100 %,
 * 10 minutes each, judged every 30 s over a 5-minute window on an error rate under
 * 5 % and a p95 latency under 2 s, and relative to the baseline on an error-rate
 * increase of at most 50 % and a latency increase of at most 30 %; after full
 * promotion a 30-minute watch can still roll back.
 *
 * Bounds (each refused with a message naming the field):
 * - steps: 1 to 100; setWeight 0 to 100; pause duration 1s to 24h (a longer wait is a manual gate);
 * - templates: at most 20, each with 1 to 20 metrics;
 * - interval 1s to 1h; window 1s to 24h; count 1 to 10000 (absent: until the rollout ends);
 * - failureLimit, consecutiveErrorLimit, inconclusiveLimit 0 to 1000;
 * - rollbackWindow 0s (no watch) to 24h.
 */

export const specLimits = {
  steps: 100,
  templates: 20,
  metricsPerTemplate: 20,
  count: 10_000,
  measurementLimit: 1000,
  queryLength: 4000,
} as const;

const name = (field: string) =>
  z
    .string()
    .regex(
      /^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$/,
      `${field} must be 1 to 63 lowercase letters, digits, '-' or '_', starting and ending with a letter or digit`,
    );

/** A target names what is rolled out; the workflow id is `rollout-<target>`, so one target has one rollout. */
export const targetName = z
  .string()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'target must be 1 to 63 lowercase letters, digits or -, starting and ending with a letter or digit (e.g. checkout-api)',
  );

export const flagKey = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9_.-]{0,99}$/,
    'a flag key is 1 to 100 lowercase letters, digits, ., _ or -, starting with a letter or digit',
  );

const weight = z
  .number({ invalid_type_error: 'setWeight must be a number from 0 to 100' })
  .int('setWeight must be a whole percentage')
  .min(0, 'setWeight must be between 0 and 100')
  .max(100, 'setWeight must be between 0 and 100');

const measurementLimit = (field: string) =>
  z
    .number()
    .int(`${field} must be a whole number`)
    .min(0, `${field} must be between 0 and ${specLimits.measurementLimit}`)
    .max(specLimits.measurementLimit, `${field} must be between 0 and ${specLimits.measurementLimit}`);

const finite = (field: string) =>
  z.number({ invalid_type_error: `${field} must be a number` }).finite(`${field} must be a finite number`);

const haproxyName = z
  .string()
  .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'HAProxy backend and server names are 1 to 100 letters, digits, _, ., : or -');

/** How traffic reaches the canary. Secrets and sockets come from the worker's configuration, never from a spec. */
export const trafficSpec = z.discriminatedUnion('controller', [
  z
    .object({
      controller: z.literal('flag'),
      /** The feature flag whose percentage is the canary's weight; the target's name when absent. */
      flag: flagKey.optional(),
    })
    .strict(),
  z
    .object({
      controller: z.literal('haproxy'),
      backend: haproxyName,
      canaryServer: haproxyName.default('canary'),
      stableServer: haproxyName.default('stable'),
    })
    .strict(),
  z
    .object({
      controller: z.literal('webhook'),
      url: z
        .string()
        .url('url must be an absolute http(s) URL')
        .refine((u) => /^https?:\/\//i.test(u), 'url must use http or https'),
      timeout: durationSchema('timeout', '100ms', '60s').default('10s'),
    })
    .strict(),
]);

export const providerSpec = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('prometheus'),
      /**
       * PromQL giving one number; `{{variant}}` becomes `canary` or `baseline`'s label value,
       * `{{target}}` the target and `{{window}}` the metric's window (e.g. `rate(x[{{window}}])`).
       */
      query: z
        .string()
        .min(1, 'query must not be empty')
        .max(specLimits.queryLength, `query must be at most ${specLimits.queryLength} characters`),
      /** Label values that `{{variant}}` takes for each side. */
      variantLabels: z
        .object({ canary: z.string().min(1).max(100), baseline: z.string().min(1).max(100) })
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
    name: name('metric name'),
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
    name: name('template name'),
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

const templateRefs = z
  .object({
    templates: z.array(name('template name')).min(1, 'analysis needs at least one template').max(specLimits.templates),
  })
  .strict();

const pauseSpec = z
  .object({
    duration: durationSchema('pause.duration', '1s', '24h').optional(),
    untilApproved: z.literal(true).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if ((p.duration === undefined) === (p.untilApproved === undefined)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: 'pause takes either duration (e.g. 10m) or untilApproved: true',
      });
    }
  });

export type PauseStep = { pause: { duration: string } | { untilApproved: true } };
export type Step = { setWeight: number } | PauseStep | { analysis: { templates: string[] } };

export const stepSpec = z
  .object({ setWeight: weight.optional(), pause: pauseSpec.optional(), analysis: templateRefs.optional() })
  .strict()
  .superRefine((s, ctx) => {
    const keys = (['setWeight', 'pause', 'analysis'] as const).filter((k) => s[k] !== undefined);
    if (keys.length !== 1) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        message: `a step has exactly one of setWeight, pause, analysis${keys.length ? `, got ${keys.join(' and ')}` : ''}`,
      });
    }
  })
  .transform((s): Step => {
    if (s.setWeight !== undefined) return { setWeight: s.setWeight };
    if (s.pause !== undefined) {
      return { pause: s.pause.untilApproved ? { untilApproved: true } : { duration: s.pause.duration as string } };
    }
    return { analysis: { templates: s.analysis?.templates ?? [] } };
  });

export const defaultTemplateName = 'default';

const defaultTemplateInput: z.input<typeof analysisTemplate> = {
  name: defaultTemplateName,
  metrics: [
    {
      name: 'error-rate',
      provider: { type: 'builtin', measure: 'errorRate' },
      interval: '30s',
      window: '5m',
      successCondition: { max: 0.05 },
      relative: { maxIncrease: 0.5 },
      inconclusiveLimit: 2,
    },
    {
      name: 'latency-p95',
      provider: { type: 'builtin', measure: 'latency', quantile: 0.95 },
      interval: '30s',
      window: '5m',
      successCondition: { max: 2 },
      relative: { maxIncrease: 0.3 },
      compare: { direction: 'increase', tolerance: 0.3 },
      inconclusiveLimit: 2,
    },
  ],
};

const defaultStepsInput: z.input<typeof stepSpec>[] = [
  { setWeight: 5 },
  { pause: { duration: '10m' } },
  { setWeight: 25 },
  { pause: { duration: '10m' } },
  { setWeight: 50 },
  { pause: { duration: '10m' } },
  { setWeight: 100 },
];

export const rolloutSpecObject = z
  .object({
    target: targetName,
    /** The release being rolled out, as its owners name it (kept in records and the Web UI). */
    version: z.string().min(1).max(100, 'version must be at most 100 characters').optional(),
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
export type TrafficSpec = z.output<typeof trafficSpec>;
export type ProviderSpec = z.output<typeof providerSpec>;
export type MetricSpec = z.output<typeof metricSpec>;
export type AnalysisTemplate = z.output<typeof analysisTemplate>;

/** The metrics of the named templates, in order. */
export function metricsOf(spec: Pick<RolloutSpec, 'templates'>, templates: string[]): MetricSpec[] {
  return templates.flatMap((ref) => spec.templates.find((t) => t.name === ref)?.metrics ?? []);
}

export const describeStep = (step: Step): string =>
  'setWeight' in step
    ? `set weight ${step.setWeight} %`
    : 'pause' in step
      ? 'duration' in step.pause
        ? `pause ${step.pause.duration}`
        : 'wait for approval'
      : `analysis ${step.analysis.templates.join(', ')}`;
