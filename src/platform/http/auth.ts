/**
 * Who is calling. The edge asks each authenticator in turn; the first that recognises the
 * credential decides. A credential that is recognised but wrong is a 401 at once (no fall-through
 * to the next authenticator), so a typo never silently becomes another identity.
 */
import { hash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { ProblemError } from './problem.js';

export type PrincipalKind = 'operator' | 'user' | 'api_key' | 'agent';

export interface Principal {
  kind: PrincipalKind;
  /** Stable id of the caller (user id, api key id, agent id; `operator` for the deployment operator). */
  id: string;
  /** The tenant the caller acts in; null only for the operator. */
  tenantId: string | null;
  roles: string[];
  /** API-key scopes narrowing the roles, when present. */
  scopes?: string[];
}

/** `reject` explains a recognised but wrong credential (401); `problem` gives it a specific problem type. */
export type AuthResult = { principal: Principal } | { reject: string; problem?: ProblemError } | null;

/** Returns null when the request does not carry this kind of credential. */
export type Authenticator = (request: FastifyRequest) => Promise<AuthResult> | AuthResult;

/** Constant-time equality of two secrets of any length (both are hashed to 32 bytes first). */
export function secretEquals(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

function sha256(value: string): Buffer {
  // One-shot hash: half the cost of createHash().update().digest() on this per-request path.
  return hash('sha256', value, 'buffer') as unknown as Buffer;
}

export function bearerToken(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h || h.length > 8192) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(h);
  return m?.[1];
}

/**
 * The deployment operator: `Authorization: Bearer <WARDEN_ADMIN_TOKEN>`.
 *
 * @example
 *   const authenticators = [operatorAuthenticator(config.adminToken)];
 */
export function operatorAuthenticator(adminToken: string): Authenticator {
  // Shared by every request this authenticator admits: frozen, so no request can change another's.
  const operator: Principal = Object.freeze({
    kind: 'operator',
    id: 'operator',
    tenantId: null,
    roles: Object.freeze(['operator']) as string[],
  });
  const admitted: AuthResult = Object.freeze({ principal: operator });
  const expected = Buffer.from(adminToken, 'utf8');
  return (request) => {
    const token = bearerToken(request);
    // Not ours unless it matches: API keys and sessions are also bearer tokens, tried next.
    // Equal length first (token lengths are public), then a constant-time compare of the bytes.
    if (!token || token.length !== expected.length) return null;
    const given = Buffer.from(token, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected) ? admitted : null;
  };
}

/** Permissions are `<module>:<verb>` strings declared by every route; the operator holds them all. */
export type Authorizer = (principal: Principal, permission: string) => boolean;

export const operatorOnly: Authorizer = (principal) => principal.kind === 'operator';
