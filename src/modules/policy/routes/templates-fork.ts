import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import { ForkTemplateBody, TemplateSchema, type TemplateService } from '../template-service.js';
import { TemplateRefParams } from './templates-get.js';

/** POST /v1/oversight/templates/{ref}/fork — copy a built-in or visible template into this tenant. */
export function registerForkTemplate(app: Edge, templates: TemplateService): void {
  app.post(
    '/v1/oversight/templates/:ref/fork',
    {
      config: { permission: 'policies:publish' },
      schema: {
        tags: ['templates'],
        summary: 'Fork a template',
        params: TemplateRefParams,
        body: ForkTemplateBody,
        response: { 201: TemplateSchema, ...errorResponses(400, 401, 403, 404, 409, 415, 422, 429) },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(
          await templates.fork(request.principal!, tenantOf(request), request.params.ref, request.body.name),
        ),
  );
}
