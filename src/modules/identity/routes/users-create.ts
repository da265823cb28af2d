import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { HumansService } from '../humans-service.js';
import { CreateUserBody, User } from '../humans-types.js';

/** POST /v1/users — create a user in the caller's tenant with a role. */
export function registerCreateUser(app: Edge, humans: HumansService): void {
  app.post(
    '/v1/users',
    {
      config: { permission: 'users:create', idempotent: true },
      schema: {
        tags: ['users'],
        summary: 'Create a user',
        description:
          'Creates an account in the caller’s tenant. Without `password` the account can sign in through SSO only. The role must not exceed the caller’s.',
        body: CreateUserBody,
        response: { 201: User, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422, 429) },
      },
    },
    async (request, reply) => {
      const user = await humans.createUser(request.principal!, tenantOf(request), request.body);
      reply.header('location', `/v1/users/${user.id}`);
      return reply.code(201).send(user);
    },
  );
}
