import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import type { IdentityService } from '../service.js';
import { ListQuery, TenantList } from '../types.js';

/** GET /v1/tenants — tenants in creation order, cursor-paginated. */
export function registerListTenants(app: Edge, service: IdentityService): void {
  app.get(
    '/v1/tenants',
    {
      config: { permission: 'tenants:read' },
      schema: {
        tags: ['tenants'],
        summary: 'List tenants',
        description: 'The operator sees every tenant; any other credential sees its own tenant only.',
        querystring: ListQuery,
        response: { 200: TenantList, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => service.listTenants(request.principal!, request.query),
  );
}
