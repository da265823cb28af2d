/**
 * SQL for users, sessions, API keys, onboarding and the revocation log (identity's schema only).
 * Tenant scoping comes from the caller's transaction (RLS) — except the credential lookups, which
 * run as the owner because they decide which tenant a request belongs to.
 */
import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.js';
import type { RevocationKind } from './credential-cache.js';
import type { ApiKey, User } from './humans-types.js';
import type { Role } from './roles.js';

interface UserRow {
  id: string;
  tenant_id: string;
  email: string;
  password_hash: string | null;
  role: Role;
  status: 'active' | 'disabled';
  created_at: Date;
  updated_at: Date;
}

const iso = (d: Date | string) => new Date(d).toISOString();
const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d));

export function toUser(r: UserRow): User {
  return {
    id: r.id,
    tenant_id: r.tenant_id,
    email: r.email,
    role: r.role,
    status: r.status,
    created_at: iso(r.created_at),
    updated_at: iso(r.updated_at),
  };
}

/** Inserts; undefined when the email is taken (by any tenant). */
export async function insertUser(
  db: Executor,
  row: { id: string; tenantId: string; email: string; passwordHash: string | null; role: Role },
): Promise<User | undefined> {
  const res = await sql<UserRow>`insert into identity.users (id, tenant_id, email, password_hash, role)
    values (${row.id}, ${row.tenantId}, ${row.email}, ${row.passwordHash}, ${row.role})
    on conflict do nothing returning *`.execute(db);
  return res.rows[0] ? toUser(res.rows[0]) : undefined;
}

export async function findUser(db: Executor, id: string): Promise<User | undefined> {
  const res = await sql<UserRow>`select * from identity.users where id = ${id}`.execute(db);
  return res.rows[0] ? toUser(res.rows[0]) : undefined;
}

export async function listUsers(db: Executor, options: { after?: string | undefined; limit: number }) {
  const res = await sql<UserRow>`select * from identity.users
    where (${options.after ?? null}::uuid is null or id > ${options.after ?? null}::uuid)
    order by id limit ${options.limit}`.execute(db);
  return res.rows.map(toUser);
}

/** Disables; returns the user (also when it was disabled already), or undefined if not visible. */
export async function disableUser(
  db: Executor,
  id: string,
): Promise<{ user: User; changed: boolean } | undefined> {
  const res = await sql<UserRow>`update identity.users set status = 'disabled', updated_at = now()
    where id = ${id} and status = 'active' returning *`.execute(db);
  if (res.rows[0]) return { user: toUser(res.rows[0]), changed: true };
  const user = await findUser(db, id);
  return user ? { user, changed: false } : undefined;
}

/** For login (owner access: the email decides the tenant). */
export async function findLoginByEmail(db: Executor, email: string) {
  const res = await sql<UserRow & { tenant_status: string }>`
    select u.*, t.status as tenant_status from identity.users u
    join identity.tenants t on t.id = u.tenant_id
    where lower(u.email) = lower(${email})`.execute(db);
  const r = res.rows[0];
  return r
    ? { user: toUser(r), passwordHash: r.password_hash, tenantActive: r.tenant_status === 'active' }
    : undefined;
}

// Sessions

export async function insertSession(
  db: Executor,
  row: { id: string; tenantId: string; userId: string; tokenHash: Buffer; expiresAt: Date },
): Promise<void> {
  await sql`insert into identity.sessions (id, tenant_id, user_id, token_hash, expires_at)
    values (${row.id}, ${row.tenantId}, ${row.userId}, ${row.tokenHash}, ${row.expiresAt})`.execute(db);
}

/** Ends a session; returns its tenant when a live session was ended. */
export async function revokeSession(db: Executor, id: string): Promise<boolean> {
  const res = await sql`update identity.sessions set revoked_at = now()
    where id = ${id} and revoked_at is null`.execute(db);
  return Number(res.numAffectedRows ?? 0) > 0;
}

export interface SessionLookup {
  id: string;
  tenant_id: string;
  user_id: string;
  token_hash: Uint8Array;
  expires_at: Date;
  revoked_at: Date | null;
  role: Role;
  user_status: string;
  tenant_status: string;
}

/** Owner access: the session decides the tenant. */
export async function findSessionByHash(db: Executor, hash: Buffer): Promise<SessionLookup | undefined> {
  const res = await sql<SessionLookup>`
    select s.id, s.tenant_id, s.user_id, s.token_hash, s.expires_at, s.revoked_at,
           u.role, u.status as user_status, t.status as tenant_status
    from identity.sessions s
    join identity.users u on u.id = s.user_id
    join identity.tenants t on t.id = s.tenant_id
    where s.token_hash = ${hash}`.execute(db);
  return res.rows[0];
}

// API keys

interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  prefix: string;
  secret_hash: Uint8Array;
  role: Role;
  scopes: string[];
  created_by: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
}

