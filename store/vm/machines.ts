import type { Pool, PoolClient } from '../../lib/infra/db';
import type { DesiredState, Phase } from '../../lib/vm/contract';
import type { ObservedState } from '../../lib/vm/states';
import type { RunStrategy } from '../../lib/vm/validate';
import { iso } from '../rows';

/** The one module that owns the queries of `machines` and `machine_snapshots`. */

type Db = Pool | PoolClient;

export interface MachineRecord {
  id: string;
  name: string;
  templateId: string;
  owner: string | null;
  description: string | null;
  metadata: Record<string, string>;
  runStrategy: RunStrategy;
  status: Phase;
  desiredState: DesiredState;
  observedState: ObservedState;
  stateReason: string | null;
  libvirtUuid: string;
  lastError: string | null;
  observedAt: string | null;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

function fromRow(r: Record<string, unknown>): MachineRecord {
  return {
    id: String(r.id),
    name: r.name as string,
    templateId: String(r.template_id),
    owner: r.owner as string | null,
    description: r.description as string | null,
    metadata: r.metadata as Record<string, string>,
    runStrategy: r.run_strategy as RunStrategy,
    status: r.status as Phase,
    desiredState: r.desired_state as DesiredState,
    observedState: r.observed_state as ObservedState,
    stateReason: r.state_reason as string | null,
    libvirtUuid: r.libvirt_uuid as string,
    lastError: r.last_error as string | null,
    observedAt: iso(r.observed_at),
    createdAt: iso(r.created_at) as string,
    updatedAt: iso(r.updated_at) as string,
    deletedAt: iso(r.deleted_at),
  };
}

export interface NewMachine {
  name: string;
  templateId: string;
  runStrategy: RunStrategy;
  owner?: string;
  description?: string;
  metadata?: Record<string, string>;
}

/** Inserts a machine; undefined when a live machine has the name already. */
export async function insertMachine(db: Db, m: NewMachine): Promise<MachineRecord | undefined> {
  const { rows } = await db.query(
    `INSERT INTO machines (name, template_id, run_strategy, owner, description, metadata, desired_state)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (name) WHERE deleted_at IS NULL DO NOTHING
     RETURNING *`,
    [
      m.name,
      m.templateId,
      m.runStrategy,
      m.owner ?? null,
      m.description ?? null,
      m.metadata ?? {},
      m.runStrategy === 'Halted' ? 'stopped' : 'running',
    ],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/** Removes a machine whose workflow never started: nothing else refers to it yet. */
export async function forgetMachine(db: Db, id: string): Promise<void> {
  await db.query(`DELETE FROM machines WHERE id = $1 AND status = 'provisioning'`, [id]);
}

export async function getMachine(db: Db, id: string): Promise<MachineRecord | undefined> {
  const { rows } = await db.query('SELECT * FROM machines WHERE id = $1', [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export interface MachineFilter {
  status?: Phase;
  runStrategy?: RunStrategy;
  templateId?: string;
  owner?: string;
  namePrefix?: string;
  includeDeleted?: boolean;
  /** Keyset paging: machines with a greater id. */
  after?: string;
  limit: number;
}

/** One page in id order, and whether there is more after it. */
export async function listMachines(db: Db, f: MachineFilter): Promise<{ machines: MachineRecord[]; more: boolean }> {
  const where: string[] = [];
  const args: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    args.push(value);
    where.push(sql.replace('?', `$${args.length}`));
  };
  if (!f.includeDeleted && f.status !== 'deleted') where.push('deleted_at IS NULL');
  if (f.status) add('status = ?', f.status);
  if (f.runStrategy) add('run_strategy = ?', f.runStrategy);
  if (f.templateId) add('template_id = ?', f.templateId);
  if (f.owner) add('owner = ?', f.owner);
  // A prefix is matched literally: LIKE's wildcards in it are escaped.
  if (f.namePrefix)
    add(
      `name LIKE ? || '%'`,
      f.namePrefix.replace(/[\\%_]/g, (c) => `\\${c}`),
    );
  if (f.after) add('id > ?', f.after);
  args.push(f.limit + 1);
  const { rows } = await db.query(
    `SELECT * FROM machines ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id LIMIT $${args.length}`,
    args,
  );
  return { machines: rows.slice(0, f.limit).map(fromRow), more: rows.length > f.limit };
}

/** Every machine that has not been deleted: what the reconciler compares with libvirt. */
export async function liveMachines(db: Db): Promise<MachineRecord[]> {
  const { rows } = await db.query('SELECT * FROM machines WHERE deleted_at IS NULL ORDER BY id');
  return rows.map(fromRow);
}

export interface MachinePatch {
  status?: Phase;
  desiredState?: DesiredState;
  observedState?: ObservedState;
  stateReason?: string | null;
  runStrategy?: RunStrategy;
  lastError?: string | null;
}

const columns: Record<keyof MachinePatch, string> = {
  status: 'status',
  desiredState: 'desired_state',
  observedState: 'observed_state',
  stateReason: 'state_reason',
  runStrategy: 'run_strategy',
  lastError: 'last_error',
};

/**
 * Sets the given fields (absolute values, so running it twice is the same as once);
 * status `deleted` stamps deleted_at once. A deleted machine is never brought back.
 */
export async function updateMachine(db: Db, id: string, patch: MachinePatch): Promise<void> {
  const sets: string[] = [];
  const args: unknown[] = [id];
  for (const [key, column] of Object.entries(columns) as [keyof MachinePatch, string][]) {
    if (patch[key] === undefined) continue;
    args.push(patch[key]);
    sets.push(`${column} = $${args.length}`);
  }
  if (patch.observedState !== undefined) sets.push('observed_at = now()');
  if (patch.status === 'deleted') sets.push('deleted_at = coalesce(deleted_at, now())');
  if (!sets.length) return;
  await db.query(
    `UPDATE machines SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 AND (deleted_at IS NULL OR $${args.length + 1})`,
    [...args, patch.status === 'deleted'],
  );
}

/** Records a snapshot taken; one of the same name that was lost is replaced (taken now, no longer lost). */
export async function addSnapshot(db: Db, machineId: string, name: string, description?: string): Promise<void> {
  await db.query(
    `INSERT INTO machine_snapshots (machine_id, name, description) VALUES ($1, $2, $3)
     ON CONFLICT (machine_id, name) DO UPDATE
       SET description = EXCLUDED.description, created_at = now(), lost_at = NULL
       WHERE machine_snapshots.lost_at IS NOT NULL`,
    [machineId, name, description ?? null],
  );
}

export interface SnapshotRecord {
  name: string;
  description: string | null;
  createdAt: string;
  /** libvirt no longer has it; `lostAt` is when that was noticed. */
  lost: boolean;
  lostAt: string | null;
}

export async function listSnapshots(db: Db, machineId: string): Promise<SnapshotRecord[]> {
  const { rows } = await db.query(
    `SELECT name, description, created_at, lost_at FROM machine_snapshots WHERE machine_id = $1
     ORDER BY created_at, name`,
    [machineId],
  );
  return rows.map((r) => ({
    name: r.name,
    description: r.description,
    createdAt: iso(r.created_at) as string,
    lost: r.lost_at !== null,
    lostAt: iso(r.lost_at),
  }));
}

/** The snapshots not marked lost of the given machines, by machine id: what the reconciler checks. */
export async function liveSnapshots(db: Db, machineIds: string[]): Promise<Map<string, string[]>> {
  const byMachine = new Map<string, string[]>();
  if (!machineIds.length) return byMachine;
  const { rows } = await db.query(
    `SELECT machine_id, name FROM machine_snapshots WHERE lost_at IS NULL AND machine_id = ANY($1::bigint[])
     ORDER BY machine_id, created_at, name`,
    [machineIds],
  );
  for (const r of rows) {
    const id = String(r.machine_id);
    byMachine.set(id, [...(byMachine.get(id) ?? []), r.name as string]);
  }
  return byMachine;
}

/**
 * Marks the snapshots lost and returns each with the time it was first noticed: marking
 * one twice keeps the first time, so a retried call answers the same.
 */
export async function markSnapshotsLost(
  db: Db,
  machineId: string,
  names: string[],
): Promise<{ name: string; lostAt: string }[]> {
  const { rows } = await db.query(
    `UPDATE machine_snapshots SET lost_at = coalesce(lost_at, now())
     WHERE machine_id = $1 AND name = ANY($2::text[])
     RETURNING name, lost_at`,
    [machineId, names],
  );
  return rows.map((r) => ({ name: r.name as string, lostAt: iso(r.lost_at) as string }));
}
