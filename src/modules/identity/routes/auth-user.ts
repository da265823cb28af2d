import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import type { HumansService } from '../humans-service.js';
import { Me } from '../humans-types.js';

/** GET /v1/auth/user — who the caller is: kind, id, tenant, roles, and the account for users. */
export function registerCurrentUser(app: Edge, humans: HumansService): void {
  app.get(
    '/v1/auth/user',
    {
      config: { permission: 'auth:self' },
      schema: {
        tags: ['auth'],
        summary: 'The current caller',
        response: { 200: Me, ...errorResponses(401, 403, 429) },
      },
    },
    async (request) => {
      const p = request.principal!;
      const user = await humans.findUserOf(p);
      return {
        kind: p.kind,
        id: p.id,
        tenant_id: p.tenantId,
        roles: p.roles,
        ...(p.scopes ? { scopes: p.scopes } : {}),
        ...(user ? { user } : {}),
      };
    },
  );
}
