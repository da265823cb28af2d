import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { HumansService } from '../humans-service.js';
import { CreateApiKeyBody, CreatedApiKey } from '../humans-types.js';

/**
 * POST /v1/api-keys — create an API key in the caller's tenant. The key is in this response only.
 * Not idempotent-keyed on purpose: the replay store would keep the secret in clear.
 */
export function registerCreateApiKey(app: Edge, humans: HumansService): void {
  app.post(
    '/v1/api-keys',
    {
      config: { permission: 'apikeys:create' },
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key',
        description:
          'The key acts inside this tenant only, with `role` (default: the caller’s) narrowed by `scopes`. `key` is returned once; only its hash is stored.',
        body: CreateApiKeyBody,
        response: { 201: CreatedApiKey, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 429) },
      },
    },
    async (request, reply) => {
      const key = await humans.createApiKey(request.principal!, tenantOf(request), request.body);
      reply.header('location', `/v1/api-keys/${key.id}`);
      return reply.code(201).send(key);
    },
  );
}
