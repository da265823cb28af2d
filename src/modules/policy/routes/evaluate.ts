import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { Decision, DecisionService } from '../decisions.js';
import { PolicyProblems } from '../errors.js';
import { type DecisionResponse, DecisionSchema, EvaluateBody } from '../types.js';

/** A decision as the API shows it; a failed-closed one becomes the 503 `decision-failed-closed` problem. */
export function decisionBody(d: Decision): DecisionResponse {
  if (d.failure)
    throw PolicyProblems.failedClosed.create(d.failure.detail, {
      decision: 'deny',
      decision_id: d.decision_id,
      headers: { 'retry-after': '1' },
    });
  const { failure: _none, ...body } = d;
  return body;
}

/** POST /v1/oversight/evaluate — the decision path: delegation → policy → allow | deny | pending_approval. */
export function registerEvaluate(app: Edge, decisions: DecisionService): void {
  app.post(
    '/v1/oversight/evaluate',
    {
      config: { permission: 'oversight:evaluate' },
      schema: {
        tags: ['oversight'],
        summary: 'Decide whether an agent may perform an action',
        description:
          'Called by an agent (RFC 9421-signed) or an API key acting for one (`agent_id`), with a delegation token whose caveats must cover the action and resource. The answer names the deciding rules, the policy version and the decision id; `pending_approval` carries the approval spec (and the approval id once the approvals module runs). Any internal failure answers 503 `decision-failed-closed` with `decision: "deny"`.',
        body: EvaluateBody,
        response: { 200: DecisionSchema, ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
      },
    },
    async (request) => {
      const b = request.body;
      return decisionBody(
        await decisions.evaluate({
          tenantId: tenantOf(request),
          caller: request.principal!,
          agentId: b.agent_id,
          action: b.action,
          resource: b.resource,
          context: b.context,
          delegation: { token: b.delegation_token },
        }),
      );
    },
  );
}
