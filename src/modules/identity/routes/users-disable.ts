import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { HumansService } from '../humans-service.js';
import { User } from '../humans-types.js';
import { IdParams } from '../types.js';

/** DELETE /v1/users/{id} — disable the account (data kept); its sessions stop working at once. */
export function registerDisableUser(app: Edge, humans: HumansService): void {
  app.delete(
    '/v1/users/:id',
    {
      config: { permission: 'users:disable' },
      schema: {
        tags: ['users'],
        summary: 'Disable a user',
        params: IdParams,
        response: { 200: User, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => humans.disableUser(request.principal!, tenantOf(request), request.params.id),
  );
}
