import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import type { IdentityService } from '../service.js';
import { IdParams, Tenant } from '../types.js';

/** DELETE /v1/tenants/{id} — deactivate (operator): data kept, credentials stop working. */
export function registerDeactivateTenant(app: Edge, service: IdentityService): void {
  app.delete(
    '/v1/tenants/:id',
    {
      config: { permission: 'tenants:deactivate' },
      schema: {
        tags: ['tenants'],
        summary: 'Deactivate a tenant',
        description:
          'Deactivates the tenant: its data is kept, and its API keys, sessions and users stop working at once. Repeating it answers the deactivated tenant again.',
        params: IdParams,
        response: { 200: Tenant, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await service.deactivateTenant(request.principal!, request.params.id);
      reply.header('etag', `"${tenant.version}"`);
      return tenant;
    },
  );
}
