import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { HumansService } from '../humans-service.js';
import { ApiKeyList } from '../humans-types.js';
import { ListQuery } from '../types.js';

/** GET /v1/api-keys — the tenant's API keys (never their secrets), cursor-paginated. */
export function registerListApiKeys(app: Edge, humans: HumansService): void {
  app.get(
    '/v1/api-keys',
    {
      config: { permission: 'apikeys:read' },
      schema: {
        tags: ['api-keys'],
        summary: 'List API keys',
        querystring: ListQuery,
        response: { 200: ApiKeyList, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => humans.listApiKeys(tenantOf(request), request.query),
  );
}
