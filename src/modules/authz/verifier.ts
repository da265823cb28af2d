/**
 * The in-process authorization check every module calls: may this principal do `action` on `resource`
 * under this delegation token?
 *
 * What is checked, in the order of verifyTokenGrant / authorizeRequest (delegation-token.ts): the token's
 * format and size, the tenant (only the caller's own tenant has a key here: a token of another tenant is
 * `tenant_unknown`), the whole HMAC chain under the tenant root key (constant-time compare), every
 * caveat (nothing widens, depth), revocation, expiry, then the holder binding (the calling agent must be
 * the token's last holder), the action and the resource. Anything that throws is a denial
 * (`internal_error`): the check fails closed.
 *
 * The hot path is the verified-token cache (token-cache.ts): a repeat of a token is a lookup and four
 * comparisons, and an allowed answer for the same token is the same frozen object every time. Revocation
 * reaches the cache by push (the bus), never by a database read per request.
 */
import type { Principal } from '../../platform/http/auth.js';
import type { ProblemError } from '../../platform/http/problem.js';
import type { AuthzAuditInput } from './audit-records.js';
import type { TokenFailureCode, VerifiedToken } from './delegation-token.js';
import { problemForFailure } from './errors.js';
import { decodeMacaroon } from './macaroon.js';
import type { RootKeys } from './root-keys.js';
import { createTokenCache, type TokenCache } from './token-cache.js';

/** Why a request was refused: a verifier code, or `token_missing` (an agent acted without a token). */
export type AuthorizeDenialReason = TokenFailureCode | 'token_missing';

export interface AuthorizeGrant {
  readonly allowed: true;
  /** The root token's id (shared by every token attenuated from it). */
  readonly tokenId: string;
  readonly tenantId: string;
  /** The agent the token is bound to: the caller. */
  readonly holder: string;
  /** The delegation chain, original holder first. */
  readonly holders: readonly string[];
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  /** Unix seconds, inclusive. */
  readonly notAfter: number;
  readonly remainingDepth: number;
}

export interface AuthorizeDenial {
  readonly allowed: false;
  readonly reason: AuthorizeDenialReason;
  /** What was wrong, for people (never contains the token). */
  readonly detail: string;
  /** The RFC 9457 problem to answer with (401 for an invalid token, 403 for one too narrow). */
  readonly problem: ProblemError;
}

export type AuthorizeResult = AuthorizeGrant | AuthorizeDenial;

/**
 * `authorize(principal, action, resource, token)`.
 *
 * @example
 *   const r = await authz.authorize(request.principal!, 'sandbox.create', 'repo:acme/widgets', body.delegation_token);
 *   if (!r.allowed) throw r.problem; // 401/403 problem+json with a stable type; the denial is already audited
 */
export type Authorize = (
  principal: Principal,
  action: string,
  resource: string,
  token?: string,
) => Promise<AuthorizeResult>;

export interface VerifierDeps {
  rootKeys: RootKeys;
  clock: { now(): number };
  /** Receives every denial as an audit record (buffered by the caller, off the hot path). */
  onDenied(record: AuthzAuditInput): void;
  /** Most verified tokens kept per node. */
  maxCachedTokens?: number;
  /** Most revoked token ids remembered per node. */
  maxRevoked?: number;
  /**
   * The database's answer to "was this token id revoked?". Consulted only after this node failed to
   * remember a revocation (its memory of `maxRevoked` ids was full), until every such token expired:
   * a bounded memory then costs a read per request instead of accepting a revoked token. Without it
   * such a node refuses every token (fail closed).
   */
  isRevoked?: (tokenId: string) => Promise<boolean>;
}

export interface Verifier {
  readonly authorize: Authorize;
  /** Refuses a token id (and every token attenuated from it) until `notAfter` (unix seconds). */
  revoke(tokenId: string, notAfter: number): void;
  /** Some revocations valid until `until` (unix seconds) may be unknown here (e.g. a start-up load that
   * hit the memory bound): check the database for every token until then. */
  assumeRevocationsIncomplete(until: number): void;
  readonly cache: TokenCache;
}

const MAX_AUDITED_TEXT = 256;

