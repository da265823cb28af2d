import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import { TemplateSchema, type TemplateService } from '../template-service.js';

export const TemplateRefParams = Type.Object(
  {
    ref: Type.String({
      minLength: 1,
      maxLength: 100,
      pattern: '^[a-z0-9][a-z0-9-]*$',
      description: 'Built-in name or template id',
    }),
  },
  { additionalProperties: false },
);

/** GET /v1/oversight/templates/{ref} — one template (a version with ?version=). */
export function registerGetTemplate(app: Edge, templates: TemplateService): void {
  app.get(
    '/v1/oversight/templates/:ref',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['templates'],
        summary: 'Get a policy template',
        params: TemplateRefParams,
        querystring: Type.Object(
          { version: Type.Optional(Type.Integer({ minimum: 1 })) },
          { additionalProperties: false },
        ),
        response: { 200: TemplateSchema, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => templates.get(tenantOf(request), request.params.ref, request.query.version),
  );
}
