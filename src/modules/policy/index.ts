/**
 * The policy module: tenant policy sets (versioned CEL rules with a lifecycle, tests, shadow mode,
 * simulation, templates) and the decision path every gated action goes through.
 * Public face: `createPolicyModule(deps)`, `PolicyModule.evaluate` (in process), and the types of
 * the dependencies it takes from other modules.
 */
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import type { WardenModule } from '../../platform/module.js';
import { createCelEnvironment } from './cel/compile.js';
import { CompiledCache } from './compiled-cache.js';
import {
  type AgentLookup,
  type ApprovalRequester,
  type AuditAppender,
  createDecisionService,
  type Decision,
  type DecisionHistory,
  type DecisionRequest,
  type DecisionService,
  type DelegationVerifier,
  type UsageLookup,
} from './decisions.js';
import { createOnboardingConsumer } from './onboarding.js';
import { registerEvaluate } from './routes/evaluate.js';
import { registerEvaluateBatch } from './routes/evaluate-batch.js';
import { registerCreatePolicy } from './routes/policies-create.js';
import { registerGetPolicy } from './routes/policies-get.js';
import { registerListPolicies } from './routes/policies-list.js';
import { registerRollback } from './routes/policies-rollback.js';
import { registerSimulate } from './routes/policies-simulate.js';
import { registerDeployTemplate } from './routes/templates-deploy.js';
import { registerForkTemplate } from './routes/templates-fork.js';
import { registerGetTemplate } from './routes/templates-get.js';
import { registerListTemplates } from './routes/templates-list.js';
import { registerPublishTemplate } from './routes/templates-publish.js';
import { registerCreateTemplateVersion } from './routes/templates-version-create.js';
import { registerCreateVersion } from './routes/versions-create.js';
import { registerEnforceVersion } from './routes/versions-enforce.js';
import { registerGetVersion } from './routes/versions-get.js';
import { registerListVersions } from './routes/versions-list.js';
import { registerProposeVersion } from './routes/versions-propose.js';
import { registerRevokeVersion } from './routes/versions-revoke.js';
import { registerShadowVersion } from './routes/versions-shadow.js';
import { registerShadowReport } from './routes/versions-shadow-report.js';
import { registerTestVersion } from './routes/versions-test.js';
import { createPolicyService, type PolicyService } from './service.js';
import { createTemplateService, type TemplateService } from './template-service.js';
import { DecisionSchema, Policy, PolicyVersion } from './types.js';

export type {
  AgentFacts,
  AgentLookup,
  ApprovalRequester,
  ApprovalRequestInput,
  Decision,
  DecisionHistory,
  DecisionRequest,
  DelegationCheck,
  DelegationResult,
  DelegationVerifier,
  PastDecision,
  UsageLookup,
} from './decisions.js';
export type { ApprovalSpec, DecisionOutcome, Rule, TestCase } from './types.js';

export interface PolicyModule extends WardenModule {
  readonly policies: PolicyService;
  readonly decisions: DecisionService;
  readonly templates: TemplateService;
  /**
   * Decides a request in process (the same path as POST /v1/oversight/evaluate). Throws a 4xx
   * ProblemError when the request is refused; an internal failure returns a deny with `failure`.
   *
   * @example
   *   const d = await policy.evaluate({ tenantId, caller: principal, agentId, action: 'sandbox.create',
   *     resource: { id: `sandbox:${name}` }, context: { estimated_cost: 80 }, delegation: { verifiedBy: 'runtime' } });
   *   if (d.decision === 'pending_approval') await waitFor(d.approval_id);
   */
  evaluate(request: DecisionRequest): Promise<Decision>;
  /** Writes buffered decisions and their audit records now (tests, shutdown). */
  flush(): Promise<void>;
}

export interface PolicyModuleDeps {
  db: Database;
  clock: Clock;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  onEventsCommitted: () => void;
  /**
   * The authz module's delegation check; this module never verifies tokens itself. Until it is
   * wired, every decision that carries a token fails closed (503 `decision-failed-closed`, deny).
   */
  verifyDelegation?: DelegationVerifier | undefined;
  /** Identity's agents: tier, trust level, metadata. */
  agents: AgentLookup;
  /** Metering's live figures, once that module exists; without it `usage` is an empty map. */
  usage?: UsageLookup | undefined;
  /** The approvals module, once it exists; without it `approval_id` is null. */
  approvals?: ApprovalRequester | undefined;
  /** How often this node looks for head changes made on other nodes (default 1 s). */
  headPollMs?: number | undefined;
  /** Decision log flush interval (default 100 ms): the most a crash can lose. */
  decisionFlushMs?: number | undefined;
  /** The audit module's `append`, for decision records (see AuditAppender); the outbox without it. */
  appendAudit?: AuditAppender | undefined;
  /** Past decisions from the audit log, for simulation; without it simulation answers 503. */
  decisionHistory?: DecisionHistory | undefined;
}

export function createPolicyModule(deps: PolicyModuleDeps): PolicyModule {
  const compiled = new CompiledCache(createCelEnvironment());
  const decisions = createDecisionService({
    db: deps.db,
    clock: deps.clock,
    compiled,
    verifyDelegation: deps.verifyDelegation,
    agents: deps.agents,
    usage: deps.usage,
    approvals: deps.approvals,
    onEventsCommitted: deps.onEventsCommitted,
    log: deps.log,
    flushIntervalMs: deps.decisionFlushMs,
    headPollMs: deps.headPollMs,
    appendAudit: deps.appendAudit,
  });
  const policies = createPolicyService({
    db: deps.db,
    clock: deps.clock,
    compiled,
    onHeadChanged: (tenantId) => decisions.invalidate(tenantId),
    onEventsCommitted: deps.onEventsCommitted,
    flushDecisions: () => decisions.flush(),
    decisionHistory: deps.decisionHistory,
  });
  const templates = createTemplateService({
    db: deps.db,
    compiled,
    policies,
    onEventsCommitted: deps.onEventsCommitted,
  });
  const onboarding = createOnboardingConsumer({
    policies,
    onInstalled: (tenantId) => {
      decisions.invalidate(tenantId);
      deps.onEventsCommitted();
    },
    log: deps.log,
  });
  return {
    name: 'policy',
    policies,
    decisions,
    templates,
    evaluate: (request) => decisions.evaluate(request),
    flush: () => decisions.flush(),
    // identity.tenant.onboarded → the default policy set, active (default-policy.ts).
    consumers: () => [onboarding],
    start: () => decisions.start(),
    stop: () => decisions.stop(),
    registerRoutes(app) {
      app.addSchema(Policy);
      app.addSchema(PolicyVersion);
      app.addSchema(DecisionSchema);
      registerCreatePolicy(app, policies);
      registerListPolicies(app, policies);
      registerGetPolicy(app, policies);
      registerCreateVersion(app, policies);
      registerListVersions(app, policies);
      registerGetVersion(app, policies);
      registerProposeVersion(app, policies);
      registerEnforceVersion(app, policies);
      registerRevokeVersion(app, policies);
      registerRollback(app, policies);
      registerTestVersion(app, policies);
      registerSimulate(app, policies);
      registerShadowVersion(app, policies);
      registerShadowReport(app, policies);
      registerEvaluate(app, decisions);
      registerEvaluateBatch(app, decisions);
      registerListTemplates(app, templates);
      registerGetTemplate(app, templates);
      registerPublishTemplate(app, templates);
      registerCreateTemplateVersion(app, templates);
      registerDeployTemplate(app, templates);
      registerForkTemplate(app, templates);
    },
  };
}
