/**
 * Identity's authenticators for the edge, in the order the server lists them after the operator's:
 * API keys (`Bearer wdn_k_…`), sessions (`Bearer wdn_s_…` or the `warden_session` cookie), then OIDC
 * bearer JWTs. Each answers null for a credential that is not its kind, so the next one is asked.
 */
import type { FastifyRequest } from 'fastify';
import { type Authenticator, bearerToken } from '../../platform/http/auth.js';
import { API_KEY_PREFIX, SESSION_PREFIX } from './credentials.js';
import type { HumansService } from './humans-service.js';

export const SESSION_COOKIE = 'warden_session';

/** The session cookie's value, if any (a hand parse: one cookie, no dependency for it). */
export function sessionCookie(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie;
  if (!header || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The session token of a request: a `wdn_s_` bearer, else the cookie. */
export function sessionTokenOf(request: FastifyRequest): string | undefined {
  const bearer = bearerToken(request);
  if (bearer?.startsWith(SESSION_PREFIX)) return bearer;
  return bearer === undefined ? sessionCookie(request) : undefined;
}

/** @example const list = [operatorAuthenticator(token), apiKeyAuthenticator(humans), …]; edge({ authenticators: () => list }) */
export function apiKeyAuthenticator(humans: HumansService): Authenticator {
  return (request) => {
    const token = bearerToken(request);
    if (!token?.startsWith(API_KEY_PREFIX)) return null;
    return humans.authenticateApiKey(token);
  };
}

export function sessionAuthenticator(humans: HumansService): Authenticator {
  return (request) => {
    const token = sessionTokenOf(request);
    if (!token) return null;
    return humans.authenticateSession(token);
  };
}
