import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Pool } from '../../lib/infra/db';
import { conflict, notFound, validationError } from '../../lib/errors';
import {
  autoPartitionCount,
  batchSizeCeiling,
  batchSizeFloor,
  maxPartitions,
} from '../../lib/batch-migration/batching';
import { getMigrationDefinition } from '../../lib/batch-migration/registry';
import {
  batchMigrationStartOptions,
  batchMigrationWorkflowType,
  type BatchMigrationInput,
  type BatchMigrationWorkflow,
} from '../../lib/batch-migration/contract';
import { databaseCapacity } from './capacity';
import { createRun, getRun, updateRun, type RunRecord } from './runs';

/** Starting a run, shared by the API and `npm run migrate:data`. */

export const runParameters = z
  .object({
    batchSize: z.number().int().min(batchSizeFloor).max(batchSizeCeiling).default(1000),
    maxRowsPerSecond: z.number().int().min(1).max(10_000_000).optional(),
    targetBatchMs: z.number().int().min(50).max(60_000).optional(),
    dryRun: z.boolean().default(false),
    /** 'auto': one per database core other work leaves idle (./capacity.ts), chosen when the run starts. */
    partitions: z
      .union([z.number().int().min(1).max(maxPartitions), z.literal('auto')], {
        errorMap: () => ({ message: `must be a whole number from 1 to ${maxPartitions}, or "auto"` }),
      })
      .default(1),
    /** Start even while another forward run of the same migration is active (they then share the table). */
    concurrent: z.boolean().default(false),
  })
  .strict();

export type RunParameters = Omit<z.output<typeof runParameters>, 'concurrent'> & { concurrent?: boolean };

export interface StartContext {
  client: Client;
  pool: Pool;
  taskQueue: string;
  memo?: Record<string, unknown>;
}

async function launch(ctx: StartContext, run: RunRecord, input: BatchMigrationInput): Promise<RunRecord> {
  try {
    await ctx.client.workflow.start<BatchMigrationWorkflow>(batchMigrationWorkflowType, {
      ...batchMigrationStartOptions(run.id, input),
      taskQueue: ctx.taskQueue,
      memo: ctx.memo,
    });
    return run;
  } catch (err) {
    // The row was reserved but no workflow runs it: say so rather than leave it "starting".
    await updateRun(ctx.pool, run.id, {
      state: 'failed',
      lastError: `could not start: ${(err as Error).message}`,
      finished: true,
    });
    throw err;
  }
}

export async function startRun(ctx: StartContext, migration: string, params: RunParameters): Promise<RunRecord> {
  getMigrationDefinition(migration);
  const { concurrent, partitions: asked, ...rest } = params;
  // Dry runs change nothing, so they never contend with a real run.
  const exclusive = !concurrent && !rest.dryRun;
  // The count is fixed when the run starts, so the workflow (and a replay of it) sees a number;
  // the record keeps what it was chosen from.
  const auto = asked === 'auto' ? await databaseCapacity(ctx.pool) : undefined;
  const partitions = auto ? autoPartitionCount(auto) : Number(asked);
  const recorded = auto ? { ...rest, partitions, autoPartitions: auto } : { ...rest, partitions };
  const run = await createRun(
    ctx.pool,
    { migration, kind: 'forward', dryRun: rest.dryRun, params: recorded },
    { exclusive },
  );
  return launch(ctx, run, { migration, ...rest, partitions });
}

/** A reverse run restores what a finished forward run changed, batch by batch. */
export async function startReverse(
  ctx: StartContext,
  sourceId: string,
  params: Pick<RunParameters, 'maxRowsPerSecond'> = {},
): Promise<RunRecord> {
  const source = await getRun(ctx.pool, sourceId);
  if (!source) throw notFound(`no migration run ${sourceId}`);
  const m = getMigrationDefinition(source.migration);
  if (!m.reversible) throw validationError(`${m.name} cannot be reversed`);
  if (source.kind !== 'forward') throw validationError(`${sourceId} is a reverse run; reverse its forward run instead`);
  if (source.dryRun) throw validationError(`${sourceId} was a dry run and changed nothing`);
  if (!['completed', 'failed', 'cancelled'].includes(source.state)) {
    throw conflict(`${sourceId} is ${source.state}; reverse it once it has stopped (cancel it first)`);
  }
  const run = await createRun(ctx.pool, {
    migration: m.name,
    kind: 'reverse',
    reverses: sourceId,
    dryRun: false,
    params: { reverseOf: sourceId, ...params },
  });
  return launch(ctx, run, { migration: m.name, batchSize: 1000, reverseOf: sourceId, ...params });
}
