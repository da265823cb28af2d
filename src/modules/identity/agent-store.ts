/** SQL for identity.agents and identity.agent_keys; tenant scoping comes from the caller's transaction. */
import { sql } from 'kysely';
import type { Executor } from '../../platform/db/database.js';
import type { Agent } from './agent-types.js';

export interface AgentRow {
  id: string;
  tenant_id: string;
  name: string;
  public_key: Uint8Array;
  key_version: number;
  tier: Agent['tier'];
  trust_level: Agent['trust_level'];
  trust_before_suspend: 'trusted' | 'untrusted' | null;
  owner: string;
  metadata: Record<string, unknown>;
  revision: number;
  revoked_at: Date | null;
  created_at: Date;
  updated_at: Date;
  last_active_at: Date | null;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

export function toAgent(r: AgentRow): Agent {
  return {
    id: r.id,
    tenant_id: r.tenant_id,
    name: r.name,
    public_key: Buffer.from(r.public_key).toString('base64url'),
    key_version: r.key_version,
    tier: r.tier,
    trust_level: r.trust_level,
    status: r.revoked_at ? 'revoked' : 'active',
    owner: r.owner,
    metadata: r.metadata,
    created_at: iso(r.created_at)!,
    updated_at: iso(r.updated_at)!,
    last_active_at: iso(r.last_active_at),
    revoked_at: iso(r.revoked_at),
  };
}

export async function insertAgent(
  db: Executor,
  row: {
    id: string;
    tenantId: string;
    name: string;
    publicKey: Buffer;
    tier: string;
    trustLevel: string;
    owner: string;
    metadata: unknown;
  },
): Promise<AgentRow | undefined> {
  const res =
    await sql<AgentRow>`insert into identity.agents (id, tenant_id, name, public_key, tier, trust_level, owner, metadata)
    values (${row.id}, ${row.tenantId}, ${row.name}, ${row.publicKey}, ${row.tier}, ${row.trustLevel}, ${row.owner},
            ${JSON.stringify(row.metadata)}::jsonb)
    on conflict (id) do nothing returning *`.execute(db);
  const agent = res.rows[0];
  if (agent) {
    await sql`insert into identity.agent_keys (agent_id, tenant_id, key_version, public_key)
              values (${row.id}, ${row.tenantId}, 1, ${row.publicKey})`.execute(db);
  }
  return agent;
}

export async function findAgent(
  db: Executor,
  id: string,
  options: { forUpdate?: boolean } = {},
): Promise<AgentRow | undefined> {
  const res = options.forUpdate
    ? await sql<AgentRow>`select * from identity.agents where id = ${id} for update`.execute(db)
    : await sql<AgentRow>`select * from identity.agents where id = ${id}`.execute(db);
  return res.rows[0];
}

export async function listAgents(
  db: Executor,
  options: { after?: { createdAt: string; id: string }; limit: number; includeRevoked: boolean },
): Promise<AgentRow[]> {
  const res = await sql<AgentRow>`select * from identity.agents
    where (${options.includeRevoked} or revoked_at is null)
      and (${options.after?.createdAt ?? null}::timestamptz is null
           or (created_at, id) > (${options.after?.createdAt ?? null}::timestamptz, ${options.after?.id ?? ''}))
    order by created_at, id limit ${options.limit}`.execute(db);
  return res.rows;
}

/** Applies a change and bumps the revision (which invalidates every node's cached key). */
export async function updateAgent(
  db: Executor,
  id: string,
  change: { trustLevel?: string; trustBeforeSuspend?: string | null; revoke?: boolean; publicKey?: Buffer },
): Promise<AgentRow> {
  const res = await sql<AgentRow>`update identity.agents set
      trust_level = coalesce(${change.trustLevel ?? null}, trust_level),
      trust_before_suspend = case when ${change.trustBeforeSuspend !== undefined} then ${change.trustBeforeSuspend ?? null}
                                  else trust_before_suspend end,
      revoked_at = case when ${change.revoke ?? false} then now() else revoked_at end,
      public_key = coalesce(${change.publicKey ?? null}::bytea, public_key),
      key_version = key_version + case when ${change.publicKey !== undefined} then 1 else 0 end,
      revision = revision + 1,
      updated_at = now()
    where id = ${id} returning *`.execute(db);
  return res.rows[0]!;
}

export async function recordKeyRotation(
  db: Executor,
  agent: AgentRow,
  previousVersion: number,
): Promise<void> {
  await sql`update identity.agent_keys set retired_at = now() where agent_id = ${agent.id} and key_version = ${previousVersion}`.execute(
    db,
  );
  await sql`insert into identity.agent_keys (agent_id, tenant_id, key_version, public_key)
            values (${agent.id}, ${agent.tenant_id}, ${agent.key_version}, ${agent.public_key})`.execute(db);
}

/** The authenticator's lookup: the agent with its tenant's status, across tenants (owner access). */
export async function findAgentForAuth(
  db: Executor,
  id: string,
): Promise<(AgentRow & { tenant_status: string }) | undefined> {
  const res = await sql<AgentRow & { tenant_status: string }>`select a.*, t.status as tenant_status
    from identity.agents a join identity.tenants t on t.id = a.tenant_id where a.id = ${id}`.execute(db);
  return res.rows[0];
}

export async function touchAgents(db: Executor, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await sql`update identity.agents set last_active_at = now() where id = any(${ids}::text[])`.execute(db);
}
