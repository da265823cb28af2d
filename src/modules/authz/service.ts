/**
 * Delegation operations, pure of HTTP: mint a root token for an agent, revoke it, read its record,
 * inspect a token for people. Tokens themselves are never stored: only their ids and caveats.
 */
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import { publish } from '../../platform/events/bus.js';
import type { Principal } from '../../platform/http/auth.js';
import { ProblemError } from '../../platform/http/problem.js';
import { isUuid, newId } from '../../platform/ids.js';
import { recordAudit } from './audit-records.js';
import { DelegationTokenError, inspectToken, mintToken } from './delegation-token.js';
import { AuthzProblems } from './errors.js';
import { AuthzEvents, type DelegationRevokedPayload } from './events.js';
import { decodeMacaroon, deriveMacaroonKey, verifyMacaroonSignature } from './macaroon.js';
import { compileActionPatterns, compileResourcePatterns, PatternSyntaxError } from './patterns.js';
import type { RootKeys } from './root-keys.js';
import * as store from './store.js';
import {
  type Delegation,
  type Inspection,
  MAX_TTL_SECONDS,
  type MintBody,
  type MintedDelegation,
  type RevokeBody,
} from './types.js';

const DEFAULT_TTL_SECONDS = 3600;

/** What authz needs to know about an agent; identity's agent service provides it. */
export interface AgentLookup {
  /** The agent of this tenant; throws a 404 problem when there is none. */
  get(tenantId: string, agentId: string): Promise<{ id: string; status: string }>;
}

export interface DelegationServiceDeps {
  db: Database;
  clock: Clock;
  rootKeys: RootKeys;
  agents: AgentLookup;
  onEventsCommitted: () => void;
  /** Applies a revocation on this node at once (other nodes get it from the bus). */
  onRevoked: (tokenId: string, notAfter: number) => void;
}

function actorOf(p: Principal): string {
  return `${p.kind}:${p.id}`;
}

function iso(d: Date | string): string {
  return new Date(d).toISOString();
}

export function toDelegation(row: store.DelegationRow, nowMs: number): Delegation {
  const notAfter = iso(row.not_after);
  return {
    id: row.id,
    tenant_id: row.tenant_id,
    agent_id: row.agent_id,
    caveats: {
      tenant_id: row.tenant_id,
      holder: row.agent_id,
      actions: row.actions,
      resources: row.resources,
      not_after: notAfter,
      max_depth: row.max_depth,
    },
    status: row.revoked_at
      ? 'revoked'
      : new Date(row.not_after).getTime() < nowMs - 999
        ? 'expired'
        : 'active',
    expires_at: notAfter,
    created_by: row.created_by,
    created_at: iso(row.created_at),
    revoked_at: row.revoked_at ? iso(row.revoked_at) : null,
    revoked_by: row.revoked_by,
    revoke_reason: row.revoke_reason,
  };
}

/** not_after in unix seconds (the token's last valid second), from ttl_seconds or expires_at. */
function notAfterOf(body: MintBody, nowMs: number): number {
  if (body.ttl_seconds !== undefined && body.expires_at !== undefined) {
    throw AuthzProblems.invalidExpiry.create('give ttl_seconds or expires_at, not both', {
      field: 'body.expires_at',
    });
  }
  const now = Math.floor(nowMs / 1000);
  if (body.expires_at === undefined) return now + (body.ttl_seconds ?? DEFAULT_TTL_SECONDS);
  const at = Date.parse(body.expires_at);
  if (Number.isNaN(at) || at <= nowMs || at > nowMs + MAX_TTL_SECONDS * 1000) {
    throw AuthzProblems.invalidExpiry.create(
      `expires_at must be in the future and at most ${MAX_TTL_SECONDS / 86_400} days ahead, got ${body.expires_at}`,
      { field: 'body.expires_at' },
    );
  }
  return Math.floor(at / 1000);
}

