import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { PolicyService } from '../service.js';
import { DecisionOutcome, PolicyIdParams, SimulateBody } from '../types.js';

const Flip = Type.Object({
  decision_id: Type.String({ format: 'uuid' }),
  at: Type.String({ format: 'date-time' }),
  action: Type.String(),
  agent_id: Type.Union([Type.String(), Type.Null()]),
  from: Type.Object({
    decision: DecisionOutcome,
    rule_ids: Type.Array(Type.String()),
    version_id: Type.Union([Type.String(), Type.Null()]),
  }),
  to: Type.Object({ decision: DecisionOutcome, rule_ids: Type.Array(Type.String()) }),
  by_rule: Type.Union([Type.String(), Type.Null()]),
});

/** POST /v1/oversight/policies/{id}/simulate — replay the tenant's last N decisions under a version. */
export function registerSimulate(app: Edge, policies: PolicyService): void {
  app.post(
    '/v1/oversight/policies/:id/simulate',
    {
      config: { permission: 'policies:simulate' },
      schema: {
        tags: ['policies'],
        summary: 'Simulate a version against past decisions',
        description:
          'Re-decides each of the tenant’s last `last` decisions — read from the audit log, `decision.made` records with the facts they were made on (as redacted for storage) — under `version`, and lists those whose outcome would change (from what, to what, by which rule).',
        params: PolicyIdParams,
        body: SimulateBody,
        response: {
          200: Type.Object({
            candidate: Type.Object({
              policy_id: Type.String(),
              version_id: Type.String(),
              version: Type.Integer(),
            }),
            replayed: Type.Integer({ description: 'Past decisions re-decided under the candidate' }),
            skipped: Type.Integer({
              description:
                'Decision records that could not be replayed: their payload is past retention, or they carry no facts',
            }),
            flipped: Type.Integer(),
            changes: Type.Record(Type.String(), Type.Integer()),
            flips: Type.Array(Flip),
          }),
          ...errorResponses(400, 401, 403, 404, 415, 422, 429, 503),
        },
      },
    },
    async (request) => policies.simulate(tenantOf(request), request.params.id, request.body),
  );
}
