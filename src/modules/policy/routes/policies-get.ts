import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { Policy, PolicyIdParams } from '../types.js';

/** GET /v1/oversight/policies/{id} — one policy; `active_version` says whether it is the tenant's active one. */
export function registerGetPolicy(app: Edge, policies: PolicyService): void {
  app.get(
    '/v1/oversight/policies/:id',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['policies'],
        summary: 'Get a policy',
        params: PolicyIdParams,
        response: { 200: Policy, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => policies.getPolicy(tenantOf(request), request.params.id),
  );
}
