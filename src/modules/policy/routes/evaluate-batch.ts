import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses, ProblemRef } from '../../../platform/http/edge.js';
import { ProblemError } from '../../../platform/http/problem.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { DecisionService } from '../decisions.js';
import { BatchEvaluateBody, DecisionSchema } from '../types.js';
import { decisionBody } from './evaluate.js';

/** POST /v1/oversight/evaluate/batch — up to 100 decisions in one request, each answered on its own. */
export function registerEvaluateBatch(app: Edge, decisions: DecisionService): void {
  app.post(
    '/v1/oversight/evaluate/batch',
    {
      config: { permission: 'oversight:evaluate' },
      schema: {
        tags: ['oversight'],
        summary: 'Decide several requests',
        description:
          'Each item is decided as by POST /v1/oversight/evaluate; `results[i]` answers `requests[i]` with its HTTP status and either the decision or the problem. An item without a token uses the top-level `delegation_token`; an item with neither is refused.',
        body: BatchEvaluateBody,
        response: {
          200: Type.Object({
            results: Type.Array(
              Type.Object({
                status: Type.Integer(),
                decision: Type.Optional(DecisionSchema),
                problem: Type.Optional(ProblemRef),
              }),
            ),
          }),
          ...errorResponses(400, 401, 403, 413, 415, 429),
        },
      },
    },
    async (request) => {
      const tenantId = tenantOf(request);
      const results = await Promise.all(
        request.body.requests.map(async (item) => {
          try {
            const token = item.delegation_token ?? request.body.delegation_token;
            if (!token)
              return {
                status: 400,
                problem: {
                  type: '/problems/validation-failed',
                  title: 'Request validation failed',
                  status: 400,
                  detail: 'this item has no delegation_token and the batch gives none',
                  field: 'delegation_token',
                },
              };
            const d = await decisions.evaluate({
              tenantId,
              caller: request.principal!,
              agentId: item.agent_id,
              action: item.action,
              resource: item.resource,
              context: item.context,
              delegation: { token },
            });
            return { status: 200, decision: decisionBody(d) };
          } catch (err) {
            if (err instanceof ProblemError) return { status: err.status, problem: err.body() };
            throw err;
          }
        }),
      );
      return { results };
    },
  );
}
