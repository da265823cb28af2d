/**
 * The policy module's domain types and their TypeBox schemas: the single source for validation,
 * TypeScript types and the OpenAPI document.
 */
import { type Static, Type } from 'typebox';

/** Most rules a version may hold; the action index keeps evaluation flat well past this. */
export const MAX_RULES = 2000;
export const MAX_TESTS = 200;
/** Largest `context` accepted on a decision, in bytes of JSON (approximately, counted without serialising). */
export const MAX_CONTEXT_BYTES = 16 * 1024;
/** Deepest nesting of `context`, `resource.attributes` and agent metadata in a decision. */
export const MAX_FACT_DEPTH = 8;

export const Effect = Type.Union([
  Type.Literal('allow'),
  Type.Literal('deny'),
  Type.Literal('require_approval'),
]);
export type Effect = Static<typeof Effect>;

export const DecisionOutcome = Type.Union([
  Type.Literal('allow'),
  Type.Literal('deny'),
  Type.Literal('pending_approval'),
]);
export type DecisionOutcome = Static<typeof DecisionOutcome>;

export const VersionState = Type.Union([
  Type.Literal('draft'),
  Type.Literal('proposed'),
  Type.Literal('active'),
  Type.Literal('superseded'),
  Type.Literal('revoked'),
]);
export type VersionState = Static<typeof VersionState>;

const Role = Type.String({ pattern: '^[a-z][a-z0-9_-]{0,31}$', description: 'A tenant role, e.g. `admin`' });

