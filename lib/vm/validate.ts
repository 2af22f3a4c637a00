import { z } from 'zod';
import { vmError } from './errors';
import { machineIdSchema, machineNameSchema, networkNameSchema, snapshotNameSchema } from './names';

/**
 * Every field a user gives a machine, checked before anything reaches libvirt. The XML
 * builder escapes all text anyway; refusing markup and control characters here as well
 * means an injection attempt is a 400 with a reason, not an odd domain definition.
 */

// XML 1.0 cannot carry C0/C1 controls or lone surrogates; tabs and newlines are refused too, as no field needs them.
const forbiddenChars =
  /[\u0000-\u001f\u007f-\u009f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const markup = /[<>]/;

export const safeText = (what: string, max: number) =>
  z
    .string()
    .max(max, `${what} must be at most ${max} characters`)
    // A pattern, so the OpenAPI document says it; the refinement adds what a pattern cannot (lone surrogates).
    .regex(/^[^\u0000-\u001f\u007f-\u009f\ufffe\uffff<>]*$/, `${what} must not contain control characters, '<' or '>'`)
    .refine((s) => !forbiddenChars.test(s), `${what} must not contain control characters`)
    .refine((s) => !markup.test(s), `${what} must not contain '<' or '>'`);

const metadataKey = z
  .string()
  .regex(
    /^[a-z][a-z0-9_.-]{0,62}$/,
    'metadata keys must be 1-63 lowercase letters, digits, dots, dashes and underscores, starting with a letter',
  );

export const metadataSchema = z
  .record(metadataKey, safeText('a metadata value', 256))
  .refine((m) => Object.keys(m).length <= 32, 'metadata may have at most 32 entries');

const absolutePath = (what: string) =>
  z
    .string()
    .max(1024)
    .regex(/^\/[A-Za-z0-9_.+/-]*$/, `${what} must be an absolute path of letters, digits and . _ + - /`)
    .refine((p) => !p.split('/').includes('..'), `${what} must not contain '..'`);

export const runStrategies = ['Always', 'RerunOnFailure', 'Manual', 'Halted'] as const;
export const runStrategySchema = z.enum(runStrategies);
export type RunStrategy = z.infer<typeof runStrategySchema>;

export const templateSchema = z.object({
  vcpus: z.number().int().min(1, 'vcpus must be between 1 and 64').max(64, 'vcpus must be between 1 and 64'),
  memoryMiB: z
    .number()
    .int()
    .min(64, 'memoryMiB must be between 64 and 262144')
    .max(262144, 'memoryMiB must be between 64 and 262144'),
  diskGiB: z.number().int().min(1).max(4096).optional(),
  disk: z.object({ path: absolutePath('disk path'), format: z.enum(['raw', 'qcow2']) }).optional(),
  network: networkNameSchema.optional(),
  os: z
    .object({
      arch: z.enum(['x86_64', 'aarch64']).default('x86_64'),
      /** A label for people (debian12, tiny-busybox); libvirt is not told. */
      variant: z
        .string()
        .regex(
          /^[a-z0-9][a-z0-9._-]{0,62}$/,
          'os.variant must be 1-63 lowercase letters, digits, dots, dashes and underscores',
        )
        .optional(),
    })
    .default({}),
  /** Direct kernel boot: the tiny test guest has no disk, only a kernel and an initramfs. */
  boot: z
    .object({
      kernel: absolutePath('kernel path'),
      initrd: absolutePath('initrd path').optional(),
      cmdline: safeText('kernel command line', 512).optional(),
    })
    .optional(),
});
export type Template = z.infer<typeof templateSchema>;

export const machineSpecSchema = z.object({
  machineId: machineIdSchema,
  name: machineNameSchema,
  description: safeText('description', 1000).optional(),
  metadata: metadataSchema.optional(),
  runStrategy: runStrategySchema.default('Manual'),
  template: templateSchema,
});
export type MachineSpec = z.infer<typeof machineSpecSchema>;

export const operationArgsSchemas = {
  start: z.object({}).strict(),
  shutdown: z
    .object({
      timeoutSeconds: z
        .number()
        .int()
        .min(1, 'timeoutSeconds must be between 1 and 600')
        .max(600, 'timeoutSeconds must be between 1 and 600')
        .optional(),
    })
    .strict(),
  destroy: z.object({}).strict(),
  reboot: z.object({}).strict(),
  suspend: z.object({}).strict(),
  resume: z.object({}).strict(),
  snapshot: z
    .object({ name: snapshotNameSchema, description: safeText('snapshot description', 1000).optional() })
    .strict(),
  revert: z.object({ snapshot: snapshotNameSchema }).strict(),
  resize: z
    .object({
      memoryMiB: templateSchema.shape.memoryMiB.optional(),
      vcpus: templateSchema.shape.vcpus.optional(),
    })
    .strict()
    .refine((r) => r.memoryMiB !== undefined || r.vcpus !== undefined, 'resize needs memoryMiB, vcpus or both'),
  delete: z.object({}).strict(),
} as const;

/** Parses with a schema; a failure is a VALIDATION_ERROR naming each bad field. */
export function parse<S extends z.ZodTypeAny>(schema: S, input: unknown, what = 'input'): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message));
  throw vmError('VALIDATION_ERROR', `invalid ${what}: ${problems.join('; ')}`, { problems });
}
