/**
 * SQL for the policy schema only. Every function takes the transaction it runs in (tenant-scoped
 * ones run under `withTenant`, so RLS confines them even where a WHERE clause would not); no
 * business rules here.
 */
import { type Kysely, sql } from 'kysely';
import type { AnyDB, Executor, Tx } from '../../platform/db/database.js';
import type { DecisionOutcome, Rule, TestCase, VersionState } from './types.js';

export interface PolicyRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  latest_version: number;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export interface VersionRow {
  id: string;
  tenant_id: string;
  policy_id: string;
  version: number;
  state: VersionState;
  description: string;
  rules: Rule[];
  tests: TestCase[];
  source: Record<string, unknown> | null;
  created_by: string;
  created_at: Date;
  proposed_by: string | null;
  proposed_at: Date | null;
  enforced_by: string | null;
  enforced_at: Date | null;
  revoked_by: string | null;
  revoked_at: Date | null;
}

export interface TransitionRow {
  id: string;
  tenant_id: string;
  version_id: string;
  from_state: VersionState | null;
  to_state: VersionState;
  actor: string;
  reason: string;
  at: Date;
}

export interface HeadRow {
  tenant_id: string;
  active_version_id: string | null;
  shadow_version_id: string | null;
  seq: number;
}

export interface DisagreementRow {
  id: string;
  tenant_id: string;
  shadow_version_id: string;
  decision_id: string;
  active_version_id: string | null;
  active_decision: DecisionOutcome;
  active_rule_ids: string[];
  shadow_decision: DecisionOutcome;
  shadow_rule_ids: string[];
  action: string;
  created_at: Date;
}

export interface TemplateRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  visibility: 'private' | 'public';
  latest_version: number;
  forked_from: string | null;
  created_by: string;
  created_at: Date;
  updated_at: Date;
}

export interface TemplateVersionRow {
  id: string;
  tenant_id: string;
  template_id: string;
  version: number;
  parameters: unknown[];
  rules: Rule[];
  tests: TestCase[];
  created_by: string;
  created_at: Date;
}

const json = (v: unknown) => sql`${JSON.stringify(v)}::jsonb`;
const textArray = (v: readonly string[]) => sql`${v as string[]}::text[]`;
// The schema's tables are untyped in Kysely (AnyDB); rows are typed at this boundary.
const one = <T>(p: Promise<unknown>) => p as Promise<T | undefined>;
const many = <T>(p: Promise<unknown>) => p as Promise<T[]>;

// ——— policies ———

export async function insertPolicy(
  trx: Tx,
  row: Omit<PolicyRow, 'created_at' | 'updated_at'>,
): Promise<void> {
  await trx.insertInto('policy.policies').values(row).execute();
}

export function findPolicyByName(trx: Tx, name: string): Promise<PolicyRow | undefined> {
  return one(
    trx
      .selectFrom('policy.policies')
      .selectAll()
      .where(sql<boolean>`lower(name) = lower(${name})`)
      .executeTakeFirst(),
  );
}

/**
 * Whether the tenant has any policy. Filters on tenant_id itself: it also runs in an event
 * consumer's owner transaction, where no RLS tenant is set.
 */
