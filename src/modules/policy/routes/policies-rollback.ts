import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { PolicyIdParams, PolicyVersion, RollbackBody } from '../types.js';

/** POST /v1/oversight/policies/{id}/rollback — re-activate an earlier version in one call. */
export function registerRollback(app: Edge, policies: PolicyService): void {
  app.post(
    '/v1/oversight/policies/:id/rollback',
    {
      config: { permission: 'policies:enforce' },
      schema: {
        tags: ['policies'],
        summary: 'Roll back to an earlier version',
        description:
          'Re-activates `to_version`, or by default the version of this policy most recently active before; the current active version is superseded.',
        params: PolicyIdParams,
        body: RollbackBody,
        response: { 200: PolicyVersion, ...errorResponses(400, 401, 403, 404, 409, 415, 422, 429) },
      },
    },
    async (request) =>
      policies.rollback(request.principal!, tenantOf(request), request.params.id, request.body),
  );
}
