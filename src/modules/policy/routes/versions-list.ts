import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { PolicyIdParams, PolicyVersion } from '../types.js';

/** GET /v1/oversight/policies/{id}/versions — every version with its state and transitions. */
export function registerListVersions(app: Edge, policies: PolicyService): void {
  app.get(
    '/v1/oversight/policies/:id/versions',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['policies'],
        summary: 'List the versions of a policy',
        params: PolicyIdParams,
        response: {
          200: Type.Object({ items: Type.Array(PolicyVersion) }),
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request) => ({ items: await policies.listVersions(tenantOf(request), request.params.id) }),
  );
}
