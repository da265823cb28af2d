import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { CreateVersionBody, PolicyIdParams, PolicyVersion } from '../types.js';

/** POST /v1/oversight/policies/{id}/versions — add a draft version. */
export function registerCreateVersion(app: Edge, policies: PolicyService): void {
  app.post(
    '/v1/oversight/policies/:id/versions',
    {
      config: { permission: 'policies:create', idempotent: true },
      schema: {
        tags: ['policies'],
        summary: 'Add a draft version to a policy',
        params: PolicyIdParams,
        body: CreateVersionBody,
        response: { 201: PolicyVersion, ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const v = await policies.createVersion(
        request.principal!,
        tenantOf(request),
        request.params.id,
        request.body,
      );
      reply.header('location', `/v1/oversight/policies/${v.policy_id}/versions/${v.version}`);
      return reply.code(201).send(v);
    },
  );
}
