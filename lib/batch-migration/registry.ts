import { notFound } from '../errors';
import type { MigrationDefinition } from './definition';
import { ordersPhoneE164 } from './orders-phone-e164';
import { tradesRiskScore } from './trades-risk-score';

export * from './definition';

/** Every data migration the project ships, by name. */
export const dataMigrations: ReadonlyMap<string, MigrationDefinition> = new Map(
  [tradesRiskScore, ordersPhoneE164].map((m) => [m.name, m]),
);

export function getMigrationDefinition(name: string): MigrationDefinition {
  const m = dataMigrations.get(name);
  if (!m)
    throw notFound(`no data migration named ${JSON.stringify(name)}; known: ${[...dataMigrations.keys()].join(', ')}`);
  return m;
}
