import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { HumansService } from '../humans-service.js';
import { UserList } from '../humans-types.js';
import { ListQuery } from '../types.js';

/** GET /v1/users — the tenant's users, cursor-paginated. */
export function registerListUsers(app: Edge, humans: HumansService): void {
  app.get(
    '/v1/users',
    {
      config: { permission: 'users:read' },
      schema: {
        tags: ['users'],
        summary: 'List users',
        querystring: ListQuery,
        response: { 200: UserList, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => humans.listUsers(tenantOf(request), request.query),
  );
}
