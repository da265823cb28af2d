/**
 * POST /v1/delegations — mint a root delegation token for an agent of the tenant.
 *
 * Not idempotent-keyed on purpose: the replay store would keep the token (a bearer secret until its
 * holder binding is checked) in clear. A retried mint makes a second token; revoke the one not used.
 */
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { DelegationService } from '../service.js';
import { MintBody, MintedDelegation } from '../types.js';

export function registerMintDelegation(app: Edge, delegations: DelegationService): void {
  app.post(
    '/v1/delegations',
    {
      config: { permission: 'delegations:create' },
      schema: {
        tags: ['delegations'],
        summary: 'Mint a delegation token for an agent',
        description:
          'A macaroon rooted at the tenant root key with the caveats tenant, holder (the agent), actions, ' +
          'resources, not_after and depth. The token is in the answer this once; Warden keeps its id and caveats. ' +
          'A tenant created without onboarding gets its root key on the first mint.',
        body: MintBody,
        response: { 201: MintedDelegation, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request, reply) => {
      const minted = await delegations.mint(request.principal!, tenantOf(request), request.body);
      reply.header('location', `/v1/delegations/${minted.id}`);
      return reply.code(201).send(minted);
    },
  );
}
