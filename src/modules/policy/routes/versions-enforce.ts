import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { EnforceBody, PolicyVersion, VersionParams } from '../types.js';

/** POST …/versions/{version}/enforce — proposed → active (the previous active version is superseded). */
export function registerEnforceVersion(app: Edge, policies: PolicyService): void {
  app.post(
    '/v1/oversight/policies/:id/versions/:version/enforce',
    {
      config: { permission: 'policies:enforce' },
      schema: {
        tags: ['policies'],
        summary: 'Enforce a proposed version',
        description:
          'Runs the version’s test cases first (422 `policy-tests-failed` with `failures`). One version is active per tenant: of two concurrent enforce calls one wins and the other gets 409 `policy-concurrent-change`.',
        params: VersionParams,
        body: EnforceBody,
        response: { 200: PolicyVersion, ...errorResponses(400, 401, 403, 404, 409, 415, 422, 429) },
      },
    },
    async (request) =>
      policies.enforce(
        request.principal!,
        tenantOf(request),
        request.params.id,
        request.params.version,
        request.body,
      ),
  );
}
