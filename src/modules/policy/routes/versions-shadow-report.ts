import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { DecisionOutcome, ListQuery, VersionParams } from '../types.js';

/** GET …/versions/{version}/shadow-report — where the shadow version disagreed with the active one. */
export function registerShadowReport(app: Edge, policies: PolicyService): void {
  app.get(
    '/v1/oversight/policies/:id/versions/:version/shadow-report',
    {
      config: { permission: 'policies:read' },
      schema: {
        tags: ['policies'],
        summary: 'List a shadow version’s disagreements',
        params: VersionParams,
        querystring: ListQuery,
        response: {
          200: Type.Object({
            version_id: Type.String(),
            shadow: Type.Boolean({ description: 'Whether it is running in shadow now' }),
            disagreements_total: Type.Integer(),
            items: Type.Array(
              Type.Object({
                id: Type.String(),
                decision_id: Type.String(),
                action: Type.String(),
                at: Type.String({ format: 'date-time' }),
                active: Type.Object({
                  version_id: Type.Union([Type.String(), Type.Null()]),
                  decision: DecisionOutcome,
                  rule_ids: Type.Array(Type.String()),
                }),
                shadow: Type.Object({ decision: DecisionOutcome, rule_ids: Type.Array(Type.String()) }),
              }),
            ),
            next_cursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request) =>
      policies.shadowReport(tenantOf(request), request.params.id, request.params.version, request.query),
  );
}
