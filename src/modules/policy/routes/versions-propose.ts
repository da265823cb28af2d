import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { PolicyVersion, TransitionBody, VersionParams } from '../types.js';

/** POST …/versions/{version}/propose — draft → proposed; every `when` is type-checked and compiled here. */
export function registerProposeVersion(app: Edge, policies: PolicyService): void {
  app.post(
    '/v1/oversight/policies/:id/versions/:version/propose',
    {
      config: { permission: 'policies:propose' },
      schema: {
        tags: ['policies'],
        summary: 'Propose a draft version',
        description:
          'A CEL error answers 422 (`policy-expression-invalid`, or `policy-unknown-variable`) with `errors` naming each rule, line and column.',
        params: VersionParams,
        body: TransitionBody,
        response: { 200: PolicyVersion, ...errorResponses(400, 401, 403, 404, 409, 415, 422, 429) },
      },
    },
    async (request) =>
      policies.propose(
        request.principal!,
        tenantOf(request),
        request.params.id,
        request.params.version,
        request.body.reason,
      ),
  );
}