export function toApiKey(r: ApiKeyRow): ApiKey {
  return {
    id: r.id,
    tenant_id: r.tenant_id,
    name: r.name,
    prefix: r.prefix,
    role: r.role,
    scopes: r.scopes ?? [],
    created_by: r.created_by,
    expires_at: isoOrNull(r.expires_at),
    revoked_at: isoOrNull(r.revoked_at),
    last_used_at: isoOrNull(r.last_used_at),
    created_at: iso(r.created_at),
  };
}

export async function insertApiKey(
  db: Executor,
  row: {
    id: string;
    tenantId: string;
    name: string;
    prefix: string;
    secretHash: Buffer;
    role: Role;
    scopes: string[];
    createdBy: string;
    expiresAt: Date | null;
  },
): Promise<ApiKey> {
  const res = await sql<ApiKeyRow>`insert into identity.api_keys
      (id, tenant_id, name, prefix, secret_hash, role, scopes, created_by, expires_at)
    values (${row.id}, ${row.tenantId}, ${row.name}, ${row.prefix}, ${row.secretHash}, ${row.role},
            ${row.scopes}::text[], ${row.createdBy}, ${row.expiresAt})
    returning *`.execute(db);
  return toApiKey(res.rows[0]!);
}

export async function findApiKey(db: Executor, id: string): Promise<ApiKey | undefined> {
  const res = await sql<ApiKeyRow>`select * from identity.api_keys where id = ${id}`.execute(db);
  return res.rows[0] ? toApiKey(res.rows[0]) : undefined;
}

export async function listApiKeys(db: Executor, options: { after?: string | undefined; limit: number }) {
  const res = await sql<ApiKeyRow>`select * from identity.api_keys
    where (${options.after ?? null}::uuid is null or id > ${options.after ?? null}::uuid)
    order by id limit ${options.limit}`.execute(db);
  return res.rows.map(toApiKey);
}

/** Revokes (a no-op on a revoked key); undefined if the key is not visible. */
export async function revokeApiKey(
  db: Executor,
  id: string,
): Promise<{ key: ApiKey; changed: boolean } | undefined> {
  const res = await sql<ApiKeyRow>`update identity.api_keys set revoked_at = now()
    where id = ${id} and revoked_at is null returning *`.execute(db);
  if (res.rows[0]) return { key: toApiKey(res.rows[0]), changed: true };
  const key = await findApiKey(db, id);
  return key ? { key, changed: false } : undefined;
}

export interface ApiKeyLookup {
  id: string;
  tenant_id: string;
  secret_hash: Uint8Array;
  role: Role;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  tenant_status: string;
}

/** Owner access: the key decides the tenant. */
export async function findApiKeyByHash(db: Executor, hash: Buffer): Promise<ApiKeyLookup | undefined> {
  const res = await sql<ApiKeyLookup>`
    select k.id, k.tenant_id, k.secret_hash, k.role, k.scopes, k.expires_at, k.revoked_at,
           t.status as tenant_status
    from identity.api_keys k join identity.tenants t on t.id = k.tenant_id
    where k.secret_hash = ${hash}`.execute(db);
  return res.rows[0];
}

/** Batched last-used write (owner access), never earlier than what is stored. */
export async function touchApiKeys(db: Executor, ids: string[], at: Date[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`update identity.api_keys k set last_used_at = greatest(k.last_used_at, v.at)
    from unnest(${ids}::uuid[], ${at.map((d) => d.toISOString())}::timestamptz[]) as v(id, at)
    where k.id = v.id`.execute(db);
}

// Onboarding

export async function insertOnboarding(
  db: Executor,
  row: { tenantId: string; ownerUserId: string; rootKeySecret: string; defaultPolicySet: string },
): Promise<boolean> {
  const res = await sql`insert into identity.tenant_onboarding
      (tenant_id, owner_user_id, root_key_secret, default_policy_set)
    values (${row.tenantId}, ${row.ownerUserId}, ${row.rootKeySecret}, ${row.defaultPolicySet})
    on conflict do nothing`.execute(db);
  return Number(res.numAffectedRows ?? 0) > 0;
}

export async function isOnboarded(db: Executor, tenantId: string): Promise<boolean> {
  const res = await sql`select 1 from identity.tenant_onboarding where tenant_id = ${tenantId}`.execute(db);
  return res.rows.length > 0;
}

// Revocation log

export async function recordRevocation(
  db: Executor,
  row: { tenantId: string; kind: RevocationKind; subjectId: string },
): Promise<void> {
  await sql`insert into identity.credential_revocations (tenant_id, kind, subject_id)
    values (${row.tenantId}, ${row.kind}, ${row.subjectId})`.execute(db);
}

export async function latestRevocationSeq(db: Executor): Promise<number> {
  const res = await sql<{ seq: number | null }>`
    select max(seq) as seq from identity.credential_revocations`.execute(db);
  return Number(res.rows[0]?.seq ?? 0);
}

export async function revocationsAfter(db: Executor, seq: number, limit: number) {
  const res = await sql<{ seq: number; kind: RevocationKind; subject_id: string }>`
    select seq, kind, subject_id from identity.credential_revocations
    where seq > ${seq} order by seq limit ${limit}`.execute(db);
  return res.rows.map((r) => ({ seq: Number(r.seq), kind: r.kind, subjectId: r.subject_id }));
}
