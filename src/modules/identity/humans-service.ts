/**
 * The human side of identity, pure of HTTP: users, login sessions, API keys, tenant onboarding,
 * and the credential checks the edge's authenticators call on every request.
 *
 * Tenant-scoped operations run inside `db.withTenant(tenantId)` (RLS) whoever the caller is, so a
 * caller can never reach another tenant's rows even through a bug in a WHERE clause. Credential
 * lookups run as the owner: they are what decides the tenant.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import type { Counters } from '../../platform/counters/types.js';
import type { Database, Tx } from '../../platform/db/database.js';
import { publish } from '../../platform/events/bus.js';
import type { AuthResult, Principal } from '../../platform/http/auth.js';
import { decodeCursor, page } from '../../platform/http/pagination.js';
import { isUuid, newId } from '../../platform/ids.js';
import type { SecretsStore } from '../../platform/secrets.js';
import { actorOf, recordAudit } from './audit-records.js';
import {
  type CachedCredential,
  type CacheEntry,
  CredentialCache,
  type RevocationKind,
} from './credential-cache.js';
import {
  API_KEY_PREFIX,
  hashEquals,
  isWellFormedToken,
  mintToken,
  SESSION_PREFIX,
  tokenHash,
  visiblePrefix,
} from './credentials.js';
import { IdentityProblems } from './errors.js';
import { HumanEvents, TenantEvents } from './events.js';
import * as humans from './humans-store.js';
import type { ApiKey, CreateApiKeyBody, CreatedApiKey, CreateUserBody, User } from './humans-types.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { isRole, mayGrantRole, type Role } from './roles.js';
import * as store from './store.js';
import type { Tenant } from './types.js';

type LookupEntry = { reject: string } | Omit<CachedCredential, 'cachedUntil'>;

/** The policy-set marker written at onboarding; the policy module installs this catalogue set. */
export const DEFAULT_POLICY_SET = 'warden/default';

/** Failed logins allowed per email (and per client address) before 429, and their refill. */
const LOGIN_LIMITS = {
  email: { capacity: 5, refillPerSecond: 5 / 900 },
  ip: { capacity: 50, refillPerSecond: 50 / 900 },
};
const MAX_EXPIRY_MS = 10 * 365 * 24 * 3600_000;

export interface HumansServiceDeps {
  db: Database;
  secrets: SecretsStore;
  counters: Counters;
  clock: Clock;
  onEventsCommitted: () => void;
  /** How long a login session lives. */
  sessionTtlMs: number;
  cache?: { maxEntries?: number; ttlMs?: number; rejectionTtlMs?: number };
  /** Further caches of principals (verified SSO tokens) that revocations must also evict. */
  extraCaches?: CredentialCache[];
}

