/**
 * SQL for the authz schema only: tenant root-key pointers and minted delegations. Tenant-scoped
 * statements run inside `db.withTenant` transactions, so RLS confines them to one tenant.
 */
import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.js';

export interface RootKeyRow {
  tenant_id: string;
  secret_name: string;
  secret_version: number | null;
}

export interface DelegationRow {
  id: string;
  tenant_id: string;
  agent_id: string;
  actions: string[];
  resources: string[];
  max_depth: number;
  not_after: Date;
  created_by: string;
  created_at: Date;
  revoked_at: Date | null;
  revoked_by: string | null;
  revoke_reason: string | null;
}

export async function findRootKey(db: Executor, tenantId: string): Promise<RootKeyRow | undefined> {
  return db
    .selectFrom('authz.root_keys')
    .select(['tenant_id', 'secret_name', 'secret_version'])
    .where('tenant_id', '=', tenantId)
    .executeTakeFirst();
}

/**
 * Claims the tenant's root-key row. Concurrent claimers wait on the primary key until the first commits,
 * then find the row taken: exactly one transaction ever creates a tenant's key.
 */
export async function claimRootKey(
  db: Executor,
  row: { tenantId: string; secretName: string },
): Promise<boolean> {
  const inserted = await sql<{ tenant_id: string }>`
    insert into authz.root_keys (tenant_id, secret_name) values (${row.tenantId}, ${row.secretName})
    on conflict (tenant_id) do nothing returning tenant_id`.execute(db);
  return inserted.rows.length === 1;
}

export async function pinRootKeyVersion(db: Executor, tenantId: string, version: number): Promise<void> {
  await db
    .updateTable('authz.root_keys')
    .set({ secret_version: version })
    .where('tenant_id', '=', tenantId)
    .execute();
}

export async function insertDelegation(
  db: Executor,
  row: Omit<DelegationRow, 'created_at' | 'revoked_at' | 'revoked_by' | 'revoke_reason'>,
): Promise<DelegationRow> {
  return db
    .insertInto('authz.delegations')
    .values({ ...row, actions: sql`${row.actions}::text[]`, resources: sql`${row.resources}::text[]` })
    .returningAll()
    .executeTakeFirstOrThrow() as Promise<DelegationRow>;
}

export async function findDelegation(db: Executor, id: string): Promise<DelegationRow | undefined> {
  return db.selectFrom('authz.delegations').selectAll().where('id', '=', id).executeTakeFirst() as Promise<
    DelegationRow | undefined
  >;
}

/** Marks a delegation revoked; undefined when it was already revoked (the transition leaves `active` only). */
export async function revokeDelegation(
  db: Executor,
  id: string,
  by: string,
  reason: string | null,
): Promise<DelegationRow | undefined> {
  return db
    .updateTable('authz.delegations')
    .set({ revoked_at: sql`now()`, revoked_by: by, revoke_reason: reason })
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returningAll()
    .executeTakeFirst() as Promise<DelegationRow | undefined>;
}

/** Whether a token id was revoked (owner access; only used while a node's revocation memory overflowed). */
export async function isRevoked(db: Executor, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('authz.delegations')
    .select('id')
    .where('id', '=', id)
    .where('revoked_at', 'is not', null)
    .executeTakeFirst();
  return row !== undefined;
}

/** Every revocation of every tenant whose token has not expired yet (owner access: node start-up). */
export async function listLiveRevocations(
  db: Executor,
  limit: number,
): Promise<{ id: string; not_after: Date }[]> {
  return db
    .selectFrom('authz.delegations')
    .select(['id', 'not_after'])
    .where('revoked_at', 'is not', null)
    .where('not_after', '>', sql<Date>`now()`)
    .orderBy('not_after', 'desc')
    .limit(limit)
    .execute();
}
