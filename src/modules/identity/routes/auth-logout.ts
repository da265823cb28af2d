import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { sessionTokenOf } from '../authenticators.js';
import type { HumansService } from '../humans-service.js';
import { setSessionCookie } from './auth-login.js';

/** POST /v1/auth/logout — end the presented session and clear the cookie. */
export function registerLogout(app: Edge, humans: HumansService): void {
  app.post(
    '/v1/auth/logout',
    {
      config: { permission: 'auth:self' },
      schema: {
        tags: ['auth'],
        summary: 'Log out',
        description:
          'Ends the session the request carries (cookie or bearer) on every node, and clears the cookie.',
        response: { 204: { type: 'null' }, ...errorResponses(401, 403, 429) },
      },
    },
    async (request, reply) => {
      const token = sessionTokenOf(request);
      if (token) await humans.logout(token);
      setSessionCookie(request, reply, '', 0);
      return reply.code(204).send(null);
    },
  );
}
