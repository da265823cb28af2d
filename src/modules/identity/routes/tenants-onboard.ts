import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import type { HumansService } from '../humans-service.js';
import { OnboardBody, Onboarded } from '../humans-types.js';
import { IdParams } from '../types.js';

/**
 * POST /v1/tenants/{id}/onboard — root key, owner account, owner API key, default policy marker.
 * Not idempotent-keyed on purpose: the replay store would keep the API key in clear; a repeat is
 * answered 409 tenant-already-onboarded instead.
 */
export function registerOnboardTenant(app: Edge, humans: HumansService): void {
  app.post(
    '/v1/tenants/:id/onboard',
    {
      config: { permission: 'tenants:onboard' },
      schema: {
        tags: ['tenants'],
        summary: 'Onboard a tenant',
        description:
          'Creates the tenant’s root key (secrets store), its owner account and an owner API key, and marks the default policy set for installation. The `api_key.key` is shown in this response only.',
        params: IdParams,
        body: OnboardBody,
        response: { 201: Onboarded, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const result = await humans.onboardTenant(request.principal!, request.params.id, request.body);
      return reply.code(201).send(result);
    },
  );
}
