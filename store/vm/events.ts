import type { Pool, PoolClient } from '../../lib/infra/db';
import type { Severity, VmErrorCode } from '../../lib/vm/errors';

/** The one module that owns the queries of `machine_events`: every operation and every error. */

type Db = Pool | PoolClient;

export type EventOutcome = 'ok' | 'error' | 'refused' | 'drift' | 'info';

export interface MachineEvent {
  machineId?: string;
  /** For a domain with no machine row, found by the reconciler. */
  domainName?: string;
  type: string;
  outcome: EventOutcome;
  code?: VmErrorCode;
  severity?: Severity;
  message: string;
  details?: Record<string, unknown>;
  /** The same key twice writes one event: what makes a retried activity's record safe. */
  dedupeKey?: string;
}

export interface MachineEventRecord extends Required<Pick<MachineEvent, 'type' | 'outcome' | 'message'>> {
  id: string;
  code: string | null;
  severity: string | null;
  details: Record<string, unknown>;
  at: string;
}

/** Inserts the events; those whose dedupe key was written before are skipped. Returns how many were new. */
export async function insertEvents(db: Db, events: MachineEvent[]): Promise<number> {
  if (!events.length) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO machine_events (machine_id, domain_name, type, outcome, code, severity, message, details, dedupe_key)
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::jsonb[], $9::text[])
     ON CONFLICT (dedupe_key) DO NOTHING`,
    [
      events.map((e) => e.machineId ?? null),
      events.map((e) => e.domainName ?? null),
      events.map((e) => e.type),
      events.map((e) => e.outcome),
      events.map((e) => e.code ?? null),
      events.map((e) => e.severity ?? null),
      events.map((e) => e.message),
      events.map((e) => JSON.stringify(e.details ?? {})),
      events.map((e) => e.dedupeKey ?? null),
    ],
  );
  return rowCount ?? 0;
}

const eventColumns = 'id, type, outcome, code, severity, message, details, created_at';

function eventFromRow(r: Record<string, unknown>): MachineEventRecord {
  return {
    id: String(r.id),
    type: r.type as string,
    outcome: r.outcome as MachineEventRecord['outcome'],
    code: r.code as MachineEventRecord['code'],
    severity: r.severity as MachineEventRecord['severity'],
    message: r.message as string,
    details: r.details as MachineEventRecord['details'],
    at: (r.created_at as Date).toISOString(),
  };
}

export async function listEvents(db: Db, machineId: string, limit = 20): Promise<MachineEventRecord[]> {
  const { rows } = await db.query(
    `SELECT ${eventColumns} FROM machine_events
     WHERE machine_id = $1 ORDER BY id DESC LIMIT $2`,
    [machineId, limit],
  );
  return rows.map(eventFromRow);
}

/** Events about domains that no machine owns. */
export async function listOrphanEvents(db: Db, domainName: string): Promise<MachineEventRecord[]> {
  const { rows } = await db.query(
    `SELECT ${eventColumns} FROM machine_events
     WHERE machine_id IS NULL AND domain_name = $1 ORDER BY id`,
    [domainName],
  );
  return rows.map(eventFromRow);
}
