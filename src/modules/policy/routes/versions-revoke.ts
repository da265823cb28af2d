import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { PolicyVersion, TransitionBody, VersionParams } from '../types.js';

/** POST …/versions/{version}/revoke — withdraw a draft or proposal, or deactivate the active version. */
export function registerRevokeVersion(app: Edge, policies: PolicyService): void {
  app.post(
    '/v1/oversight/policies/:id/versions/:version/revoke',
    {
      config: { permission: 'policies:revoke' },
      schema: {
        tags: ['policies'],
        summary: 'Revoke a version',
        description:
          'Revoking the active version leaves the tenant with no active policy: every decision is the default deny.',
        params: VersionParams,
        body: TransitionBody,
        response: { 200: PolicyVersion, ...errorResponses(400, 401, 403, 404, 409, 415, 429) },
      },
    },
    async (request) =>
      policies.revoke(
        request.principal!,
        tenantOf(request),
        request.params.id,
        request.params.version,
        request.body.reason,
      ),
  );
}
