/**
 * Agent lifecycle: challenge → register (proof of possession) → rotate / suspend / reinstate /
 * revoke. Every change bumps the agent's revision and republishes it in Counters, so every node's
 * cached key is refreshed on the agent's next request (see agent-auth.ts).
 */
import { randomBytes } from 'node:crypto';
import type { Counters } from '../../platform/counters/types.js';
import type { Database, Tx } from '../../platform/db/database.js';
import { publish } from '../../platform/events/bus.js';
import type { Principal } from '../../platform/http/auth.js';
import { AgentProblems } from './agent-errors.js';
import {
  AgentKeyError,
  agentIdFor,
  decodePublicKey,
  registrationMessage,
  rotationMessage,
  verifySignature,
} from './agent-keys.js';
import * as store from './agent-store.js';
import type { Agent, RegisterAgentBody, RotateKeyBody } from './agent-types.js';

const CHALLENGE_TTL_MS = 5 * 60_000;
export const AGENT_REVISION_TTL_MS = 30 * 24 * 3600_000;

export const agentRevisionKey = (agentId: string) => `agent-rev:${agentId}`;
const CURRENT_MAX = 50_000;
// Even with an unchanged revision an entry is re-read after a minute (a lost Counters value).
const CURRENT_MAX_AGE_MS = 60_000;

export interface AgentServiceDeps {
  db: Database;
  counters: Counters;
  onEventsCommitted: () => void;
}

function actor(p: Principal): string {
  return `${p.kind}:${p.id}`;
}

function keyOrProblem(text: string, field: string) {
  try {
    return decodePublicKey(text, field);
  } catch (err) {
    if (err instanceof AgentKeyError)
      throw AgentProblems.invalidPublicKey.create(err.message, { field: `body.${field}` });
    throw err;
  }
}

