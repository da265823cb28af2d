import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { MAX_TESTS, TestCase, TestReport, VersionParams } from '../types.js';

/** POST …/versions/{version}/test — run the version's test cases (and extra ones) without changing anything. */
export function registerTestVersion(app: Edge, policies: PolicyService): void {
  app.post(
    '/v1/oversight/policies/:id/versions/:version/test',
    {
      config: { permission: 'policies:simulate' },
      schema: {
        tags: ['policies'],
        summary: 'Run a version’s test cases',
        params: VersionParams,
        body: Type.Object(
          {
            cases: Type.Optional(
              Type.Array(TestCase, { maxItems: MAX_TESTS, description: 'Extra cases to run' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: TestReport, ...errorResponses(400, 401, 403, 404, 415, 422, 429) },
      },
    },
    async (request) =>
      policies.testVersion(
        tenantOf(request),
        request.params.id,
        request.params.version,
        request.body.cases ?? [],
      ),
  );
}
