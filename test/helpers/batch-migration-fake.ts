import type { BatchInput, BatchResult } from '../../activities/batch-migration';
import type { RunPatch } from '../../store/batch-migration/runs';

/**
 * Fake activities for batchMigration on the time-skipping server (test/workflows/batch-migration*.test.ts),
 * and a gate the test opens to hold a batch where it wants the run.
 */

/** A pretend table of `total` rows keyed 1..total, and a record of what the workflow asked for. */
export function fakeDb(
  total: number,
  opts: {
    ms?: number;
    load?: (seq: number) => BatchResult['load'];
    /** Holds a batch (or a settings record) until the promise it returns resolves. */
    gate?: (input: BatchInput) => Promise<void> | undefined;
    recordGate?: (patch: RunPatch) => Promise<void> | undefined;
  } = {},
) {
  const applied: BatchInput[] = [];
  const states: string[] = [];
  const activities = {
    async startMigrationRun() {
      return { estimatedTotal: total };
    },
    async recordMigrationRun(_id: string, patch: RunPatch) {
      await opts.recordGate?.(patch);
      if (patch.state) states.push(patch.state);
    },
    async applyMigrationBatch(input: BatchInput): Promise<BatchResult> {
      await opts.gate?.(input);
      applied.push(input);
      const from = Number(input.after ?? 0);
      const rows = Math.max(0, Math.min(input.batchSize, total - from));
      return {
        rows,
        changed: rows,
        lastKey: rows ? String(from + rows) : input.after,
        done: rows < input.batchSize,
        ms: opts.ms ?? 100,
        replayed: false,
        load: opts.load?.(input.seq) ?? { activeConnections: 0, lockWaits: 0 },
      };
    },
    async verifyDataMigration() {
      return { ok: true, invalidRows: 0, sampleKeys: [] };
    },
  };
  return { applied, states, activities };
}

/** A gate the test opens: `wait()` blocks until `open()`; `reached` says someone is waiting. */
export function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  let reached = false;
  return {
    wait: () => {
      reached = true;
      return opened;
    },
    open: () => open(),
    get reached() {
      return reached;
    },
  };
}
