import { z } from 'zod';

/** The bounds and the named fields that the rollout spec's parts share. */

export const specLimits = {
  steps: 100,
  templates: 20,
  metricsPerTemplate: 20,
  count: 10_000,
  measurementLimit: 1000,
  queryLength: 4000,
} as const;

export const nameField = (field: string) =>
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

export const measurementLimit = (field: string) =>
  z
    .number()
    .int(`${field} must be a whole number`)
    .min(0, `${field} must be between 0 and ${specLimits.measurementLimit}`)
    .max(specLimits.measurementLimit, `${field} must be between 0 and ${specLimits.measurementLimit}`);

export const finite = (field: string) =>
  z.number({ invalid_type_error: `${field} must be a number` }).finite(`${field} must be a finite number`);