function tokenIdOf(token: string): string | undefined {
  try {
    const id = decodeMacaroon(token).identifier;
    return id.length <= MAX_AUDITED_TEXT ? id.toString('utf8') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @example
 *   const verifier = createVerifier({ rootKeys, clock: systemClock, onDenied: (r) => denials.add(r) });
 *   bus consumer: (event) => verifier.revoke(event.payload.token_id, notAfterSeconds);
 */
export function createVerifier(deps: VerifierDeps): Verifier {
  const { rootKeys, clock, onDenied } = deps;
  const cache = createTokenCache({
    maxEntries: deps.maxCachedTokens ?? 50_000,
    maxRevoked: deps.maxRevoked ?? 1_000_000,
    clock: () => Math.floor(clock.now() / 1000),
  });
  // Unix seconds until which this node may have forgotten a revocation (0: it knows them all).
  let incompleteUntil = 0;
  // One frozen answer per verified token: the cache hands back the same VerifiedToken on every hit.
  const grants = new WeakMap<VerifiedToken, AuthorizeGrant>();

  function grantOf(v: VerifiedToken): AuthorizeGrant {
    let g = grants.get(v);
    if (g === undefined) {
      g = Object.freeze({
        allowed: true as const,
        tokenId: v.tokenId,
        tenantId: v.tenant,
        holder: v.holder,
        holders: v.holders,
        actions: v.actions,
        resources: v.resources,
        notAfter: v.notAfter,
        remainingDepth: v.remainingDepth,
      });
      grants.set(v, g);
    }
    return g;
  }

  function deny(
    principal: Principal,
    action: string,
    resource: string,
    token: unknown,
    reason: AuthorizeDenialReason,
    detail: string,
  ): AuthorizeDenial {
    try {
      const tokenId = typeof token === 'string' ? tokenIdOf(token) : undefined;
      onDenied({
        tenantId: principal.tenantId,
        eventType: 'delegation.denied',
        actor: `${principal.kind}:${principal.id}`,
        resourceId: String(resource).slice(0, MAX_AUDITED_TEXT),
        action: String(action).slice(0, MAX_AUDITED_TEXT),
        outcome: 'deny',
        metadata: { reason, detail, ...(tokenId !== undefined ? { token_id: tokenId } : {}) },
      });
    } catch {
      // Recording must never turn a denial into something else.
    }
    return { allowed: false, reason, detail, problem: problemForFailure(reason, detail) };
  }

  const authorize: Authorize = async (principal, action, resource, token) => {
    try {
      const tenantId = principal.tenantId;
      if (principal.kind !== 'agent' || !tenantId) {
        return deny(
          principal,
          action,
          resource,
          token,
          'holder_mismatch',
          `a delegation token is presented by the agent it is bound to; this caller is ${principal.kind === 'agent' ? 'an agent without a tenant' : `a ${principal.kind}`}`,
        );
      }
      if (token === undefined || token === '') {
        return deny(principal, action, resource, token, 'token_missing', 'no delegation token was presented');
      }
      let missed = false;
      const options = {
        // Only the caller's own tenant: a token of another tenant is never verified here (and never
        // makes this node load that tenant's key).
        rootKeyFor: (tenant: string) => {
          if (tenant !== tenantId) return undefined;
          const key = rootKeys.cached(tenant);
          if (key === undefined) missed = true;
          return key;
        },
        presenter: principal.id,
        action,
        resource,
        now: Math.floor(clock.now() / 1000),
      };
      let result = cache.verify(token, options);
      if (!result.ok && result.code === 'tenant_unknown' && missed && (await rootKeys.load(tenantId))) {
        result = cache.verify(token, options);
      }
      if (!result.ok) return deny(principal, action, resource, token, result.code, result.detail);
      if (result.tenant !== tenantId) {
        return deny(principal, action, resource, token, 'tenant_unknown', 'the token is of another tenant');
      }
      if (incompleteUntil !== 0 && options.now < incompleteUntil) {
        // Overflowed revocation memory: ask the database rather than trust what this node remembers.
        if (deps.isRevoked === undefined) {
          return deny(principal, action, resource, token, 'internal_error', 'revocations cannot be checked');
        }
        if (await deps.isRevoked(result.tokenId)) {
          return deny(
            principal,
            action,
            resource,
            token,
            'token_revoked',
            `token ${result.tokenId} was revoked`,
          );
        }
      }
      return grantOf(result);
    } catch {
      return deny(principal, action, resource, token, 'internal_error', 'the token could not be verified');
    }
  };

  return {
    authorize,
    revoke(tokenId, notAfter) {
      if (!cache.revoke(tokenId, notAfter)) incompleteUntil = Math.max(incompleteUntil, notAfter);
    },
    assumeRevocationsIncomplete(until) {
      incompleteUntil = Math.max(incompleteUntil, until);
    },
    cache,
  };
}
