/** POST /v1/delegations/revoke — revoke a root token (and every token attenuated from it) on every node. */
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { DelegationService } from '../service.js';
import { Delegation, RevokeBody } from '../types.js';

export function registerRevokeDelegation(app: Edge, delegations: DelegationService): void {
  app.post(
    '/v1/delegations/revoke',
    {
      config: { permission: 'delegations:revoke' },
      schema: {
        tags: ['delegations'],
        summary: 'Revoke a delegation token',
        description:
          'By token id. Every node refuses the token, and every token attenuated from it, within one second ' +
          '(pushed through the event bus). Revoking a revoked token answers its record unchanged.',
        body: RevokeBody,
        response: { 200: Delegation, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => delegations.revoke(request.principal!, tenantOf(request), request.body),
  );
}
