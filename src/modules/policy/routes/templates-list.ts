import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import { TemplateSchema, type TemplateService } from '../template-service.js';

/** GET /v1/oversight/templates — the built-in catalogue, the tenant's templates and public ones. */
export function registerListTemplates(app: Edge, templates: TemplateService): void {
  app.get(
    '/v1/oversight/templates',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['templates'],
        summary: 'List policy templates',
        querystring: Type.Object(
          { limit: Type.Integer({ minimum: 1, maximum: 200, default: 100 }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(TemplateSchema) }),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => ({ items: await templates.list(tenantOf(request), request.query.limit) }),
  );
}
