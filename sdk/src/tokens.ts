/**
 * Delegation tokens on the agent's side: narrow a token offline for a sub-agent, and read what a token
 * says. Neither needs the server or the tenant root key (the macaroon property: anyone holding a token
 * can append a caveat, nobody can remove one). Only Warden can tell whether a token is genuine.
 */
import {
  attenuateToken,
  DelegationTokenError,
  inspectToken,
  type TokenInspection,
} from '../../src/modules/authz/delegation-token.js';

export { DelegationTokenError, type TokenInspection };

export interface Narrowing {
  /** Hand the token to this agent (its id); needs a delegation hop left. */
  holder?: string;
  /** A subset of the current actions (`sandbox.exec` within `sandbox.*`). */
  actions?: readonly string[];
  /** A subset of the current resources (`repo:acme/widgets` within `repo:acme/**`). */
  resources?: readonly string[];
  /** Expire this many seconds from now (never later than the token already expires). */
  ttlSeconds?: number;
  /** Or expire at this moment (unix seconds). */
  notAfter?: number;
  /** How many further hops the new holder may make (at most what is left). */
  maxDepth?: number;
}

/**
 * Narrows a token offline. Throws DelegationTokenError (`code`: `widened_caveat`, `depth_exceeded`,
 * `invalid_argument`, `token_malformed`) rather than produce a token that would allow more.
 *
 * @example
 *   const forChild = attenuate(token, { holder: child.id, actions: ['sandbox.exec'], ttlSeconds: 600 });
 */
export function attenuate(token: string, narrowing: Narrowing): string {
  const { ttlSeconds, notAfter, ...rest } = narrowing;
  if (ttlSeconds !== undefined && notAfter !== undefined) {
    throw new DelegationTokenError('invalid_argument', 'give ttlSeconds or notAfter, not both');
  }
  if (ttlSeconds !== undefined && (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 0)) {
    throw new DelegationTokenError(
      'invalid_argument',
      `ttlSeconds must be a non-negative integer, got ${ttlSeconds}`,
    );
  }
  let until = notAfter;
  if (ttlSeconds !== undefined) {
    // Never asks for more than the token has left: a TTL beyond its expiry keeps its expiry.
    const current = inspectToken(token).effective?.notAfter;
    const wanted = Math.floor(Date.now() / 1000) + ttlSeconds;
    until = current === undefined ? wanted : Math.min(current, wanted);
  }
  return attenuateToken(token, { ...rest, ...(until !== undefined ? { notAfter: until } : {}) });
}

/**
 * What a token says: every caveat, and what it grants if genuine. Verifies nothing.
 *
 * @example
 *   inspect(token).effective?.actions; // ['sandbox.exec']
 */
export function inspect(token: string): TokenInspection {
  return inspectToken(token);
}
