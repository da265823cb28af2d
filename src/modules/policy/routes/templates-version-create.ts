import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import { TemplateSchema, type TemplateService, TemplateVersionBody } from '../template-service.js';

/** POST /v1/oversight/templates/{id}/versions — publish a new version of the tenant's template. */
export function registerCreateTemplateVersion(app: Edge, templates: TemplateService): void {
  app.post(
    '/v1/oversight/templates/:id/versions',
    {
      config: { permission: 'policies:publish' },
      schema: {
        tags: ['templates'],
        summary: 'Publish a new template version',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
        body: TemplateVersionBody,
        response: { 201: TemplateSchema, ...errorResponses(400, 401, 403, 404, 413, 415, 422, 429) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await templates.addVersion(request.principal!, tenantOf(request), request.params.id, request.body),
        ),
  );
}
