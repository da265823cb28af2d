/**
 * POST /v1/delegations/verify — an agent checks its token against an action and resource: the same
 * in-process check every module runs, with the signing agent as the presenter. Allowed: 200 with what
 * the token grants. Refused: the problem (401 for an invalid token, 403 for one that does not cover the
 * request), and an audit record of the denial.
 */
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { VerifyAnswer, VerifyBody } from '../types.js';
import type { Authorize } from '../verifier.js';

export function registerVerifyDelegation(app: Edge, authorize: Authorize): void {
  app.post(
    '/v1/delegations/verify',
    {
      config: { permission: 'delegations:verify' },
      schema: {
        tags: ['delegations'],
        summary: 'Check a delegation token (agents)',
        description:
          'Sign the request as the agent holding the token (RFC 9421). Verifies the whole HMAC chain, every caveat, ' +
          'the holder binding (the signing agent must be the token’s holder), expiry, revocation and the tenant, then ' +
          'that the action and resource are inside the caveats.',
        body: VerifyBody,
        response: { 200: VerifyAnswer, ...errorResponses(400, 401, 403, 429, 503) },
      },
    },
    async (request) => {
      const { token, action, resource } = request.body;
      const result = await authorize(request.principal!, action, resource, token);
      if (!result.allowed) throw result.problem;
      return {
        allowed: true as const,
        token_id: result.tokenId,
        holder: result.holder,
        holders: [...result.holders],
        actions: [...result.actions],
        resources: [...result.resources],
        not_after: new Date(result.notAfter * 1000).toISOString(),
        remaining_depth: result.remainingDepth,
      };
    },
  );
}
