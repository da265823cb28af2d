import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { PolicyVersion, ShadowBody, VersionParams } from '../types.js';

/** POST …/versions/{version}/shadow — start or stop running a proposed version in shadow. */
export function registerShadowVersion(app: Edge, policies: PolicyService): void {
  app.post(
    '/v1/oversight/policies/:id/versions/:version/shadow',
    {
      config: { permission: 'policies:propose' },
      schema: {
        tags: ['policies'],
        summary: 'Run a proposed version in shadow',
        description:
          'While enabled, every decision of the tenant is also evaluated under this version; disagreements with the active version are recorded (GET …/shadow-report). One shadow version per tenant: enabling another replaces it.',
        params: VersionParams,
        body: ShadowBody,
        response: { 200: PolicyVersion, ...errorResponses(400, 401, 403, 404, 409, 415, 422, 429) },
      },
    },
    async (request) =>
      policies.setShadow(
        request.principal!,
        tenantOf(request),
        request.params.id,
        request.params.version,
        request.body,
      ),
  );
}
