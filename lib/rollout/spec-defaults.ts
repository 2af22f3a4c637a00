import type { z } from 'zod';
import type { analysisTemplate } from './metric-spec';
import type { stepSpec } from './step-spec';

/**
 * The defaults that reproduce the process this replaces: stages of 5, 25, 50 and 100 %,
 * 10 minutes each, judged every 30 s over a 5-minute window on an error rate under 5 % and a
 * p95 under 2 s, and against the baseline on +50 % errors and +30 % latency.
 */

export const defaultTemplateName = 'default';

export const defaultTemplateInput: z.input<typeof analysisTemplate> = {
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

export const defaultStepsInput: z.input<typeof stepSpec>[] = [
  { setWeight: 5 },
  { pause: { duration: '10m' } },
  { setWeight: 25 },
  { pause: { duration: '10m' } },
  { setWeight: 50 },
  { pause: { duration: '10m' } },
  { setWeight: 100 },
];
