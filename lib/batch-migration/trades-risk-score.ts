import type { MigrationDefinition } from './definition';

/**
 * The seed's backfill: recompute trades.risk_score from symbol, quantity and
 * premium, clamped to 0–10. The score grows with the log of the notional
 * (quantity × premium) and carries a per-symbol class (0, 1 or 2).
 */
export const riskScoreSql =
  'least(10, greatest(0, round((ln(1 + abs(t.quantity)::numeric * t.premium) * 0.5 + length(t.symbol) % 3)::numeric, 2)))';

export const tradesRiskScore: MigrationDefinition = {
  name: 'trades-risk-score',
  description: 'Recompute trades.risk_score from symbol, quantity and premium (0–10)',
  table: 'trades',
  key: 'id',
  column: 'risk_score',
  columnType: 'numeric(6,2)',
  newValue: { sql: riskScoreSql },
  invalid: `t.risk_score IS NULL OR t.risk_score < 0 OR t.risk_score > 10 OR t.risk_score <> ${riskScoreSql}`,
  reversible: true,
};
