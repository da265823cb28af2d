/**
 * SSO: bearer JWTs from configured OpenID Connect issuers.
 *
 * Keys come from each issuer's JWKS (found through its discovery document) via `jose`'s remote key
 * set, which caches the keys and refetches when a token names a key id it has not seen (key
 * rotation), at most once per cooldown. A verified token is cached by its hash until it expires (at
 * most the cache TTL), so the signature check and the tenant lookup run once per token, not once
 * per request. Claims map to the tenant (`tenant_claim`, a tenant id) and roles (`roles_claim`, a
 * list or space-separated string; names that are not Warden roles are ignored).
 */
import { createRemoteJWKSet, decodeJwt, type JWTPayload, jwtVerify } from 'jose';
import type { Clock } from '../../platform/clock.js';
import { ConfigError } from '../../platform/config.js';
import { type Authenticator, bearerToken, type Principal } from '../../platform/http/auth.js';
import { isUuid } from '../../platform/ids.js';
import type { CredentialCache } from './credential-cache.js';
import { tokenHash } from './credentials.js';
import { isRole } from './roles.js';

export interface OidcIssuerConfig {
  issuer: string;
  audience: string;
  tenant_claim: string;
  roles_claim: string;
  /** Skips discovery when given. */
  jwks_uri?: string;
}

const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];

/**
 * Validate `WARDEN_OIDC_ISSUERS` entries (a ConfigError names the offending entry and field).
 *
 * @example
 *   parseOidcIssuers([{ issuer: 'https://id.example.com', audience: 'warden', tenant_claim: 'tid', roles_claim: 'roles' }]);
 */
export function parseOidcIssuers(list: unknown[]): OidcIssuerConfig[] {
  return list.map((raw, i) => {
    const where = `WARDEN_OIDC_ISSUERS[${i}]`;
    if (typeof raw !== 'object' || raw === null) throw new ConfigError(where, 'must be an object');
    const o = raw as Record<string, unknown>;
    for (const field of ['issuer', 'audience', 'tenant_claim', 'roles_claim'] as const) {
      if (typeof o[field] !== 'string' || (o[field] as string).length === 0)
        throw new ConfigError(`${where}.${field}`, 'must be a non-empty string');
    }
    for (const field of ['issuer', 'jwks_uri'] as const) {
      if (o[field] === undefined) continue;
      let url: URL;
      try {
        url = new URL(String(o[field]));
      } catch {
        throw new ConfigError(`${where}.${field}`, 'must be an http(s) URL');
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:')
        throw new ConfigError(`${where}.${field}`, 'must be an http(s) URL');
    }
    return {
      issuer: o.issuer as string,
      audience: o.audience as string,
      tenant_claim: o.tenant_claim as string,
      roles_claim: o.roles_claim as string,
      ...(typeof o.jwks_uri === 'string' ? { jwks_uri: o.jwks_uri } : {}),
    };
  });
}

export interface OidcOptions {
  issuers: OidcIssuerConfig[];
  clock: Clock;
  /** Whether a tenant exists and is active (a DB read, once per new token). */
  isTenantActive(tenantId: string): Promise<boolean>;
  /** Where verified tokens are cached; the identity module evicts it on revocations. */
  cache: CredentialCache;
  /** How long jose may wait between two JWKS refetches for unknown key ids. */
  jwksCooldownMs?: number;
}

type KeySet = ReturnType<typeof createRemoteJWKSet>;

/** Looks like a compact JWS: three base64url parts. */
const JWT_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * @example
 *   authenticators: () => [operator, apiKeys, sessions, oidcAuthenticator({ issuers, clock, isTenantActive, cache })]
 */
export function oidcAuthenticator(options: OidcOptions): Authenticator {
  const byIssuer = new Map(options.issuers.map((c) => [c.issuer, c]));
  const keySets = new Map<string, Promise<KeySet>>();

  function keySet(config: OidcIssuerConfig): Promise<KeySet> {
    let ks = keySets.get(config.issuer);
    if (!ks) {
      ks = discoverJwksUri(config).then((uri) =>
        createRemoteJWKSet(new URL(uri), {
          timeoutDuration: 5000,
          cooldownDuration: options.jwksCooldownMs ?? 30_000,
          cacheMaxAge: 10 * 60_000,
        }),
      );
      // A failed discovery is retried by the next request rather than remembered.
      ks.catch(() => keySets.delete(config.issuer));
      keySets.set(config.issuer, ks);
    }
    return ks;
  }

  return async (request) => {
    if (byIssuer.size === 0) return null;
    const token = bearerToken(request);
    if (!token || token.length > 8192 || !JWT_RE.test(token)) return null;
    let claims: JWTPayload;
    try {
      claims = decodeJwt(token);
    } catch {
      return null;
    }
    const config = typeof claims.iss === 'string' ? byIssuer.get(claims.iss) : undefined;
    if (!config) return null; // not from an issuer we trust: not ours
    const key = tokenHash(token).toString('latin1');
    const now = options.clock.now();
    const hit = options.cache.get(key, now);
    if (hit) return 'reject' in hit ? { reject: hit.reject } : { principal: hit.principal };

    let payload: JWTPayload;
    try {
      const verified = await jwtVerify(token, await keySet(config), {
        issuer: config.issuer,
        audience: config.audience,
        algorithms: ALGORITHMS,
        clockTolerance: 30,
        currentDate: new Date(now),
      });
      payload = verified.payload;
    } catch (err) {
      return { reject: `SSO token rejected: ${describeJoseError(err)}` };
    }
    const tenantId = payload[config.tenant_claim];
    if (typeof tenantId !== 'string' || !isUuid(tenantId))
      return { reject: `SSO token has no tenant id in the ${config.tenant_claim} claim` };
    const rawRoles = payload[config.roles_claim];
    const names = Array.isArray(rawRoles)
      ? rawRoles
      : typeof rawRoles === 'string'
        ? rawRoles.split(' ')
        : [];
    const roles = [...new Set(names.filter((r): r is string => typeof r === 'string' && isRole(r)))];
    if (roles.length === 0)
      return { reject: `SSO token carries no Warden role in the ${config.roles_claim} claim` };
    if (!(await options.isTenantActive(tenantId.toLowerCase())))
      return { reject: 'the tenant of this SSO token does not exist or is deactivated' };
    const principal: Principal = {
      kind: 'user',
      id: `oidc:${payload.sub ?? 'unknown'}`,
      tenantId: tenantId.toLowerCase(),
      roles,
    };
    const expiresAt = typeof payload.exp === 'number' ? payload.exp * 1000 : now + 60_000;
    options.cache.setCredential(key, { principal, credentialId: key, userId: null, expiresAt }, now);
    return { principal };
  };
}

async function discoverJwksUri(config: OidcIssuerConfig): Promise<string> {
  if (config.jwks_uri) return config.jwks_uri;
  const url = `${config.issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`OIDC discovery at ${url} answered ${res.status}`);
  const doc = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
  if (doc.issuer !== config.issuer) throw new Error(`OIDC discovery at ${url} names another issuer`);
  if (typeof doc.jwks_uri !== 'string') throw new Error(`OIDC discovery at ${url} has no jwks_uri`);
  return doc.jwks_uri;
}

function describeJoseError(err: unknown): string {
  const code = (err as { code?: string }).code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `claim check failed (${(err as { claim?: string }).claim ?? 'claim'})`;
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'signed with a key the issuer does not publish';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'bad signature';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'algorithm not allowed';
    default:
      return code ? code.toLowerCase() : 'the issuer’s keys could not be fetched';
  }
}
