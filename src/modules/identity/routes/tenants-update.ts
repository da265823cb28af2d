import type { FastifyRequest } from 'fastify';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { IdentityProblems } from '../errors.js';
import { UpdateTenantBody } from '../humans-types.js';
import type { IdentityService } from '../service.js';
import { IdParams, Tenant } from '../types.js';

/** The version an If-Match names: null when absent or `*` (any); a 400 problem when malformed. */
export function ifMatchVersion(request: FastifyRequest): number | null {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return null;
  const m = typeof header === 'string' ? /^\s*"(\d{1,9})"\s*$/.exec(header) : null;
  if (!m)
    throw IdentityProblems.invalidIfMatch.create('If-Match must be one ETag as returned by GET, e.g. "3"', {
      field: 'header.if-match',
    });
  return Number(m[1]);
}

/** PUT /v1/tenants/{id} — rename a tenant; If-Match makes it conditional (412 on a stale ETag). */
export function registerUpdateTenant(app: Edge, service: IdentityService): void {
  app.put(
    '/v1/tenants/:id',
    {
      config: { permission: 'tenants:update' },
      schema: {
        tags: ['tenants'],
        summary: 'Update a tenant',
        description:
          'Replaces the tenant’s editable fields (its name). Send `If-Match: <ETag from GET>` to update only if nobody changed it since; a stale ETag is answered with 412.',
        params: IdParams,
        body: UpdateTenantBody,
        response: { 200: Tenant, ...errorResponses(400, 401, 403, 404, 409, 412, 415, 429) },
      },
    },
    async (request, reply) => {
      const version = ifMatchVersion(request);
      const tenant = await service.updateTenant(request.principal!, request.params.id, request.body, version);
      reply.header('etag', `"${tenant.version}"`);
      return tenant;
    },
  );
}
