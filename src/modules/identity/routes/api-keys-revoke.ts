import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { HumansService } from '../humans-service.js';
import { ApiKey } from '../humans-types.js';
import { IdParams } from '../types.js';

/** DELETE /v1/api-keys/{id} — revoke; the key stops working at once. Repeating it is a no-op. */
export function registerRevokeApiKey(app: Edge, humans: HumansService): void {
  app.delete(
    '/v1/api-keys/:id',
    {
      config: { permission: 'apikeys:revoke' },
      schema: {
        tags: ['api-keys'],
        summary: 'Revoke an API key',
        params: IdParams,
        response: { 200: ApiKey, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => humans.revokeApiKey(request.principal!, tenantOf(request), request.params.id),
  );
}