const Approver = Type.Union(
  [
    Type.Object({ role: Role }, { additionalProperties: false }),
    Type.Object({ user_id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
  ],
  { description: 'Everyone holding a role, or one user' },
);

/** How an approval is carried out; stored and validated here, acted on by the approvals module. */
export const ApprovalSpec = Type.Object(
  {
    stages: Type.Array(
      Type.Object(
        {
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          approvers: Type.Array(Approver, { minItems: 1, maxItems: 20 }),
          quorum: Type.Integer({
            minimum: 1,
            maximum: 20,
            description: 'Approvals needed to pass the stage',
          }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10, description: 'Run in order; each must reach its quorum' },
    ),
    sla_seconds: Type.Integer({ minimum: 60, maximum: 30 * 86_400, description: 'Time to decide' }),
    escalation: Type.Optional(
      Type.Object(
        {
          after_seconds: Type.Integer({ minimum: 60, maximum: 30 * 86_400 }),
          to: Type.Array(Approver, { minItems: 1, maxItems: 20 }),
        },
        { additionalProperties: false },
      ),
    ),
    channels: Type.Array(
      Type.Object(
        {
          kind: Type.Union([
            Type.Literal('dashboard'),
            Type.Literal('email'),
            Type.Literal('slack'),
            Type.Literal('webhook'),
          ]),
          target: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: 10, default: [] },
    ),
  },
  { additionalProperties: false },
);
export type ApprovalSpec = Static<typeof ApprovalSpec>;

export const ActionPattern = Type.String({
  minLength: 1,
  maxLength: 256,
  pattern: '^(\\*|[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*(\\.\\*)?)$',
  description: 'An action name (`llm.call`), a prefix (`sandbox.*`: one or more further segments) or `*`',
});

export const Rule = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$', description: 'Unique in the version' }),
    description: Type.Optional(Type.String({ maxLength: 1000 })),
    actions: Type.Optional(
      Type.Array(ActionPattern, {
        minItems: 1,
        maxItems: 32,
        description: 'The actions the rule concerns (indexed); default `["*"]`',
      }),
    ),
    when: Type.String({
      minLength: 1,
      maxLength: 8192,
      description: 'A CEL condition over the decision variables',
    }),
    effect: Effect,
    reason: Type.String({
      minLength: 1,
      maxLength: 500,
      description: 'Shown to the agent when the rule decides',
    }),
    approval: Type.Optional(ApprovalSpec),
    cache_ttl_seconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3600,
        description:
          'Lets a node reuse a decision this rule took part in, for this long, for requests whose facts read by the rules are the same. A decision is reused only when every rule concerning the action sets it (the shortest time wins), never for pending_approval, a rule error or while a shadow version runs, and never by a rule that reads `now` or `usage`. Each reused decision is still authenticated, delegation-checked and audited.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type Rule = Static<typeof Rule>;

const JsonObject = (description: string) =>
  Type.Record(Type.String({ maxLength: 128 }), Type.Unknown(), { maxProperties: 100, description });

/** The facts of a decision as a test case or a stored decision states them. */
export const DecisionInput = Type.Object(
  {
    agent: Type.Object(
      {
        id: Type.String({ minLength: 1, maxLength: 128 }),
        tier: Type.Optional(Type.String({ maxLength: 32 })),
        trust_level: Type.Optional(Type.String({ maxLength: 32 })),
        metadata: Type.Optional(JsonObject('Agent attributes')),
      },
      { additionalProperties: false },
    ),
    principal: Type.Optional(JsonObject('The delegation chain: `{ chain: [ids], depth }`')),
    action: Type.String({ minLength: 1, maxLength: 256 }),
    resource: Type.Optional(
      Type.Object(
        {
          id: Type.String({ minLength: 1, maxLength: 256 }),
          type: Type.Optional(Type.String({ maxLength: 64 })),
          attributes: Type.Optional(JsonObject('Resource attributes')),
        },
        { additionalProperties: false },
      ),
    ),
    context: Type.Optional(JsonObject('Request context')),
    usage: Type.Optional(Type.Record(Type.String({ maxLength: 128 }), Type.Number(), { maxProperties: 100 })),
    risk: Type.Optional(
      Type.Object(
        {
          score: Type.Integer({ minimum: 0, maximum: 100 }),
          factors: Type.Optional(Type.Array(Type.Unknown(), { maxItems: 50 })),
        },
        { additionalProperties: false, description: 'Overrides the computed risk (tests only)' },
      ),
    ),
    now: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export type DecisionInput = Static<typeof DecisionInput>;

export const TestCase = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    input: DecisionInput,
    expect: Type.Object(
      {
        decision: DecisionOutcome,
        rule: Type.Optional(
          Type.Union([Type.String({ maxLength: 64 }), Type.Null()], {
            description: 'The deciding rule; null when no rule matched (default deny)',
          }),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type TestCase = Static<typeof TestCase>;

const Reason = Type.String({ minLength: 1, maxLength: 1000, description: 'Why: kept with the transition' });
const PolicyName = Type.String({ minLength: 1, maxLength: 200, pattern: '^\\S(.*\\S)?$' });

export const VersionContent = {
  description: Type.Optional(Type.String({ maxLength: 2000 })),
  rules: Type.Array(Rule, { maxItems: MAX_RULES }),
  tests: Type.Optional(Type.Array(TestCase, { maxItems: MAX_TESTS })),
};

export const CreatePolicyBody = Type.Object(
  { name: PolicyName, ...VersionContent },
  { additionalProperties: false },
);
export type CreatePolicyBody = Static<typeof CreatePolicyBody>;

export const CreateVersionBody = Type.Object(VersionContent, { additionalProperties: false });
export type CreateVersionBody = Static<typeof CreateVersionBody>;

export const TransitionBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export type TransitionBody = Static<typeof TransitionBody>;

export const EnforceBody = Type.Object(
  {
    reason: Reason,
    expected_active_version_id: Type.Optional(
      Type.Union([Type.String({ format: 'uuid' }), Type.Null()], {
        description: 'Refuse (409) unless this is still the active version (null: none active)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type EnforceBody = Static<typeof EnforceBody>;

export const RollbackBody = Type.Object(
  {
    reason: Reason,
    to_version: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Default: the version active before the current one' }),
    ),
  },
  { additionalProperties: false },
);
export type RollbackBody = Static<typeof RollbackBody>;

export const ShadowBody = Type.Object(
  { enabled: Type.Boolean(), reason: Reason },
  { additionalProperties: false },
);

export const SimulateBody = Type.Object(
  {
    version: Type.Integer({ minimum: 1 }),
    last: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 1000,
      description: 'How many past decisions',
    }),
    max_flips: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

export const PolicyIdParams = Type.Object(
  { id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);
export const VersionParams = Type.Object(
  { id: Type.String({ format: 'uuid' }), version: Type.Integer({ minimum: 1, maximum: 1_000_000 }) },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 200, default: 50 }),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const Policy = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    name: Type.String(),
    description: Type.String(),
    latest_version: Type.Integer(),
    active_version: Type.Union([Type.Integer(), Type.Null()], {
      description: 'This policy’s version that is the tenant’s active one, if any',
    }),
    created_by: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    updated_at: Type.String({ format: 'date-time' }),
  },
  { $id: 'Policy', additionalProperties: false },
);
export type Policy = Static<typeof Policy>;

export const PolicyVersion = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    policy_id: Type.String({ format: 'uuid' }),
    version: Type.Integer(),
    state: VersionState,
    shadow: Type.Boolean({ description: 'Evaluated beside the active version on live traffic' }),
    description: Type.String(),
    rules: Type.Array(Rule),
    tests: Type.Array(TestCase),
    source: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], {
      description: 'The template it was installed from',
    }),
    created_by: Type.String(),
    created_at: Type.String({ format: 'date-time' }),
    proposed_by: Type.Union([Type.String(), Type.Null()]),
    proposed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    enforced_by: Type.Union([Type.String(), Type.Null()]),
    enforced_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    revoked_by: Type.Union([Type.String(), Type.Null()]),
    revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    transitions: Type.Array(
      Type.Object({
        from: Type.Union([VersionState, Type.Null()]),
        to: VersionState,
        actor: Type.String(),
        reason: Type.String(),
        at: Type.String({ format: 'date-time' }),
      }),
    ),
  },
  { $id: 'PolicyVersion', additionalProperties: false },
);
export type PolicyVersion = Static<typeof PolicyVersion>;

export const TestOutcome = Type.Object(
  {
    name: Type.String(),
    passed: Type.Boolean(),
    expected: Type.Object({
      decision: DecisionOutcome,
      rule: Type.Optional(
        Type.Union([Type.String(), Type.Null()], {
          description: 'Absent when the case asserts the decision only',
        }),
      ),
    }),
    actual: Type.Object({ decision: DecisionOutcome, rule: Type.Union([Type.String(), Type.Null()]) }),
    errors: Type.Array(Type.Object({ rule_id: Type.String(), message: Type.String() })),
  },
  { additionalProperties: false },
);
export type TestOutcome = Static<typeof TestOutcome>;

export const TestReport = Type.Object(
  {
    version_id: Type.String({ format: 'uuid' }),
    passed: Type.Integer(),
    failed: Type.Integer(),
    results: Type.Array(TestOutcome),
  },
  { additionalProperties: false },
);
export type TestReport = Static<typeof TestReport>;

export const RiskFactor = Type.Object(
  { name: Type.String(), points: Type.Integer(), detail: Type.String() },
  { additionalProperties: false },
);
export const Risk = Type.Object(
  {
    score: Type.Integer({ minimum: 0, maximum: 100 }),
    factors: Type.Array(RiskFactor, { description: 'What raised the score, and by how much' }),
  },
  { additionalProperties: false },
);
export type Risk = Static<typeof Risk>;

// ——— The decision path ———

export const EvaluateBody = Type.Object(
  {
    agent_id: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{64}$',
        description:
          'The agent the decision is for; an agent caller is the agent itself (omit it or name yourself)',
      }),
    ),
    action: Type.String({
      minLength: 1,
      maxLength: 256,
      pattern: '^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$',
      description: 'The action name, e.g. `sandbox.create`',
    }),
    resource: Type.Object(
      {
        id: Type.String({
          minLength: 1,
          maxLength: 256,
          pattern: '^[\\x21-\\x7e]+$',
          description: 'The resource name the delegation token’s `resources` caveat is matched against',
        }),
        type: Type.Optional(Type.String({ maxLength: 64 })),
        attributes: Type.Optional(JsonObject('Resource attributes')),
      },
      { additionalProperties: false },
    ),
    context: Type.Optional(JsonObject(`Request context (at most ${MAX_CONTEXT_BYTES} bytes)`)),
    delegation_token: Type.String({
      minLength: 1,
      maxLength: 22_000,
      description: 'The delegation token (macaroon) authorising this agent for the action and resource',
    }),
  },
  { additionalProperties: false },
);
export type EvaluateBody = Static<typeof EvaluateBody>;

export const BatchEvaluateBody = Type.Object(
  {
    requests: Type.Array(
      Type.Object(
        {
          agent_id: EvaluateBody.properties.agent_id,
          action: EvaluateBody.properties.action,
          resource: EvaluateBody.properties.resource,
          context: EvaluateBody.properties.context,
          delegation_token: Type.Optional(EvaluateBody.properties.delegation_token),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 100 },
    ),
    delegation_token: Type.Optional(
      Type.String({ minLength: 1, maxLength: 22_000, description: 'Used by items that carry none' }),
    ),
  },
  { additionalProperties: false },
);
export type BatchEvaluateBody = Static<typeof BatchEvaluateBody>;

export const DecisionSchema = Type.Object(
  {
    decision_id: Type.String({ format: 'uuid' }),
    decision: DecisionOutcome,
    reasons: Type.Array(Type.String()),
    rule_ids: Type.Array(Type.String(), { description: 'Every rule of the deciding effect that matched' }),
    policy: Type.Union([
      Type.Object({
        policy_id: Type.String({ format: 'uuid' }),
        version_id: Type.String({ format: 'uuid' }),
        version: Type.Integer(),
      }),
      Type.Null(),
    ]),
    approval_id: Type.Union([Type.String(), Type.Null()], {
      description: 'The approval request, once the approvals module is present',
    }),
    approval: Type.Union([Type.Object({ rule_id: Type.String(), spec: ApprovalSpec }), Type.Null()]),
    errors: Type.Array(Type.Object({ rule_id: Type.String(), message: Type.String() }), {
      description: 'Rules that failed to evaluate (counted as matching for deny and approval rules)',
    }),
    risk: Risk,
    evaluated_at: Type.String({ format: 'date-time' }),
    cached: Type.Boolean({
      description:
        'True when the verdict was reused from an identical earlier request, as the rules allow (`cache_ttl_seconds`)',
    }),
  },
  { $id: 'Decision', additionalProperties: false },
);
export type DecisionResponse = Static<typeof DecisionSchema>;
