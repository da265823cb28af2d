import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { ListQuery, Policy } from '../types.js';

/** GET /v1/oversight/policies — the tenant's policies, oldest first, paginated. */
export function registerListPolicies(app: Edge, policies: PolicyService): void {
  app.get(
    '/v1/oversight/policies',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['policies'],
        summary: 'List policies',
        querystring: ListQuery,
        response: {
          200: Type.Object({
            items: Type.Array(Policy),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => policies.listPolicies(tenantOf(request), request.query),
  );
}
