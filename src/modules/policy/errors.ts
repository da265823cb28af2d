/** The policy module's error catalogue: stable problem types, HTTP status, human titles. */
import { defineProblem, ProblemError } from '../../platform/http/problem.js';

export const PolicyProblems = {
  simulationUnavailable: defineProblem({
    slug: 'policy-simulation-unavailable',
    status: 503,
    title: 'Simulation unavailable',
    description:
      'Simulation replays past decisions from the audit log, and this node runs without a reader of it. Ask a node that runs the audit module.',
  }),
  policyNotFound: defineProblem({
    slug: 'policy-not-found',
    status: 404,
    title: 'Policy not found',
    description:
      'No policy with this id is visible to the caller (policies of other tenants are reported as not found).',
  }),
  versionNotFound: defineProblem({
    slug: 'policy-version-not-found',
    status: 404,
    title: 'Policy version not found',
    description:
      'The policy has no version with this number. List its versions with GET /v1/oversight/policies/{id}/versions.',
  }),
  nameTaken: defineProblem({
    slug: 'policy-name-taken',
    status: 409,
    title: 'Policy name already in use',
    description:
      'Policy names are unique in a tenant, ignoring case. Add a version to the existing policy instead.',
  }),
  rulesEmpty: defineProblem({
    slug: 'policy-rules-empty',
    status: 422,
    title: 'Empty rule set',
    description:
      'A policy version needs at least one rule. (With no rule at all every decision would be the default deny.)',
  }),
  ruleInvalid: defineProblem({
    slug: 'policy-rule-invalid',
    status: 422,
    title: 'Invalid rule',
    description:
      'A rule is inconsistent: a duplicate id, an approval spec on a rule that does not require approval (or none on one that does), or an approval spec that cannot be satisfied. `errors` names each rule.',
  }),
  expressionInvalid: defineProblem({
    slug: 'policy-expression-invalid',
    status: 422,
    title: 'Invalid CEL expression',
    description:
      'A rule’s `when` does not parse, calls an unknown function, or has a type error. `errors` gives the rule id and the line, column and offset in its `when`.',
  }),
  unknownVariable: defineProblem({
    slug: 'policy-unknown-variable',
    status: 422,
    title: 'Unknown variable in a CEL expression',
    description:
      'A rule’s `when` refers to a variable that does not exist. The variables are agent, principal, action, resource, context, usage, risk and now. `errors` gives the rule id and the position.',
  }),
  testsFailed: defineProblem({
    slug: 'policy-tests-failed',
    status: 422,
    title: 'Policy tests fail',
    description:
      'A version cannot be activated while one of its test cases fails. `failures` lists each failing case with the expected and actual decision and rule.',
  }),
  notProposed: defineProblem({
    slug: 'policy-version-not-proposed',
    status: 409,
    title: 'Version not proposed',
    description:
      'Only a proposed version can be enforced or run in shadow. Propose the draft first (its expressions are checked then).',
  }),
  invalidTransition: defineProblem({
    slug: 'policy-invalid-transition',
    status: 409,
    title: 'Transition not allowed from this state',
    description:
      'Versions move draft → proposed → active → superseded or revoked; a draft or proposed version may be revoked. The detail names the current state.',
  }),
  concurrentChange: defineProblem({
    slug: 'policy-concurrent-change',
    status: 409,
    title: 'The active version changed',
    description:
      'Another change to the tenant’s active version committed first (a concurrent enforce, rollback or revoke, or `expected_active_version_id` no longer holds). Read the policy again and retry if still wanted.',
  }),
  nothingToRollBack: defineProblem({
    slug: 'policy-rollback-unavailable',
    status: 409,
    title: 'No version to roll back to',
    description:
      'Rollback re-activates a version of this policy that was active before (superseded or revoked after being active). There is none, or the named one was never active.',
  }),
  invalidCursor: defineProblem({
    slug: 'invalid-cursor',
    status: 400,
    title: 'Invalid cursor',
    description: 'The `cursor` must be a `next_cursor` value returned by the same list endpoint.',
  }),
  // ——— the decision path ———
  contextTooLarge: defineProblem({
    slug: 'decision-context-too-large',
    status: 413,
    title: 'Decision context too large',
    description:
      'The `context` (or resource attributes) of a decision is over 16 KiB of JSON or nested deeper than 8 levels.',
  }),
  agentUnknown: defineProblem({
    slug: 'decision-agent-unknown',
    status: 422,
    title: 'Unknown agent',
    description:
      'The decision names an agent that is not registered in this tenant, or is revoked. API-key callers must name `agent_id`.',
  }),
  agentMismatch: defineProblem({
    slug: 'decision-agent-mismatch',
    status: 403,
    title: 'An agent can only ask for itself',
    description:
      'A signed agent request evaluates decisions for that agent only: omit `agent_id` or set it to your own id.',
  }),
  delegationRefused: defineProblem({
    slug: 'delegation-refused',
    status: 403,
    title: 'Delegation token refused',
    description:
      'The delegation token does not authorise this caller for this action and resource (expired, wrong holder, action or resource outside its caveats, revoked). `reason` gives the code.',
  }),
  failedClosed: defineProblem({
    slug: 'decision-failed-closed',
    status: 503,
    title: 'Decision failed closed: deny',
    description:
      'Warden could not complete the decision (an internal error, the decision log is behind, a dependency did not answer) and denied it. The body carries `decision: "deny"`. Retry later; nothing was allowed.',
  }),
  // ——— templates ———
  templateNotFound: defineProblem({
    slug: 'policy-template-not-found',
    status: 404,
    title: 'Template not found',
    description:
      'No built-in template with this name and no template with this id visible to the caller (private templates of other tenants are reported as not found).',
  }),
  templateNameTaken: defineProblem({
    slug: 'policy-template-name-taken',
    status: 409,
    title: 'Template name already in use',
    description:
      'Template names are unique in a tenant, ignoring case. Publish a new version of the existing one.',
  }),
  templateParameterInvalid: defineProblem({
    slug: 'policy-template-parameter-invalid',
    status: 422,
    title: 'Invalid template parameter',
    description:
      'A required parameter is missing, an unknown one is given, or a value has the wrong type. `errors` names each.',
  }),
  templateNotOwned: defineProblem({
    slug: 'policy-template-not-owned',
    status: 403,
    title: 'Template belongs to another tenant',
    description:
      'A public template of another tenant can be read, deployed and forked, not changed. Fork it to change it.',
  }),
};

/**
 * A problem whose type another module chose (the delegation verifier names its own), answered with
 * that type and 403 so that a refused token is never reported as a server fault.
 *
 * @example
 *   throw foreignProblem('/problems/delegation-action-not-permitted', 'token does not cover sandbox.exec', { reason: 'action_not_permitted' });
 */
export function foreignProblem(type: string, detail: string, extra: Record<string, unknown>): ProblemError {
  const slug = /^\/problems\/([a-z0-9]+(?:-[a-z0-9]+)*)$/.exec(type)?.[1];
  if (!slug) return PolicyProblems.delegationRefused.create(detail, extra);
  return new ProblemError(
    {
      slug,
      status: 403,
      title: 'Delegation token refused',
      description: PolicyProblems.delegationRefused.description,
    },
    detail,
    extra,
  );
}
