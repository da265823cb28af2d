import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import { PublishTemplateBody, TemplateSchema, type TemplateService } from '../template-service.js';

/** POST /v1/oversight/templates — publish a tenant template (version 1). */
export function registerPublishTemplate(app: Edge, templates: TemplateService): void {
  app.post(
    '/v1/oversight/templates',
    {
      config: { permission: 'policies:publish' },
      schema: {
        tags: ['templates'],
        summary: 'Publish a template',
        description:
          'Private templates are seen by this tenant only; public ones by every tenant (read, deploy, fork). The rules must compile and the tests pass with the parameters’ defaults.',
        body: PublishTemplateBody,
        response: { 201: TemplateSchema, ...errorResponses(400, 401, 403, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) =>
      reply.code(201).send(await templates.publish(request.principal!, tenantOf(request), request.body)),
  );
}