function checkPatterns(body: MintBody): void {
  try {
    compileActionPatterns(body.actions);
  } catch (err) {
    if (err instanceof PatternSyntaxError)
      throw AuthzProblems.invalidCaveat.create(err.message, { field: 'body.actions' });
    throw err;
  }
  try {
    compileResourcePatterns(body.resources);
  } catch (err) {
    if (err instanceof PatternSyntaxError)
      throw AuthzProblems.invalidCaveat.create(err.message, { field: 'body.resources' });
    throw err;
  }
}

function tenantCaveatOf(caveats: readonly { kind: string; text: string }[]): string | undefined {
  const first = caveats[0];
  return first?.kind === 'tenant' ? first.text.slice('tenant = '.length) : undefined;
}

export function createDelegationService(deps: DelegationServiceDeps) {
  const { db, clock, rootKeys, agents } = deps;

  async function agentOf(tenantId: string, agentId: string) {
    try {
      return await agents.get(tenantId, agentId);
    } catch (err) {
      if (err instanceof ProblemError && err.status === 404) {
        throw AuthzProblems.agentNotFound.create(`no agent ${agentId} in this tenant`, {
          field: 'body.agent_id',
        });
      }
      throw err;
    }
  }

  return {
    /**
     * Mints a root token bound to one agent of the tenant.
     *
     * @example
     *   const d = await delegations.mint(principal, tenantId, {
     *     agent_id, actions: ['sandbox.*'], resources: ['repo:acme/**'], ttl_seconds: 3600, max_depth: 1 });
     *   d.token; // shown once
     */
    async mint(by: Principal, tenantId: string, body: MintBody): Promise<MintedDelegation> {
      checkPatterns(body);
      const nowMs = clock.now();
      const notAfter = notAfterOf(body, nowMs);
      const agent = await agentOf(tenantId, body.agent_id);
      if (agent.status !== 'active') {
        throw AuthzProblems.agentRevoked.create(`agent ${body.agent_id} was revoked`, {
          field: 'body.agent_id',
        });
      }
      const maxDepth = body.max_depth ?? 0;
      // Created (in its own transaction) before the mint: a key without a token yet is harmless, and the
      // mint transaction below then holds no lock on the key row.
      const rootKey = await rootKeys.ensure(tenantId);
      const id = newId();
      let token: string;
      try {
        token = mintToken({
          rootKey,
          tokenId: id,
          tenant: tenantId,
          holder: agent.id,
          actions: body.actions,
          resources: body.resources,
          notAfter,
          maxDepth,
        });
      } catch (err) {
        if (err instanceof DelegationTokenError) throw AuthzProblems.invalidCaveat.create(err.message);
        throw err;
      }
      const actor = actorOf(by);
      const row = await db.withTenant(tenantId, async (trx) => {
        const inserted = await store.insertDelegation(trx, {
          id,
          tenant_id: tenantId,
          agent_id: agent.id,
          actions: [...body.actions],
          resources: [...body.resources],
          max_depth: maxDepth,
          not_after: new Date(notAfter * 1000),
          created_by: actor,
        });
        const caveats = {
          agent_id: agent.id,
          actions: body.actions,
          resources: body.resources,
          not_after: new Date(notAfter * 1000).toISOString(),
          max_depth: maxDepth,
        };
        await publish(trx, {
          topic: AuthzEvents.minted,
          tenantId,
          payload: { token_id: id, ...caveats, actor },
        });
        await recordAudit(trx, {
          tenantId,
          eventType: 'delegation.minted',
          actor,
          resourceId: id,
          action: 'delegation.mint',
          outcome: 'success',
          metadata: caveats,
        });
        return inserted;
      });
      deps.onEventsCommitted();
      return { ...toDelegation(row, nowMs), token };
    },

    /**
     * Revokes a root token (and so every token attenuated from it) on every node. Revoking twice is
     * not an error: the second call answers the record as it is and publishes nothing.
     *
     * @example
     *   await delegations.revoke(principal, tenantId, { token_id, reason: 'agent retired' });
     */
    async revoke(by: Principal, tenantId: string, body: RevokeBody): Promise<Delegation> {
      const actor = actorOf(by);
      const { row, changed } = await db.withTenant(tenantId, async (trx) => {
        const current = await store.findDelegation(trx, body.token_id);
        if (!current) throw AuthzProblems.delegationNotFound.create(`no delegation ${body.token_id}`);
        const revoked = await store.revokeDelegation(trx, body.token_id, actor, body.reason ?? null);
        if (!revoked) return { row: current, changed: false };
        const payload: DelegationRevokedPayload = {
          token_id: revoked.id,
          agent_id: revoked.agent_id,
          not_after: iso(revoked.not_after),
          actor,
          reason: revoked.revoke_reason,
        };
        await publish(trx, { topic: AuthzEvents.revoked, tenantId, payload });
        await recordAudit(trx, {
          tenantId,
          eventType: 'delegation.revoked',
          actor,
          resourceId: revoked.id,
          action: 'delegation.revoke',
          outcome: 'success',
          metadata: { agent_id: revoked.agent_id, reason: revoked.revoke_reason },
        });
        return { row: revoked, changed: true };
      });
      if (changed) {
        deps.onRevoked(row.id, Math.ceil(new Date(row.not_after).getTime() / 1000));
        deps.onEventsCommitted();
      }
      return toDelegation(row, clock.now());
    },

    async get(tenantId: string, id: string): Promise<Delegation> {
      const row = await db.withTenant(tenantId, (trx) => store.findDelegation(trx, id));
      if (!row) throw AuthzProblems.delegationNotFound.create(`no delegation ${id}`);
      return toDelegation(row, clock.now());
    },

    /**
     * The caveats of a token, for people: decoded, the signature checked against the tenant root key,
     * and the stored record. A token of another tenant is reported as not found.
     *
     * @example
     *   const info = await delegations.inspect(tenantId, token);
     *   info.caveats.map((c) => c.text); // ['tenant = …', 'holder = …', …]
     */
    async inspect(tenantId: string, token: string): Promise<Inspection> {
      let info: ReturnType<typeof inspectToken>;
      try {
        info = inspectToken(token);
      } catch (err) {
        if (err instanceof DelegationTokenError) throw AuthzProblems.tokenUnreadable.create(err.message);
        throw err;
      }
      if (tenantCaveatOf(info.caveats) !== tenantId) {
        throw AuthzProblems.delegationNotFound.create('no delegation of this token in your tenant');
      }
      const key = (await rootKeys.load(tenantId)) ? rootKeys.cached(tenantId) : undefined;
      const signatureValid =
        key !== undefined && verifyMacaroonSignature(decodeMacaroon(token), deriveMacaroonKey(key));
      const row = isUuid(info.tokenId)
        ? await db.withTenant(tenantId, (trx) => store.findDelegation(trx, info.tokenId))
        : undefined;
      const e = info.effective;
      return {
        token_id: info.tokenId,
        caveats: info.caveats.map((c) => ({ index: c.index, kind: c.kind, text: c.text })),
        signature_valid: signatureValid,
        effective: e
          ? {
              holder: e.holder,
              holders: [...e.holders],
              actions: [...e.actions],
              resources: [...e.resources],
              not_after: new Date(e.notAfter * 1000).toISOString(),
              remaining_depth: e.remainingDepth,
            }
          : null,
        problem: info.problem ? { code: info.problem.code, detail: info.problem.detail } : null,
        delegation: row ? toDelegation(row, clock.now()) : null,
      };
    },

    /** Whether a token id was revoked: the database answer, for a node whose revocation memory overflowed. */
    async isRevoked(tokenId: string): Promise<boolean> {
      return store.isRevoked(db.kysely, tokenId);
    },

    /** Every unexpired revocation, for a node starting up (owner access; bounded). */
    async liveRevocations(limit: number): Promise<{ tokenId: string; notAfter: number }[]> {
      const rows = await store.listLiveRevocations(db.kysely, limit);
      return rows.map((r) => ({
        tokenId: r.id,
        notAfter: Math.ceil(new Date(r.not_after).getTime() / 1000),
      }));
    },
  };
}

export type DelegationService = ReturnType<typeof createDelegationService>;