export async function tenantHasPolicy(trx: Tx, tenantId: string): Promise<boolean> {
  const row = await trx
    .selectFrom('policy.policies')
    .select('id')
    .where('tenant_id', '=', tenantId)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export function getPolicy(trx: Tx, id: string, forUpdate = false): Promise<PolicyRow | undefined> {
  let q = trx.selectFrom('policy.policies').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  return one(q.executeTakeFirst());
}

export function listPolicies(trx: Tx, limit: number, after: string | undefined): Promise<PolicyRow[]> {
  let q = trx.selectFrom('policy.policies').selectAll().orderBy('id').limit(limit);
  if (after) q = q.where('id', '>', after);
  return many(q.execute());
}

export async function setLatestVersion(trx: Tx, policyId: string, version: number): Promise<void> {
  await trx
    .updateTable('policy.policies')
    .set({ latest_version: version, updated_at: sql`now()` })
    .where('id', '=', policyId)
    .execute();
}

// ——— versions ———

export async function insertVersion(
  trx: Tx,
  row: Pick<
    VersionRow,
    'id' | 'tenant_id' | 'policy_id' | 'version' | 'description' | 'rules' | 'tests' | 'source' | 'created_by'
  >,
): Promise<void> {
  await trx
    .insertInto('policy.versions')
    .values({
      ...row,
      state: 'draft',
      rules: json(row.rules),
      tests: json(row.tests),
      source: row.source === null ? null : json(row.source),
    })
    .execute();
}

export function getVersion(
  trx: Executor,
  policyId: string,
  version: number,
): Promise<VersionRow | undefined> {
  return one(
    trx
      .selectFrom('policy.versions')
      .selectAll()
      .where('policy_id', '=', policyId)
      .where('version', '=', version)
      .executeTakeFirst(),
  );
}

export async function getVersionsById(trx: Executor, ids: readonly string[]): Promise<VersionRow[]> {
  if (ids.length === 0) return [];
  return many(
    trx
      .selectFrom('policy.versions')
      .selectAll()
      .where('id', 'in', ids as string[])
      .execute(),
  );
}

export function listVersions(trx: Tx, policyId: string): Promise<VersionRow[]> {
  return many(
    trx
      .selectFrom('policy.versions')
      .selectAll()
      .where('policy_id', '=', policyId)
      .orderBy('version')
      .execute(),
  );
}

/** The latest version of a policy that was active once and is not now (a rollback target). */
export function latestFormerlyActive(trx: Tx, policyId: string): Promise<VersionRow | undefined> {
  return one(
    trx
      .selectFrom('policy.versions')
      .selectAll()
      .where('policy_id', '=', policyId)
      .where('enforced_at', 'is not', null)
      .where('state', 'in', ['superseded', 'revoked'])
      .orderBy('enforced_at', 'desc')
      .limit(1)
      .executeTakeFirst(),
  );
}

/**
 * Moves a version to `to` only if it is in one of `from` (compare-and-set): a retried or
 * concurrent transition updates nothing and the caller answers 409.
 */
export function transitionVersion(
  trx: Tx,
  id: string,
  from: readonly VersionState[],
  to: VersionState,
  set: Record<string, unknown> = {},
): Promise<VersionRow | undefined> {
  return one(
    trx
      .updateTable('policy.versions')
      .set({ state: to, ...set })
      .where('id', '=', id)
      .where('state', 'in', from as VersionState[])
      .returningAll()
      .executeTakeFirst(),
  );
}

export async function insertTransition(trx: Tx, row: Omit<TransitionRow, 'at'>): Promise<void> {
  await trx.insertInto('policy.transitions').values(row).execute();
}

export async function listTransitions(trx: Tx, versionIds: readonly string[]): Promise<TransitionRow[]> {
  if (versionIds.length === 0) return [];
  return many(
    trx
      .selectFrom('policy.transitions')
      .selectAll()
      .where('version_id', 'in', versionIds as string[])
      .orderBy('id')
      .execute(),
  );
}

// ——— heads ———

/** The tenant's head, locked for the rest of the transaction (created empty if missing). */
export async function lockHead(trx: Tx, tenantId: string): Promise<HeadRow> {
  await sql`insert into policy.heads (tenant_id) values (${tenantId}) on conflict (tenant_id) do nothing`.execute(
    trx,
  );
  const row = await trx
    .selectFrom('policy.heads')
    .select(['tenant_id', 'active_version_id', 'shadow_version_id', 'seq'])
    .where('tenant_id', '=', tenantId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  return row as HeadRow;
}

export function getHead(trx: Tx, tenantId: string): Promise<HeadRow | undefined> {
  return one(
    trx
      .selectFrom('policy.heads')
      .select(['tenant_id', 'active_version_id', 'shadow_version_id', 'seq'])
      .where('tenant_id', '=', tenantId)
      .executeTakeFirst(),
  );
}

export async function updateHead(
  trx: Tx,
  tenantId: string,
  set: { active_version_id?: string | null; shadow_version_id?: string | null },
): Promise<void> {
  await trx
    .updateTable('policy.heads')
    .set({ ...set, seq: sql`nextval('policy.head_seq')`, updated_at: sql`now()` })
    .where('tenant_id', '=', tenantId)
    .execute();
}

/** Heads changed after `seq`, across tenants (owner access: cache invalidation on every node). */
export function changedHeads(db: Kysely<AnyDB>, seq: number): Promise<{ tenant_id: string; seq: number }[]> {
  return many(
    db
      .selectFrom('policy.heads')
      .select(['tenant_id', 'seq'])
      .where('seq', '>', seq)
      .orderBy('seq')
      .limit(10_000)
      .execute(),
  );
}

export async function maxHeadSeq(db: Kysely<AnyDB>): Promise<number> {
  const r = await sql<{ m: number | null }>`select max(seq)::int8 as m from policy.heads`.execute(db);
  return r.rows[0]?.m ?? 0;
}

// ——— decisions and shadow disagreements ———

export async function insertDisagreements(trx: Tx, rows: readonly DisagreementRow[]): Promise<void> {
  if (rows.length === 0) return;
  await trx
    .insertInto('policy.shadow_disagreements')
    .values(
      rows.map((r) => ({
        ...r,
        active_rule_ids: textArray(r.active_rule_ids),
        shadow_rule_ids: textArray(r.shadow_rule_ids),
      })),
    )
    .execute();
}

export function listDisagreements(
  trx: Tx,
  shadowVersionId: string,
  limit: number,
  before: string | undefined,
): Promise<DisagreementRow[]> {
  let q = trx
    .selectFrom('policy.shadow_disagreements')
    .selectAll()
    .where('shadow_version_id', '=', shadowVersionId)
    .orderBy('id', 'desc')
    .limit(limit);
  if (before) q = q.where('id', '<', before);
  return many(q.execute());
}

export async function countDisagreements(trx: Tx, shadowVersionId: string): Promise<number> {
  const r = await trx
    .selectFrom('policy.shadow_disagreements')
    .select(sql<number>`count(*)::int8`.as('n'))
    .where('shadow_version_id', '=', shadowVersionId)
    .executeTakeFirst();
  return (r?.n as number | undefined) ?? 0;
}

// ——— templates ———

export async function insertTemplate(
  trx: Tx,
  row: Omit<TemplateRow, 'created_at' | 'updated_at'>,
): Promise<void> {
  await trx.insertInto('policy.templates').values(row).execute();
}

export async function insertTemplateVersion(
  trx: Tx,
  row: Omit<TemplateVersionRow, 'created_at'>,
): Promise<void> {
  await trx
    .insertInto('policy.template_versions')
    .values({ ...row, parameters: json(row.parameters), rules: json(row.rules), tests: json(row.tests) })
    .execute();
}

/** A template the tenant owns, or a public one of another tenant (RLS lets only those through). */
export function getTemplate(trx: Tx, id: string, forUpdate = false): Promise<TemplateRow | undefined> {
  let q = trx.selectFrom('policy.templates').selectAll().where('id', '=', id);
  if (forUpdate) q = q.forUpdate();
  return one(q.executeTakeFirst());
}

export function findTemplateByName(
  trx: Tx,
  tenantId: string,
  name: string,
): Promise<TemplateRow | undefined> {
  return one(
    trx
      .selectFrom('policy.templates')
      .selectAll()
      .where('tenant_id', '=', tenantId)
      .where(sql<boolean>`lower(name) = lower(${name})`)
      .executeTakeFirst(),
  );
}

/** The tenant's own templates and every public one, by id. */
export function listTemplates(trx: Tx, limit: number, after: string | undefined): Promise<TemplateRow[]> {
  let q = trx.selectFrom('policy.templates').selectAll().orderBy('id').limit(limit);
  if (after) q = q.where('id', '>', after);
  return many(q.execute());
}

export function getTemplateVersion(
  trx: Tx,
  templateId: string,
  version: number,
): Promise<TemplateVersionRow | undefined> {
  return one(
    trx
      .selectFrom('policy.template_versions')
      .selectAll()
      .where('template_id', '=', templateId)
      .where('version', '=', version)
      .executeTakeFirst(),
  );
}

export function listTemplateVersions(trx: Tx, templateId: string): Promise<TemplateVersionRow[]> {
  return many(
    trx
      .selectFrom('policy.template_versions')
      .selectAll()
      .where('template_id', '=', templateId)
      .orderBy('version')
      .execute(),
  );
}

export async function updateTemplate(
  trx: Tx,
  id: string,
  set: { latest_version?: number; visibility?: 'private' | 'public'; description?: string },
): Promise<void> {
  await trx
    .updateTable('policy.templates')
    .set({ ...set, updated_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}
