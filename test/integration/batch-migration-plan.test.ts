import { forwardParams, forwardStatement } from '../../activities/batch-migration/batch-sql';
import { riskScoreSql, tradesRiskScore } from '../../lib/batch-migration/trades-risk-score';
import { migrationTestFile } from '../helpers/batch-migration-stack';

/**
 * The plan Postgres picks for a large SQL batch. A batch's cost must grow with the batch,
 * not with the table: the UPDATE of a 60,000-row batch once joined the batch to a hash
 * of the whole table, a sequential scan of every row in every batch.
 */
const file = migrationTestFile({ seedRows: 100_000 });

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const nodes = (n: PlanNode): PlanNode[] => [n, ...(n.Plans ?? []).flatMap(nodes)];

async function planOf(after: string | undefined, limit: number): Promise<PlanNode[]> {
  const window = { after, limit, dryRun: false };
  const at = { runId: 'plan-test', partition: 0, seq: 0 };
  // EXPLAIN without ANALYZE plans the statement and runs nothing of it.
  const { rows } = await file.stack.pool.query(
    `EXPLAIN (FORMAT JSON) ${forwardStatement(tradesRiskScore, riskScoreSql)}`,
    forwardParams(window, at),
  );
  return nodes(rows[0]['QUERY PLAN'][0].Plan);
}

test.each([
  ['the first batch', undefined, 60_000],
  ['a batch in the middle', '20000', 60_000],
  ['a small batch', '50000', 500],
])('%s reads trades by its key range, never a whole-table scan', async (_, after, limit) => {
  const plan = await planOf(after, limit);
  const onTrades = plan.filter((n) => n['Relation Name'] === 'trades');
  expect(onTrades.map((n) => n['Node Type'])).toContain('ModifyTable');
  expect(onTrades.filter((n) => n['Node Type'] === 'Seq Scan')).toEqual([]);
});
