import { z } from 'zod';
import { durationSchema } from './duration';
import { nameField, specLimits } from './spec-fields';

/** A rollout's steps: setWeight, pause (for a duration or until approved) and analysis, one each. */

const weight = z
  .number({ invalid_type_error: 'setWeight must be a number from 0 to 100' })
  .int('setWeight must be a whole percentage')
  .min(0, 'setWeight must be between 0 and 100')
  .max(100, 'setWeight must be between 0 and 100');

export const templateRefs = z
  .object({
    templates: z
      .array(nameField('template name'))
      .min(1, 'analysis needs at least one template')
      .max(specLimits.templates),
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

export const describeStep = (step: Step): string =>
  'setWeight' in step
    ? `set weight ${step.setWeight} %`
    : 'pause' in step
      ? 'duration' in step.pause
        ? `pause ${step.pause.duration}`
        : 'wait for approval'
      : `analysis ${step.analysis.templates.join(', ')}`;
