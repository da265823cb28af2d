import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { PolicyVersion, VersionParams } from '../types.js';

/** GET /v1/oversight/policies/{id}/versions/{version} — one version: rules, tests, state, who moved it and why. */
export function registerGetVersion(app: Edge, policies: PolicyService): void {
  app.get(
    '/v1/oversight/policies/:id/versions/:version',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['policies'],
        summary: 'Get a policy version',
        params: VersionParams,
        response: { 200: PolicyVersion, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => policies.getVersion(tenantOf(request), request.params.id, request.params.version),
  );
}