export function createHumansService(deps: HumansServiceDeps) {
  const { db, secrets, counters, clock, onEventsCommitted } = deps;
  const cache = new CredentialCache({
    maxEntries: deps.cache?.maxEntries ?? 10_000,
    ttlMs: deps.cache?.ttlMs ?? 60_000,
    rejectionTtlMs: deps.cache?.rejectionTtlMs ?? 30_000,
  });
  // Bumped by every eviction: a lookup that started before an eviction does not cache its answer,
  // so a revocation racing a cache miss cannot leave a revoked credential cached.
  let generation = 0;
  const inFlight = new Map<string, Promise<AuthResult>>();
  const lastUsed = new Map<string, number>();
  let revocationSeq = 0;
  let lastSyncAt = 0;
  let syncing: Promise<number> | undefined;

  /** Reads the revocation log past `revocationSeq` and evicts; one read at a time. */
  function syncRevocations(): Promise<number> {
    syncing ??= (async () => {
      try {
        const rows = await humans.revocationsAfter(db.kysely, revocationSeq, 1000);
        for (const r of rows) {
          evict(r.kind, r.subjectId);
          revocationSeq = Math.max(revocationSeq, r.seq);
        }
        lastSyncAt = clock.now();
        return rows.length;
      } finally {
        syncing = undefined;
      }
    })();
    return syncing;
  }

  function evict(kind: RevocationKind, subjectId: string): void {
    generation++;
    cache.evict(kind, subjectId);
    for (const extra of deps.extraCaches ?? []) extra.evict(kind, subjectId);
  }

  /** A transaction inside the tenant (RLS) that first checks the tenant exists for the caller. */
  async function inTenant<T>(
    tenantId: string,
    fn: (trx: Tx, tenant: Tenant) => Promise<T>,
    options: { write?: boolean } = {},
  ): Promise<T> {
    return db.withTenant(tenantId, async (trx) => {
      const tenant = await store.findTenant(trx, tenantId);
      if (!tenant) throw IdentityProblems.tenantNotFound.create(`no tenant ${tenantId}`);
      if (options.write && tenant.status !== 'active')
        throw IdentityProblems.tenantDeactivated.create(`tenant ${tenantId} is deactivated`);
      return fn(trx, tenant);
    });
  }

  function afterId(cursor: string | undefined): string | undefined {
    if (cursor === undefined) return undefined;
    const after = decodeCursor(cursor);
    if (!after)
      throw IdentityProblems.invalidCursor.create('cursor is not a next_cursor of this list', {
        field: 'querystring.cursor',
      });
    return after;
  }

  function checkRole(principal: Principal, role: Role, field: string): void {
    if (!mayGrantRole(principal, role))
      throw IdentityProblems.roleNotGrantable.create(
        `you cannot hand out the role ${role}: it holds permissions your credential does not`,
        { field },
      );
  }

  /** Mint and store an API key inside `trx` (shared by the route and by onboarding). */
  async function insertKey(
    trx: Tx,
    input: {
      tenantId: string;
      name: string;
      role: Role;
      scopes: string[];
      expiresAt: Date | null;
      actor: string;
    },
  ): Promise<CreatedApiKey> {
    const secret = mintToken(API_KEY_PREFIX);
    const key = await humans.insertApiKey(trx, {
      id: newId(),
      tenantId: input.tenantId,
      name: input.name,
      prefix: visiblePrefix(secret),
      secretHash: tokenHash(secret),
      role: input.role,
      scopes: input.scopes,
      createdBy: input.actor,
      expiresAt: input.expiresAt,
    });
    await publish(trx, {
      topic: HumanEvents.apiKeyCreated,
      tenantId: input.tenantId,
      payload: { api_key_id: key.id, tenant_id: input.tenantId, role: key.role, actor: input.actor },
    });
    await recordAudit(trx, {
      tenantId: input.tenantId,
      eventType: 'api_key.created',
      actor: input.actor,
      resourceId: key.id,
      action: 'create',
      outcome: 'success',
      metadata: { name: key.name, prefix: key.prefix, role: key.role, scopes: key.scopes },
    });
    return { ...key, key: secret };
  }

  async function insertUserIn(
    trx: Tx,
    input: {
      tenantId: string;
      email: string;
      role: Role;
      passwordHash: string | null;
      actor: string;
      field: string;
    },
  ): Promise<User> {
    const user = await humans.insertUser(trx, {
      id: newId(),
      tenantId: input.tenantId,
      email: input.email,
      passwordHash: input.passwordHash,
      role: input.role,
    });
    if (!user)
      throw IdentityProblems.emailTaken.create(`an account with the email ${input.email} exists`, {
        field: input.field,
      });
    await publish(trx, {
      topic: HumanEvents.userCreated,
      tenantId: input.tenantId,
      payload: { user_id: user.id, tenant_id: input.tenantId, role: user.role, actor: input.actor },
    });
    await recordAudit(trx, {
      tenantId: input.tenantId,
      eventType: 'user.created',
      actor: input.actor,
      resourceId: user.id,
      action: 'create',
      outcome: 'success',
      metadata: { role: user.role },
    });
    return user;
  }

  const cacheKey = (hash: Buffer) => hash.toString('latin1');

  /** The shared shape of both bearer-secret authenticators: cache, coalesced miss, DB lookup. */
  async function authenticateSecret(
    token: string,
    kind: 'api key' | 'session',
    lookup: (hash: Buffer, now: number) => Promise<{ entry: LookupEntry }>,
  ): Promise<AuthResult> {
    if (!isWellFormedToken(token)) return { reject: `malformed ${kind}` };
    const hash = tokenHash(token);
    const key = cacheKey(hash);
    const now = clock.now();
    // Also kicked from here, not only from the module's timer, so a node that does not serve the
    // identity routes (and so never starts its timer) still follows revocations. Never awaited.
    if (now - lastSyncAt > 1000 && !syncing) syncRevocations().catch(() => {});
    const hit = cache.get(key, now);
    if (hit) return answer(hit, now);
    let pending = inFlight.get(key);
    if (!pending) {
      const startedAt = generation;
      pending = lookup(hash, now)
        .then(({ entry }) => {
          if (generation === startedAt) {
            if ('reject' in entry) cache.setRejection(key, entry.reject, now);
            else cache.setCredential(key, entry, now);
          }
          return answer({ ...entry, cachedUntil: Number.POSITIVE_INFINITY } as CacheEntry, now);
        })
        .finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  }

  function answer(entry: CacheEntry, now: number): AuthResult {
    if ('reject' in entry) return { reject: entry.reject };
    if (entry.expiresAt !== null && entry.expiresAt <= now)
      return { reject: `${entry.principal.kind === 'api_key' ? 'API key' : 'session'} expired` };
    if (entry.principal.kind === 'api_key') lastUsed.set(entry.credentialId, now);
    return { principal: entry.principal };
  }

  return {
    /** For tests and metrics. */
    cache,

    // ---------------------------------------------------------------- authentication (hot path)

    /**
     * Check an API key (`wdn_k_…`). Cached by hash; a DB read only on a miss.
     *
     * @example
     *   const r = await humans.authenticateApiKey('wdn_k_…'); // { principal } | { reject }
     */
    authenticateApiKey(token: string): Promise<AuthResult> {
      return authenticateSecret(token, 'api key', async (hash, now) => {
        const row = await humans.findApiKeyByHash(db.kysely, hash);
        if (!row || !hashEquals(row.secret_hash, hash)) return { entry: { reject: 'unknown API key' } };
        if (row.revoked_at) return { entry: { reject: 'API key revoked' } };
        const expiresAt = row.expires_at ? new Date(row.expires_at).getTime() : null;
        if (expiresAt !== null && expiresAt <= now) return { entry: { reject: 'API key expired' } };
        if (row.tenant_status !== 'active')
          return { entry: { reject: 'the tenant of this API key is deactivated' } };
        const principal: Principal = {
          kind: 'api_key',
          id: row.id,
          tenantId: row.tenant_id,
          roles: [row.role],
          ...(row.scopes.length > 0 ? { scopes: row.scopes } : {}),
        };
        return { entry: { principal, credentialId: row.id, userId: null, expiresAt } };
      });
    },

    /** Check a session token (`wdn_s_…`, from the cookie or a bearer header). */
    authenticateSession(token: string): Promise<AuthResult> {
      return authenticateSecret(token, 'session', async (hash, now) => {
        const row = await humans.findSessionByHash(db.kysely, hash);
        if (!row || !hashEquals(row.token_hash, hash)) return { entry: { reject: 'unknown session' } };
        if (row.revoked_at) return { entry: { reject: 'session ended' } };
        const expiresAt = new Date(row.expires_at).getTime();
        if (expiresAt <= now) return { entry: { reject: 'session expired' } };
        if (row.user_status !== 'active') return { entry: { reject: 'account disabled' } };
        if (row.tenant_status !== 'active')
          return { entry: { reject: 'the tenant of this account is deactivated' } };
        const principal: Principal = {
          kind: 'user',
          id: row.user_id,
          tenantId: row.tenant_id,
          roles: [row.role],
        };
        return { entry: { principal, credentialId: row.id, userId: row.user_id, expiresAt } };
      });
    },

    /** Whether a tenant exists and is active (owner read; used once per new SSO token). */
    async isTenantActive(tenantId: string): Promise<boolean> {
      const tenant = await store.findTenant(db.kysely, tenantId);
      return tenant?.status === 'active';
    },

    /** Evict on this node now (the revocation log carries it to the others). */
    evict,

    /** Apply revocations other nodes logged since the last call. Returns how many were applied. */
    syncRevocations,

    /** Start following the revocation log from its current end. */
    async initRevocationSeq(): Promise<void> {
      revocationSeq = Math.max(revocationSeq, await humans.latestRevocationSeq(db.kysely));
      lastSyncAt = clock.now();
    },

    /** Write the buffered last-used times (batched: a key used 1000 times/s costs one write per flush). */
    async flushLastUsed(): Promise<number> {
      if (lastUsed.size === 0) return 0;
      const entries = [...lastUsed.entries()];
      lastUsed.clear();
      await humans.touchApiKeys(
        db.kysely,
        entries.map(([id]) => id),
        entries.map(([, at]) => new Date(at)),
      );
      return entries.length;
    },

    // ---------------------------------------------------------------- API keys

    /**
     * @example
     *   const { key } = await humans.createApiKey(principal, tenantId, { name: 'ci', role: 'developer' });
     */
    async createApiKey(
      principal: Principal,
      tenantId: string,
      body: CreateApiKeyBody,
    ): Promise<CreatedApiKey> {
      const ownRole = principal.kind === 'operator' ? 'owner' : principal.roles.find(isRole);
      const role = body.role ?? ownRole;
      if (!role)
        throw IdentityProblems.roleNotGrantable.create('name a role for the key', { field: 'body.role' });
      checkRole(principal, role, 'body.role');
      const scopes = body.scopes ?? [];
      if (principal.scopes && principal.scopes.length > 0) {
        // A scoped key may only mint keys at most as narrow as itself.
        const held = principal.scopes;
        const within = (s: string) =>
          held.some(
            (h) => h === '*' || h === s || (h.endsWith(':*') && s !== '*' && s.startsWith(h.slice(0, -1))),
          );
        if (scopes.length === 0 || !scopes.every(within))
          throw IdentityProblems.roleNotGrantable.create(
            `a scoped key can only create keys within its own scopes (${held.join(', ')})`,
            { field: 'body.scopes' },
          );
      }
      let expiresAt: Date | null = null;
      if (body.expires_at !== undefined) {
        expiresAt = new Date(body.expires_at);
        const ms = expiresAt.getTime();
        if (Number.isNaN(ms) || ms <= clock.now() || ms > clock.now() + MAX_EXPIRY_MS)
          throw IdentityProblems.invalidExpiry.create(
            `expires_at must be in the future and at most 10 years ahead, got ${body.expires_at}`,
            { field: 'body.expires_at' },
          );
      }
      const created = await inTenant(
        tenantId,
        (trx) =>
          insertKey(trx, { tenantId, name: body.name, role, scopes, expiresAt, actor: actorOf(principal) }),
        { write: true },
      );
      onEventsCommitted();
      return created;
    },

    async listApiKeys(tenantId: string, query: { limit: number; cursor?: string | undefined }) {
      const after = afterId(query.cursor);
      const rows = await inTenant(tenantId, (trx) =>
        humans.listApiKeys(trx, { after, limit: query.limit + 1 }),
      );
      return page(rows, query.limit);
    },

    async revokeApiKey(principal: Principal, tenantId: string, id: string): Promise<ApiKey> {
      const key = await inTenant(tenantId, async (trx) => {
        const res = await humans.revokeApiKey(trx, id);
        if (!res) throw IdentityProblems.apiKeyNotFound.create(`no API key ${id}`);
        if (res.changed) {
          await humans.recordRevocation(trx, { tenantId, kind: 'api_key', subjectId: id });
          await publish(trx, {
            topic: HumanEvents.apiKeyRevoked,
            tenantId,
            payload: { api_key_id: id, tenant_id: tenantId, actor: actorOf(principal) },
          });
          await recordAudit(trx, {
            tenantId,
            eventType: 'api_key.revoked',
            actor: actorOf(principal),
            resourceId: id,
            action: 'revoke',
            outcome: 'success',
            metadata: { prefix: res.key.prefix },
          });
        }
        return res.key;
      });
      evict('api_key', id);
      onEventsCommitted();
      return key;
    },

    // ---------------------------------------------------------------- users

    async createUser(principal: Principal, tenantId: string, body: CreateUserBody): Promise<User> {
      checkRole(principal, body.role, 'body.role');
      // argon2 before the transaction: it is CPU work that must not hold a connection.
      const passwordHash = body.password !== undefined ? await hashPassword(body.password) : null;
      const user = await inTenant(
        tenantId,
        (trx) =>
          insertUserIn(trx, {
            tenantId,
            email: body.email,
            role: body.role,
            passwordHash,
            actor: actorOf(principal),
            field: 'body.email',
          }),
        { write: true },
      );
      onEventsCommitted();
      return user;
    },

    async getUser(tenantId: string, id: string): Promise<User> {
      const user = await inTenant(tenantId, (trx) => humans.findUser(trx, id));
      if (!user) throw IdentityProblems.userNotFound.create(`no user ${id}`);
      return user;
    },

    async listUsers(tenantId: string, query: { limit: number; cursor?: string | undefined }) {
      const after = afterId(query.cursor);
      const rows = await inTenant(tenantId, (trx) =>
        humans.listUsers(trx, { after, limit: query.limit + 1 }),
      );
      return page(rows, query.limit);
    },

    /** Disables the account (data kept); its sessions stop working at once. */
    async disableUser(principal: Principal, tenantId: string, id: string): Promise<User> {
      const user = await inTenant(tenantId, async (trx) => {
        const res = await humans.disableUser(trx, id);
        if (!res) throw IdentityProblems.userNotFound.create(`no user ${id}`);
        if (res.changed) {
          checkRole(principal, res.user.role, 'params.id');
          await humans.recordRevocation(trx, { tenantId, kind: 'user', subjectId: id });
          await publish(trx, {
            topic: HumanEvents.userDisabled,
            tenantId,
            payload: { user_id: id, tenant_id: tenantId, actor: actorOf(principal) },
          });
          await recordAudit(trx, {
            tenantId,
            eventType: 'user.disabled',
            actor: actorOf(principal),
            resourceId: id,
            action: 'disable',
            outcome: 'success',
          });
        }
        return res.user;
      });
      evict('user', id);
      onEventsCommitted();
      return user;
    },

    // ---------------------------------------------------------------- login sessions

    /**
     * Password login. Constant-time whatever the email; failures count against the email and the
     * client address (429 once either is exhausted). Presenting a previous session token ends it:
     * every login gets a fresh token (no session fixation).
     *
     * @example
     *   const { token, user } = await humans.login({ email, password }, request.ip);
     */
    async login(
      input: { email: string; password: string },
      ip: string,
      previousToken?: string,
    ): Promise<{ user: User; token: string; expiresAt: string }> {
      const emailKey = `login:email:${createHash('sha256').update(input.email.toLowerCase()).digest('hex')}`;
      const ipKey = `login:ip:${ip}`;
      for (const [k, limits] of [
        [emailKey, LOGIN_LIMITS.email],
        [ipKey, LOGIN_LIMITS.ip],
      ] as const) {
        const bucket = await counters.takeToken(k, { ...limits, cost: 0 });
        if (bucket.remaining < 1) {
          const seconds = Math.max(1, Math.ceil(1 / limits.refillPerSecond));
          throw IdentityProblems.tooManyLoginAttempts.create(`too many failed logins; retry in ${seconds}s`, {
            retry_after: seconds,
            headers: { 'retry-after': String(seconds) },
          });
        }
      }
      const found = await humans.findLoginByEmail(db.kysely, input.email);
      const ok = await verifyPassword(found?.passwordHash, input.password);
      const audit = async (outcome: 'success' | 'failure', reason?: string, sessionId?: string) => {
        await db.transaction((trx) =>
          recordAudit(trx, {
            tenantId: found?.user.tenant_id ?? null,
            eventType: outcome === 'success' ? 'login.succeeded' : 'login.failed',
            actor: found ? `user:${found.user.id}` : 'anonymous',
            resourceId: sessionId ?? found?.user.id ?? null,
            action: 'login',
            outcome,
            metadata: { method: 'password', ip, ...(reason ? { reason } : {}) },
          }),
        );
        onEventsCommitted();
      };
      if (!found || !ok) {
        await counters.takeToken(emailKey, LOGIN_LIMITS.email);
        await counters.takeToken(ipKey, LOGIN_LIMITS.ip);
        await audit('failure', found ? 'wrong password' : 'unknown email');
        throw IdentityProblems.invalidCredentials.create('the email and password do not match an account');
      }
      if (found.user.status !== 'active' || !found.tenantActive) {
        await audit('failure', found.user.status !== 'active' ? 'account disabled' : 'tenant deactivated');
        throw IdentityProblems.accountDisabled.create(
          found.user.status !== 'active'
            ? 'this account is disabled'
            : 'the tenant of this account is deactivated',
        );
      }
      const tenantId = found.user.tenant_id;
      const token = mintToken(SESSION_PREFIX);
      const sessionId = newId();
      const expiresAt = new Date(clock.now() + deps.sessionTtlMs);
      await db.withTenant(tenantId, async (trx) => {
        await humans.insertSession(trx, {
          id: sessionId,
          tenantId,
          userId: found.user.id,
          tokenHash: tokenHash(token),
          expiresAt,
        });
        await recordAudit(trx, {
          tenantId,
          eventType: 'login.succeeded',
          actor: `user:${found.user.id}`,
          resourceId: sessionId,
          action: 'login',
          outcome: 'success',
          metadata: { method: 'password', ip },
        });
      });
      onEventsCommitted();
      if (previousToken) await this.logout(previousToken).catch(() => {});
      return { user: found.user, token, expiresAt: expiresAt.toISOString() };
    },

    /** Ends the session of this token; false if it was not a live session. */
    async logout(token: string): Promise<boolean> {
      if (!isWellFormedToken(token) || !token.startsWith(SESSION_PREFIX)) return false;
      const row = await humans.findSessionByHash(db.kysely, tokenHash(token));
      if (!row) return false;
      const ended = await db.withTenant(row.tenant_id, async (trx) => {
        const done = await humans.revokeSession(trx, row.id);
        if (done)
          await humans.recordRevocation(trx, { tenantId: row.tenant_id, kind: 'session', subjectId: row.id });
        return done;
      });
      evict('session', row.id);
      return ended;
    },

    async findUserOf(principal: Principal): Promise<User | undefined> {
      // SSO principals (`oidc:<sub>`) have no local account.
      if (principal.kind !== 'user' || !principal.tenantId || !isUuid(principal.id)) return undefined;
      return db.withTenant(principal.tenantId, (trx) => humans.findUser(trx, principal.id));
    },

    // ---------------------------------------------------------------- onboarding

    /**
     * Root key, owner account, owner API key and the default policy-set marker, in one transaction.
     *
     * @example
     *   const { api_key } = await humans.onboardTenant(operator, tenantId, { owner_email, owner_password });
     */
    async onboardTenant(
      principal: Principal,
      tenantId: string,
      body: { owner_email: string; owner_password: string },
    ): Promise<{ tenant: Tenant; owner: User; api_key: CreatedApiKey; default_policy_set: string }> {
      const passwordHash = await hashPassword(body.owner_password);
      const actor = actorOf(principal);
      const result = await db.transaction(async (trx) => {
        const tenant = await store.findTenant(trx, tenantId);
        if (!tenant) throw IdentityProblems.tenantNotFound.create(`no tenant ${tenantId}`);
        if (tenant.status !== 'active')
          throw IdentityProblems.tenantDeactivated.create(`tenant ${tenantId} is deactivated`);
        if (await humans.isOnboarded(trx, tenantId))
          throw IdentityProblems.tenantAlreadyOnboarded.create(`tenant ${tenantId} is already onboarded`);
        const owner = await insertUserIn(trx, {
          tenantId,
          email: body.owner_email,
          role: 'owner',
          passwordHash,
          actor,
          field: 'body.owner_email',
        });
        const rootKeySecret = `tenant/${tenantId}/root-key`;
        const rootKey = randomBytes(32);
        await secrets.put(trx, rootKeySecret, rootKey, { tenantId });
        rootKey.fill(0);
        const apiKey = await insertKey(trx, {
          tenantId,
          name: 'owner (onboarding)',
          role: 'owner',
          scopes: [],
          expiresAt: null,
          actor,
        });
        if (
          !(await humans.insertOnboarding(trx, {
            tenantId,
            ownerUserId: owner.id,
            rootKeySecret,
            defaultPolicySet: DEFAULT_POLICY_SET,
          }))
        )
          throw IdentityProblems.tenantAlreadyOnboarded.create(`tenant ${tenantId} is already onboarded`);
        await publish(trx, {
          topic: TenantEvents.onboarded,
          tenantId,
          payload: {
            tenant_id: tenantId,
            owner_user_id: owner.id,
            root_key_secret: rootKeySecret,
            default_policy_set: DEFAULT_POLICY_SET,
            actor,
          },
        });
        await recordAudit(trx, {
          tenantId,
          eventType: 'tenant.onboarded',
          actor,
          resourceId: tenantId,
          action: 'onboard',
          outcome: 'success',
          metadata: { owner_user_id: owner.id, default_policy_set: DEFAULT_POLICY_SET },
        });
        return { tenant, owner, api_key: apiKey, default_policy_set: DEFAULT_POLICY_SET };
      });
      onEventsCommitted();
      return result;
    },
  };
}

export type HumansService = ReturnType<typeof createHumansService>;
