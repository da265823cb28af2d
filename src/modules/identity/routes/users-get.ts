import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { HumansService } from '../humans-service.js';
import { User } from '../humans-types.js';
import { IdParams } from '../types.js';

/** GET /v1/users/{id} — one user of the caller's tenant. */
export function registerGetUser(app: Edge, humans: HumansService): void {
  app.get(
    '/v1/users/:id',
    {
      config: { permission: 'users:read' },
      schema: {
        tags: ['users'],
        summary: 'Get a user',
        params: IdParams,
        response: { 200: User, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => humans.getUser(tenantOf(request), request.params.id),
  );
}
