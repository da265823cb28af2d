/** GET /v1/delegations/{id} — the record of a minted token (never the token itself). */
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { DelegationService } from '../service.js';
import { Delegation, DelegationIdParams } from '../types.js';

export function registerGetDelegation(app: Edge, delegations: DelegationService): void {
  app.get(
    '/v1/delegations/:id',
    {
      config: { permission: 'delegations:read' },
      schema: {
        tags: ['delegations'],
        summary: 'Get a delegation',
        params: DelegationIdParams,
        response: { 200: Delegation, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => delegations.get(tenantOf(request), request.params.id),
  );
}
