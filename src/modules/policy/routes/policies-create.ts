import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { CreatePolicyBody, Policy, PolicyVersion } from '../types.js';

/** POST /v1/oversight/policies — create a policy set with its first version as a draft. */
export function registerCreatePolicy(app: Edge, policies: PolicyService): void {
  app.post(
    '/v1/oversight/policies',
    {
      config: { permission: 'policies:create', idempotent: true },
      schema: {
        tags: ['policies'],
        summary: 'Create a policy (version 1, draft)',
        description:
          'Rules are checked for structure now and their CEL expressions when the draft is proposed. A version is immutable: change it by adding a version.',
        body: CreatePolicyBody,
        response: {
          201: Type.Object({ policy: Policy, version: PolicyVersion }),
          ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const created = await policies.createPolicy(request.principal!, tenantOf(request), request.body);
      reply.header('location', `/v1/oversight/policies/${created.policy.id}`);
      return reply.code(201).send(created);
    },
  );
}