export function createAgentService({ db, counters, onEventsCommitted }: AgentServiceDeps) {
  const currentCache = new Map<string, { agent: Agent; revision: string; loadedAt: number }>();
  async function changed(
    trx: Tx,
    agent: store.AgentRow,
    event: string,
    by: Principal,
    extra: Record<string, unknown> = {},
  ) {
    await publish(trx, {
      topic: `identity.agent.${event}`,
      tenantId: agent.tenant_id,
      payload: { agent_id: agent.id, revision: agent.revision, actor: actor(by), ...extra },
    });
    await publish(trx, {
      topic: 'audit.record',
      tenantId: agent.tenant_id,
      payload: {
        product: 'identity',
        event_type: `agent.${event}`,
        actor: actor(by),
        resource_id: agent.id,
        action: `agent.${event}`,
        outcome: 'success',
        metadata: { revision: agent.revision, ...extra },
      },
    });
  }

  async function afterCommit(agent: store.AgentRow) {
    // After the commit: other nodes compare this revision with their cached one on the next request.
    await counters.kvSet(agentRevisionKey(agent.id), String(agent.revision), AGENT_REVISION_TTL_MS);
    onEventsCommitted();
  }

  async function mutate(
    tenantId: string,
    id: string,
    fn: (trx: Tx, row: store.AgentRow) => Promise<store.AgentRow>,
  ): Promise<Agent> {
    const row = await db.withTenant(tenantId, async (trx) => {
      const current = await store.findAgent(trx, id, { forUpdate: true });
      if (!current) throw AgentProblems.agentNotFound.create(`no agent ${id}`);
      if (current.revoked_at) throw AgentProblems.agentRevoked.create(`agent ${id} was revoked`);
      return fn(trx, current);
    });
    await afterCommit(row);
    return store.toAgent(row);
  }

  return {
    /** A one-time challenge for registering an agent in this tenant, valid 5 minutes. */
    async createChallenge(tenantId: string) {
      const challenge = randomBytes(32).toString('base64url');
      await counters.kvSet(`agent-challenge:${challenge}`, tenantId, CHALLENGE_TTL_MS);
      return {
        challenge,
        tenant_id: tenantId,
        expires_at: new Date(Date.now() + CHALLENGE_TTL_MS).toISOString(),
      };
    },

    /**
     * @example
     *   const agent = await agents.register(tenantId, principal, { name, public_key, challenge, signature });
     */
    async register(tenantId: string, by: Principal, body: RegisterAgentBody): Promise<Agent> {
      const { raw, key } = keyOrProblem(body.public_key, 'public_key');
      const challengeKey = `agent-challenge:${body.challenge}`;
      const boundTenant = await counters.kvGet(challengeKey);
      if (boundTenant !== tenantId) {
        throw AgentProblems.challengeInvalid.create(
          'the challenge is unknown, expired, used, or was issued for another tenant',
          {
            field: 'body.challenge',
          },
        );
      }
      if (
        !verifySignature(key, registrationMessage(tenantId, body.challenge, body.public_key), body.signature)
      ) {
        throw AgentProblems.proofInvalid.create(
          'signature does not verify with public_key over the registration message',
          {
            field: 'body.signature',
          },
        );
      }
      // One use only: a second registration with the same challenge fails above.
      if (!(await counters.kvDelete(challengeKey))) {
        throw AgentProblems.challengeInvalid.create('the challenge was used concurrently', {
          field: 'body.challenge',
        });
      }
      const id = agentIdFor(raw);
      const row = await db.withTenant(tenantId, async (trx) => {
        const inserted = await store.insertAgent(trx, {
          id,
          tenantId,
          name: body.name,
          publicKey: raw,
          tier: body.tier ?? 'basic',
          trustLevel: body.trust_level ?? 'untrusted',
          owner: actor(by),
          metadata: body.metadata ?? {},
        });
        if (!inserted)
          throw AgentProblems.agentExists.create(`agent ${id} is already registered`, {
            field: 'body.public_key',
          });
        await changed(trx, inserted, 'registered', by, {
          tier: inserted.tier,
          trust_level: inserted.trust_level,
        });
        return inserted;
      });
      await afterCommit(row);
      return store.toAgent(row);
    },

    /**
     * The agent as of its latest change, for per-request callers (the decision path): served from a
     * bounded per-node cache while its revision in Counters is unchanged — suspension, revocation
     * and rotation bump the revision, so they take effect on the next call, as for signed requests
     * (agent-auth.ts). Undefined when there is no such agent in the tenant.
     */
    async current(tenantId: string, id: string): Promise<Agent | undefined> {
      const key = `${tenantId}:${id}`;
      const published = await counters.kvGet(agentRevisionKey(id));
      const hit = currentCache.get(key);
      if (hit && published === hit.revision && Date.now() - hit.loadedAt < CURRENT_MAX_AGE_MS)
        return hit.agent;
      const row = await db.withTenant(tenantId, (trx) => store.findAgent(trx, id));
      if (!row) {
        currentCache.delete(key);
        return undefined;
      }
      const revision = String(row.revision);
      if (published !== revision) await counters.kvSet(agentRevisionKey(id), revision, AGENT_REVISION_TTL_MS);
      if (currentCache.size >= CURRENT_MAX) currentCache.delete(currentCache.keys().next().value as string);
      const agent = store.toAgent(row);
      currentCache.set(key, { agent, revision, loadedAt: Date.now() });
      return agent;
    },

    async get(tenantId: string, id: string): Promise<Agent> {
      const row = await db.withTenant(tenantId, (trx) => store.findAgent(trx, id));
      if (!row) throw AgentProblems.agentNotFound.create(`no agent ${id}`);
      return store.toAgent(row);
    },

    async list(
      tenantId: string,
      query: { limit: number; cursor?: string | undefined; include_revoked: boolean },
    ) {
      let after: { createdAt: string; id: string } | undefined;
      if (query.cursor) {
        const [createdAt, id] = Buffer.from(query.cursor, 'base64url').toString('utf8').split('|');
        if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f]{64}$/.test(id)) {
          throw AgentProblems.invalidCursor.create('cursor is not a next_cursor of this list', {
            field: 'querystring.cursor',
          });
        }
        after = { createdAt, id };
      }
      const rows = await db.withTenant(tenantId, (trx) =>
        store.listAgents(trx, { after, limit: query.limit + 1, includeRevoked: query.include_revoked }),
      );
      const items = rows.slice(0, query.limit).map(store.toAgent);
      const last = items[items.length - 1];
      return {
        items,
        next_cursor:
          rows.length > query.limit && last
            ? Buffer.from(`${last.created_at}|${last.id}`).toString('base64url')
            : null,
      };
    },

    /** The new key is signed by the current key (hand-over) and by itself (possession). */
    rotateKey(tenantId: string, id: string, by: Principal, body: RotateKeyBody): Promise<Agent> {
      const next = keyOrProblem(body.new_public_key, 'new_public_key');
      return mutate(tenantId, id, async (trx, current) => {
        const message = rotationMessage(current.id, current.key_version, body.new_public_key);
        const currentKey = decodePublicKey(
          Buffer.from(current.public_key).toString('base64url'),
          'public_key',
        ).key;
        if (!verifySignature(currentKey, message, body.signature_by_current)) {
          throw AgentProblems.proofInvalid.create(
            'signature_by_current does not verify with the agent’s current key',
            {
              field: 'body.signature_by_current',
            },
          );
        }
        if (!verifySignature(next.key, message, body.signature_by_new)) {
          throw AgentProblems.proofInvalid.create('signature_by_new does not verify with new_public_key', {
            field: 'body.signature_by_new',
          });
        }
        const updated = await store.updateAgent(trx, id, { publicKey: next.raw });
        await store.recordKeyRotation(trx, updated, current.key_version);
        await changed(trx, updated, 'key_rotated', by, { key_version: updated.key_version });
        return updated;
      });
    },

    suspend(tenantId: string, id: string, by: Principal, reason?: string): Promise<Agent> {
      return mutate(tenantId, id, async (trx, current) => {
        if (current.trust_level === 'suspended')
          throw AgentProblems.agentStateConflict.create(`agent ${id} is already suspended`);
        const updated = await store.updateAgent(trx, id, {
          trustLevel: 'suspended',
          trustBeforeSuspend: current.trust_level,
        });
        await changed(trx, updated, 'suspended', by, { reason: reason ?? null });
        return updated;
      });
    },

    reinstate(tenantId: string, id: string, by: Principal, reason?: string): Promise<Agent> {
      return mutate(tenantId, id, async (trx, current) => {
        if (current.trust_level !== 'suspended')
          throw AgentProblems.agentStateConflict.create(`agent ${id} is not suspended`);
        const updated = await store.updateAgent(trx, id, {
          trustLevel: current.trust_before_suspend ?? 'untrusted',
          trustBeforeSuspend: null,
        });
        await changed(trx, updated, 'reinstated', by, { reason: reason ?? null });
        return updated;
      });
    },

    revoke(tenantId: string, id: string, by: Principal, reason?: string): Promise<Agent> {
      return mutate(tenantId, id, async (trx) => {
        const updated = await store.updateAgent(trx, id, { revoke: true });
        await changed(trx, updated, 'revoked', by, { reason: reason ?? null });
        return updated;
      });
    },
  };
}

export type AgentService = ReturnType<typeof createAgentService>;
