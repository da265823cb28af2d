/** POST /v1/delegations/inspect — the caveats of a token, for people. */
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { DelegationService } from '../service.js';
import { InspectBody, Inspection } from '../types.js';

export function registerInspectDelegation(app: Edge, delegations: DelegationService): void {
  app.post(
    '/v1/delegations/inspect',
    {
      config: { permission: 'delegations:read' },
      schema: {
        tags: ['delegations'],
        summary: 'Inspect a delegation token',
        description:
          'Decodes a token of your tenant: every caveat in order, what it effectively grants, whether its ' +
          'signature verifies, and the stored record of its root. Authorizes nothing: use /v1/delegations/verify ' +
          '(agents) or the in-process check for decisions. A token of another tenant is reported as not found.',
        body: InspectBody,
        response: { 200: Inspection, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => delegations.inspect(tenantOf(request), request.body.token),
  );
}
