import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import type { IdentityService } from '../service.js';
import { IdParams, Tenant } from '../types.js';

/** GET /v1/tenants/{id} — one tenant (the operator: any; others: their own). */
export function registerGetTenant(app: Edge, service: IdentityService): void {
  app.get(
    '/v1/tenants/:id',
    {
      config: { permission: 'tenants:read' },
      schema: {
        tags: ['tenants'],
        summary: 'Get a tenant',
        params: IdParams,
        response: { 200: Tenant, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await service.getTenant(request.principal!, request.params.id);
      reply.header('etag', `"${tenant.version}"`);
      return tenant;
    },
  );
}
