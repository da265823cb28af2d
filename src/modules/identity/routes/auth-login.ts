import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { SESSION_COOKIE, sessionTokenOf } from '../authenticators.js';
import type { HumansService } from '../humans-service.js';
import { LoginBody, Session } from '../humans-types.js';

/**
 * The dashboard's session cookie: HttpOnly (no script reads it), SameSite=Strict (no cross-site
 * request carries it, which is the CSRF defence), Secure when the request came over TLS (directly
 * or, with WARDEN_TRUST_PROXY, through a TLS-terminating proxy).
 */
export function setSessionCookie(
  request: FastifyRequest,
  reply: FastifyReply,
  token: string,
  maxAgeS: number,
) {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`,
  );
}

/** POST /v1/auth/login — email + password → a new session (cookie and token). */
export function registerLogin(app: Edge, humans: HumansService): void {
  app.post(
    '/v1/auth/login',
    {
      config: { public: true },
      schema: {
        tags: ['auth'],
        summary: 'Log in with email and password',
        description:
          'Starts a session: sets the HttpOnly `warden_session` cookie and returns the token (usable as a bearer token). Every login gets a new token; a session presented with the login is ended. Failed attempts are limited per email and per client address (429).',
        security: [],
        body: LoginBody,
        response: { 200: Session, ...errorResponses(400, 401, 403, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const session = await humans.login(request.body, request.ip, sessionTokenOf(request));
      const maxAge = Math.max(0, Math.floor((Date.parse(session.expiresAt) - Date.now()) / 1000));
      setSessionCookie(request, reply, session.token, maxAge);
      return { user: session.user, token: session.token, expires_at: session.expiresAt };
    },
  );
}
