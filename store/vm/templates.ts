import type { Pool, PoolClient } from '../../lib/infra/db';
import type { Template } from '../../lib/vm/validate';

/** The one module that owns the queries of `machine_templates`. */

type Db = Pool | PoolClient;

export interface TemplateRecord {
  id: string;
  name: string;
  template: Template;
  createdAt: string;
}

function fromRow(r: Record<string, unknown>): TemplateRecord {
  const spec = (r.spec ?? {}) as Pick<Template, 'disk' | 'boot'>;
  return {
    id: String(r.id),
    name: r.name as string,
    template: {
      vcpus: r.vcpus as number,
      memoryMiB: r.memory_mib as number,
      ...(r.disk_gib === null ? {} : { diskGiB: r.disk_gib as number }),
      ...(r.network === null ? {} : { network: r.network as string }),
      os: {
        arch: r.os_arch as Template['os']['arch'],
        ...(r.os_variant === null ? {} : { variant: r.os_variant as string }),
      },
      ...spec,
    },
    createdAt: (r.created_at as Date).toISOString(),
  };
}

/** Inserts a template; a name that is taken returns undefined. */
export async function insertTemplate(db: Db, name: string, t: Template): Promise<TemplateRecord | undefined> {
  const spec = { ...(t.disk ? { disk: t.disk } : {}), ...(t.boot ? { boot: t.boot } : {}) };
  const { rows } = await db.query(
    `INSERT INTO machine_templates (name, vcpus, memory_mib, disk_gib, network, os_arch, os_variant, spec)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (name) DO NOTHING
     RETURNING *`,
    [name, t.vcpus, t.memoryMiB, t.diskGiB ?? null, t.network ?? null, t.os.arch, t.os.variant ?? null, spec],
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function getTemplate(db: Db, id: string): Promise<TemplateRecord | undefined> {
  return (await getTemplates(db, [id]))[0];
}

/** Several templates in one query, in the order asked (undefined where there is none): a DataLoader's batch. */
export async function getTemplates(db: Db, ids: readonly string[]): Promise<(TemplateRecord | undefined)[]> {
  const { rows } = await db.query('SELECT * FROM machine_templates WHERE id = ANY($1::bigint[])', [ids]);
  const byId = new Map(rows.map((r) => [String(r.id), fromRow(r)]));
  return ids.map((id) => byId.get(id));
}

export async function listTemplates(db: Db): Promise<TemplateRecord[]> {
  const { rows } = await db.query('SELECT * FROM machine_templates ORDER BY id');
  return rows.map(fromRow);
}
