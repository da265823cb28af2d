import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import type { IdentityService } from '../service.js';
import { CreateTenantBody, Tenant } from '../types.js';

/** POST /v1/tenants — create a tenant (operator). */
export function registerCreateTenant(app: Edge, service: IdentityService): void {
  app.post(
    '/v1/tenants',
    {
      config: { permission: 'tenants:create', idempotent: true },
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant',
        description:
          'Creates an empty tenant. `POST /v1/tenants/{id}/onboard` then adds its owner, keys and policies.',
        body: CreateTenantBody,
        response: { 201: Tenant, ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const tenant = await service.createTenant(request.principal!, request.body);
      reply.header('location', `/v1/tenants/${tenant.id}`).header('etag', `"${tenant.version}"`);
      return reply.code(201).send(tenant);
    },
  );
}
