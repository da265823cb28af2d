/** SQL for identity's schema only; tenant scoping comes from the caller's transaction (RLS). */
import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.js';
import type { Tenant } from './types.js';

interface TenantRow {
  id: string;
  name: string;
  status: 'active' | 'deactivated';
  version: number;
  created_at: Date;
  updated_at: Date;
}

function toTenant(r: TenantRow): Tenant {
  return {
    id: r.id,
    name: r.name,
    status: r.status,
    version: r.version,
    created_at: new Date(r.created_at).toISOString(),
    updated_at: new Date(r.updated_at).toISOString(),
  };
}

/** Inserts; returns undefined when the name is taken (unique violation), leaving the transaction usable. */
export async function insertTenant(
  db: Executor,
  row: { id: string; name: string },
): Promise<Tenant | undefined> {
  const res = await sql<TenantRow>`insert into identity.tenants (id, name) values (${row.id}, ${row.name})
    on conflict do nothing returning *`.execute(db);
  return res.rows[0] ? toTenant(res.rows[0]) : undefined;
}

export async function findTenant(db: Executor, id: string): Promise<Tenant | undefined> {
  const res = await sql<TenantRow>`select * from identity.tenants where id = ${id}`.execute(db);
  return res.rows[0] ? toTenant(res.rows[0]) : undefined;
}

export async function listTenants(
  db: Executor,
  options: { after?: string; limit: number },
): Promise<Tenant[]> {
  const res = await sql<TenantRow>`select * from identity.tenants
    where (${options.after ?? null}::uuid is null or id > ${options.after ?? null}::uuid)
    order by id limit ${options.limit}`.execute(db);
  return res.rows.map(toTenant);
}

/**
 * Renames when the version matches (`expectedVersion` null = any); undefined when no active row
 * matched (the caller tells 404 / 409 / 412 apart). A taken name raises a unique violation (23505).
 */
export async function updateTenantName(
  db: Executor,
  id: string,
  name: string,
  expectedVersion: number | null,
): Promise<Tenant | undefined> {
  const res = await sql<TenantRow>`update identity.tenants
    set name = ${name}, version = version + 1, updated_at = now()
    where id = ${id} and status = 'active'
      and (${expectedVersion}::int is null or version = ${expectedVersion}::int)
    returning *`.execute(db);
  return res.rows[0] ? toTenant(res.rows[0]) : undefined;
}

/** Deactivates an active tenant; undefined when it was not active (or does not exist). */
export async function deactivateTenant(db: Executor, id: string): Promise<Tenant | undefined> {
  const res = await sql<TenantRow>`update identity.tenants
    set status = 'deactivated', version = version + 1, updated_at = now()
    where id = ${id} and status = 'active' returning *`.execute(db);
  return res.rows[0] ? toTenant(res.rows[0]) : undefined;
}
