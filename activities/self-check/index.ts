import { log } from '@temporalio/activity';
import type { Pool } from '../../lib/infra/db';

export interface SelfCheckDeps {
  pool: Pool;
}

export function createSelfCheckActivities({ pool }: SelfCheckDeps) {
  return {
    /**
     * Writes one step of a self-check. Safe to run twice: the row is keyed by
     * (workflow, step) and a second insert does nothing. Returns when it was written.
     */
    async recordSelfCheckStep(workflowId: string, step: string, correlationId?: string): Promise<string> {
      const { rows } = await pool.query<{ written_at: Date }>(
        `INSERT INTO self_check_steps (workflow_id, step, correlation_id) VALUES ($1, $2, $3)
         ON CONFLICT (workflow_id, step) DO UPDATE SET step = EXCLUDED.step
         RETURNING written_at`,
        [workflowId, step, correlationId ?? null],
      );
      log.info('self-check step written', { step });
      return rows[0].written_at.toISOString();
    },
  };
}

export type SelfCheckActivities = ReturnType<typeof createSelfCheckActivities>;
