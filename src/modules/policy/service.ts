/**
 * Policy sets and their lifecycle: draft → proposed → active → superseded | revoked, one active
 * version per tenant, rollback, tests, simulation and the shadow report. Pure of HTTP.
 *
 * Invariants:
 *  - a version's rules and tests never change after it is created;
 *  - `policy.heads.active_version_id` is the only version in state `active` of its tenant; every
 *    change of it locks the head row, and each version transition is a compare-and-set on the
 *    state it leaves, so of two concurrent enforce calls one commits and the other gets 409;
 *  - a version reaches `active` only with expressions that compile and tests that pass;
 *  - every transition has a row in policy.transitions and an audit record, in its transaction.
 */
import type { Clock } from '../../platform/clock.js';
import type { Database, Tx } from '../../platform/db/database.js';
import type { Principal } from '../../platform/http/auth.js';
import { decodeCursor, encodeCursor } from '../../platform/http/pagination.js';
import type { ProblemError } from '../../platform/http/problem.js';
import { newId } from '../../platform/ids.js';
import { createActivation } from './cel/compile.js';
import type { CompiledCache } from './compiled-cache.js';
import type { DecisionHistory, PastDecision } from './decisions.js';
import { type CompiledPolicy, type CompileRulesResult, decide, factsFromInput, runTests } from './engine.js';
import { PolicyProblems } from './errors.js';
import { actorOf, recordAudit } from './events.js';
import * as store from './store.js';
import type {
  CreatePolicyBody,
  CreateVersionBody,
  DecisionInput,
  DecisionOutcome,
  EnforceBody,
  ListQuery,
  Policy,
  PolicyVersion,
  Rule,
  TestCase,
  TestReport,
  VersionState,
} from './types.js';

export interface PolicyServiceDeps {
  db: Database;
  clock: Clock;
  compiled: CompiledCache;
  /** After a commit that changed a tenant's head (active or shadow version). */
  onHeadChanged: (tenantId: string) => void;
  onEventsCommitted: () => void;
  /** Writes buffered decisions now, so a simulation sees the latest ones. */
  flushDecisions: () => Promise<void>;
  /** Past decisions from the audit log; without it simulation answers 503. */
  decisionHistory?: DecisionHistory | undefined;
}

const OUTCOMES: ReadonlySet<string> = new Set(['allow', 'deny', 'pending_approval']);
const isStringArray = (x: unknown): x is string[] =>
  Array.isArray(x) && x.every((s) => typeof s === 'string');

/**
 * A `decision.made` audit record as a replayable decision; undefined when it cannot be replayed
 * (payload expired by retention, or written before decision records carried their facts).
 */
function pastDecision(r: PastDecision):
  | {
      decisionId: string;
      at: Date;
      decision: DecisionOutcome;
      ruleIds: string[];
      versionId: string | null;
      agentId: string | null;
      input: DecisionInput;
    }
  | undefined {
  const m = r.metadata;
  const input = m?.input as DecisionInput | undefined;
  if (!m || !input || typeof input !== 'object' || typeof input.action !== 'string') return undefined;
  if (!input.agent || typeof input.agent.id !== 'string') return undefined;
  if (!OUTCOMES.has(r.outcome) || typeof m.decision_id !== 'string') return undefined;
  const at = new Date(r.at);
  if (Number.isNaN(at.getTime())) return undefined;
  const policy = m.policy as { version_id?: unknown } | null | undefined;
  return {
    decisionId: m.decision_id,
    at,
    decision: r.outcome as DecisionOutcome,
    ruleIds: isStringArray(m.rule_ids) ? m.rule_ids : [],
    versionId: typeof policy?.version_id === 'string' ? policy.version_id : null,
    agentId: typeof m.agent_id === 'string' ? m.agent_id : null,
    input,
  };
}

export interface SimulationFlip {
  decision_id: string;
  at: string;
  action: string;
  agent_id: string | null;
  from: { decision: DecisionOutcome; rule_ids: string[]; version_id: string | null };
  to: { decision: DecisionOutcome; rule_ids: string[] };
  /** The candidate's deciding rule; null when the candidate falls to the default deny. */
  by_rule: string | null;
}

export interface SimulationReport {
  candidate: { policy_id: string; version_id: string; version: number };
  replayed: number;
  /** Decision records that could not be replayed: their payload expired, or they carry no facts. */
  skipped: number;
  flipped: number;
  /** `allow->deny` style counts of every flip. */
  changes: Record<string, number>;
  flips: SimulationFlip[];
}

export interface ShadowReport {
  version_id: string;
  shadow: boolean;
  disagreements_total: number;
  items: {
    id: string;
    decision_id: string;
    action: string;
    at: string;
    active: { version_id: string | null; decision: DecisionOutcome; rule_ids: string[] };
    shadow: { decision: DecisionOutcome; rule_ids: string[] };
  }[];
  next_cursor: string | null;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string } | null)?.code === '23505';
}

/** The 422 for a version whose rules do not compile, naming every rule and position. */
export function compileProblem(
  rules: readonly Rule[],
  r: Exclude<CompileRulesResult, { ok: true }>,
): ProblemError {
  const index = new Map(rules.map((rule, i) => [rule.id, i]));
  const where = (p: (typeof r.problems)[number]) =>
    p.line === undefined ? `rule ${p.rule_id}` : `rule ${p.rule_id} at line ${p.line}, column ${p.column}`;
  const errors = r.problems.map((p) => ({
    field: `body.rules.${index.get(p.rule_id) ?? 0}${p.line === undefined ? '' : '.when'}`,
    message: `${where(p)}: ${p.message}`,
  }));
  const detail = errors.map((e) => e.message).join('; ');
  const extra = { errors, rule_errors: r.problems, field: errors[0]?.field };
  switch (r.kind) {
    case 'empty':
      return PolicyProblems.rulesEmpty.create('a policy version needs at least one rule', {
        field: 'body.rules',
      });
    case 'structure':
      return PolicyProblems.ruleInvalid.create(detail, extra);
    case 'variable':
      return PolicyProblems.unknownVariable.create(detail, extra);
    case 'expression':
      return PolicyProblems.expressionInvalid.create(detail, extra);
  }
}

/** A new policy row (no version yet) and its `policy.created` audit record; returns its id. */
async function insertPolicyAudited(
  trx: Tx,
  tenantId: string,
  by: Principal,
  body: CreatePolicyBody,
  metadata: Record<string, unknown>,
): Promise<string> {
  const id = newId();
  await store.insertPolicy(trx, {
    id,
    tenant_id: tenantId,
    name: body.name,
    description: body.description ?? '',
    latest_version: 0,
    created_by: actorOf(by),
  });
  await recordAudit(trx, {
    tenantId,
    eventType: 'policy.created',
    actor: actorOf(by),
    resourceId: id,
    action: 'create',
    outcome: 'success',
    metadata,
  });
  return id;
}

export function createPolicyService(deps: PolicyServiceDeps) {
  const { db } = deps;

  function toPolicy(row: store.PolicyRow, activeVersion: number | null): Policy {
    return {
      id: row.id,
      name: row.name,
      description: row.description,
      latest_version: row.latest_version,
      active_version: activeVersion,
      created_by: row.created_by,
      created_at: iso(row.created_at)!,
      updated_at: iso(row.updated_at)!,
    };
  }

  function toVersion(
    row: store.VersionRow,
    transitions: store.TransitionRow[],
    shadow: boolean,
  ): PolicyVersion {
    return {
      id: row.id,
      policy_id: row.policy_id,
      version: row.version,
      state: row.state,
      shadow,
      description: row.description,
      rules: row.rules,
      tests: row.tests,
      source: row.source,
      created_by: row.created_by,
      created_at: iso(row.created_at)!,
      proposed_by: row.proposed_by,
      proposed_at: iso(row.proposed_at),
      enforced_by: row.enforced_by,
      enforced_at: iso(row.enforced_at),
      revoked_by: row.revoked_by,
      revoked_at: iso(row.revoked_at),
      transitions: transitions
        .filter((t) => t.version_id === row.id)
        .map((t) => ({
          from: t.from_state,
          to: t.to_state,
          actor: t.actor,
          reason: t.reason,
          at: iso(t.at)!,
        })),
    };
  }

  async function requirePolicy(trx: Tx, id: string, forUpdate = false): Promise<store.PolicyRow> {
    const row = await store.getPolicy(trx, id, forUpdate);
    if (!row) throw PolicyProblems.policyNotFound.create(`no policy ${id} in this tenant`);
    return row;
  }

  async function requireVersion(trx: Tx, policyId: string, version: number): Promise<store.VersionRow> {
    const row = await store.getVersion(trx, policyId, version);
    if (!row) throw PolicyProblems.versionNotFound.create(`policy ${policyId} has no version ${version}`);
    return row;
  }

  async function fullVersion(trx: Tx, tenantId: string, row: store.VersionRow): Promise<PolicyVersion> {
    const [transitions, head] = await Promise.all([
      store.listTransitions(trx, [row.id]),
      store.getHead(trx, tenantId),
    ]);
    return toVersion(row, transitions, head?.shadow_version_id === row.id);
  }

  function checkContent(body: CreateVersionBody): void {
    if (body.rules.length === 0)
      throw PolicyProblems.rulesEmpty.create('a policy version needs at least one rule', {
        field: 'body.rules',
      });
    // Structure only here; expressions are checked when the draft is proposed.
    const seen = new Set<string>();
    for (const rule of body.rules) {
      if (seen.has(rule.id))
        throw PolicyProblems.ruleInvalid.create(`rule id ${rule.id} is used twice`, { field: 'body.rules' });
      seen.add(rule.id);
    }
  }

  async function addVersion(
    trx: Tx,
    tenantId: string,
    by: Principal,
    policy: store.PolicyRow,
    body: CreateVersionBody,
    source: Record<string, unknown> | null,
  ): Promise<store.VersionRow> {
    const version = policy.latest_version + 1;
    const id = newId();
    await store.insertVersion(trx, {
      id,
      tenant_id: tenantId,
      policy_id: policy.id,
      version,
      description: body.description ?? '',
      rules: body.rules,
      tests: body.tests ?? [],
      source,
      created_by: actorOf(by),
    });
    await store.setLatestVersion(trx, policy.id, version);
    await store.insertTransition(trx, {
      id: newId(),
      tenant_id: tenantId,
      version_id: id,
      from_state: null,
      to_state: 'draft',
      actor: actorOf(by),
      reason: 'created',
    });
    await recordAudit(trx, {
      tenantId,
      eventType: 'policy.version.created',
      actor: actorOf(by),
      resourceId: id,
      action: 'create',
      outcome: 'success',
      metadata: {
        policy_id: policy.id,
        version,
        rules: body.rules.length,
        tests: body.tests?.length ?? 0,
        source,
      },
    });
    return (await store.getVersion(trx, policy.id, version))!;
  }

  /** Compiles a version's rules (cached per version), or throws the 422 naming rule and position. */
  function compiledOrThrow(row: store.VersionRow): CompiledPolicy {
    const r = deps.compiled.compile(row.id, row.rules);
    if (!r.ok) throw compileProblem(row.rules, r);
    return r.policy;
  }

  function testReport(
    row: store.VersionRow,
    policy: CompiledPolicy,
    extra: readonly TestCase[] = [],
  ): TestReport {
    const results = runTests(policy, [...row.tests, ...extra], new Date(deps.clock.now()));
    const failed = results.filter((r) => !r.passed).length;
    return { version_id: row.id, passed: results.length - failed, failed, results };
  }

  async function transition(
    trx: Tx,
    tenantId: string,
    by: Principal,
    row: store.VersionRow,
    from: readonly VersionState[],
    to: VersionState,
    reason: string,
    eventType: string,
    set: Record<string, unknown> = {},
  ): Promise<store.VersionRow> {
    const moved = await store.transitionVersion(trx, row.id, from, to, set);
    if (!moved)
      throw PolicyProblems.concurrentChange.create(
        `version ${row.version} left state ${row.state} while this request ran; read it again`,
      );
    await store.insertTransition(trx, {
      id: newId(),
      tenant_id: tenantId,
      version_id: row.id,
      from_state: row.state,
      to_state: to,
      actor: actorOf(by),
      reason,
    });
    await recordAudit(trx, {
      tenantId,
      eventType,
      actor: actorOf(by),
      resourceId: row.id,
      action: eventType.slice(eventType.lastIndexOf('.') + 1),
      outcome: 'success',
      metadata: { policy_id: row.policy_id, version: row.version, from: row.state, to, reason },
    });
    return moved;
  }

  /** Makes `target` the tenant's active version inside `trx` (head already locked). */
  async function activate(
    trx: Tx,
    tenantId: string,
    by: Principal,
    head: store.HeadRow,
    target: store.VersionRow,
    from: readonly VersionState[],
    reason: string,
    eventType: string,
  ): Promise<store.VersionRow> {
    if (head.active_version_id && head.active_version_id !== target.id) {
      const [current] = await store.getVersionsById(trx, [head.active_version_id]);
      if (current)
        await transition(
          trx,
          tenantId,
          by,
          current,
          ['active'],
          'superseded',
          `superseded by ${target.id}: ${reason}`,
          'policy.version.superseded',
        );
    }
    const now = new Date(deps.clock.now());
    const moved = await transition(trx, tenantId, by, target, from, 'active', reason, eventType, {
      enforced_by: actorOf(by),
      enforced_at: now,
    });
    await store.updateHead(trx, tenantId, {
      active_version_id: target.id,
      ...(head.shadow_version_id === target.id ? { shadow_version_id: null } : {}),
    });
    return moved;
  }

  function committed(tenantId: string, headChanged: boolean): void {
    deps.onEventsCommitted();
    if (headChanged) deps.onHeadChanged(tenantId);
  }

  /**
   * One lifecycle change of a policy's version, in one tenant transaction (`change` takes the head
   * lock when it touches the active or shadow version), answered as the full version; the node's
   * caches hear of it once it has committed.
   */
  async function changeVersion(
    tenantId: string,
    policyId: string,
    headChanged: boolean,
    change: (trx: Tx) => Promise<store.VersionRow>,
  ): Promise<PolicyVersion> {
    const v = await db.withTenant(tenantId, async (trx) => {
      await requirePolicy(trx, policyId);
      return fullVersion(trx, tenantId, await change(trx));
    });
    committed(tenantId, headChanged);
    return v;
  }

  /** A version about to become active must pass its own test cases (422 listing the failures). */
  function requireTestsPass(row: store.VersionRow): void {
    const report = testReport(row, compiledOrThrow(row));
    const failures = report.results.filter((r) => !r.passed);
    if (failures.length > 0)
      throw PolicyProblems.testsFailed.create(
        `${failures.length} of ${report.results.length} test case(s) of version ${row.version} fail: ${failures
          .map((r) => r.name)
          .join(', ')}`,
        { failures },
      );
  }

  return {
    /**
     * Creates a policy with its first version as a draft.
     *
     * @example
     *   await policies.createPolicy(p, tenantId, { name: 'default', rules: [{ id: 'all', when: 'true', effect: 'allow', reason: 'ok' }] });
     */
    async createPolicy(
      by: Principal,
      tenantId: string,
      body: CreatePolicyBody,
      source: Record<string, unknown> | null = null,
    ): Promise<{ policy: Policy; version: PolicyVersion }> {
      checkContent(body);
      try {
        const result = await db.withTenant(tenantId, async (trx) => {
          if (await store.findPolicyByName(trx, body.name))
            throw PolicyProblems.nameTaken.create(`a policy named ${JSON.stringify(body.name)} exists`, {
              field: 'body.name',
            });
          const id = await insertPolicyAudited(trx, tenantId, by, body, { name: body.name });
          const policy = (await store.getPolicy(trx, id))!;
          const v = await addVersion(trx, tenantId, by, policy, body, source);
          return {
            policy: toPolicy((await store.getPolicy(trx, id))!, null),
            version: await fullVersion(trx, tenantId, v),
          };
        });
        committed(tenantId, false);
        return result;
      } catch (err) {
        if (isUniqueViolation(err))
          throw PolicyProblems.nameTaken.create(`a policy named ${JSON.stringify(body.name)} exists`, {
            field: 'body.name',
          });
        throw err;
      }
    },

    /**
     * Installs `body` as the tenant's first policy and makes it active, inside the caller's
     * transaction (the onboarding consumer's delivery: installed iff the delivery is marked done).
     * A no-op when the tenant already has a policy, so a redelivered event, or a tenant that
     * wrote its own policy first, is left alone. Every query names the tenant: the consumer's
     * transaction has no RLS tenant set. The caller invalidates the head after its commit.
     * The version must compile and pass its tests, or this throws and nothing is installed.
     *
     * @example
     *   await policies.installInitial(trx, tenantId, system, DEFAULT_POLICY, { default_policy_set: 'warden/default', event_id });
     */
    async installInitial(
      trx: Tx,
      tenantId: string,
      by: Principal,
      body: CreatePolicyBody,
      source: Record<string, unknown>,
    ): Promise<{ installed: false } | { installed: true; policyId: string; versionId: string }> {
      checkContent(body);
      // The head lock serialises this with every enforce, rollback and concurrent delivery.
      const head = await store.lockHead(trx, tenantId);
      if (await store.tenantHasPolicy(trx, tenantId)) return { installed: false };
      const id = await insertPolicyAudited(trx, tenantId, by, body, { name: body.name, source });
      const draft = await addVersion(trx, tenantId, by, (await store.getPolicy(trx, id))!, body, source);
      const report = testReport(draft, compiledOrThrow(draft));
      if (report.failed > 0)
        throw PolicyProblems.testsFailed.create(
          `the initial policy's tests fail: ${report.results
            .filter((r) => !r.passed)
            .map((r) => r.name)
            .join(', ')}`,
        );
      const now = new Date(deps.clock.now());
      const proposed = await transition(
        trx,
        tenantId,
        by,
        draft,
        ['draft'],
        'proposed',
        'installed at onboarding',
        'policy.version.proposed',
        { proposed_by: actorOf(by), proposed_at: now },
      );
      const active = await activate(
        trx,
        tenantId,
        by,
        head,
        proposed,
        ['proposed'],
        'installed at onboarding',
        'policy.version.enforced',
      );
      return { installed: true, policyId: id, versionId: active.id };
    },

    /** Adds a draft version to a policy. */
    async createVersion(
      by: Principal,
      tenantId: string,
      policyId: string,
      body: CreateVersionBody,
      source: Record<string, unknown> | null = null,
    ): Promise<PolicyVersion> {
      const v = await db.withTenant(tenantId, async (trx) => {
        const policy = await requirePolicy(trx, policyId, true);
        // After the existence check: another tenant's policy id is a 404 whatever the body holds.
        checkContent(body);
        const row = await addVersion(trx, tenantId, by, policy, body, source);
        return fullVersion(trx, tenantId, row);
      });
      committed(tenantId, false);
      return v;
    },

    async listPolicies(
      tenantId: string,
      q: ListQuery,
    ): Promise<{ items: Policy[]; next_cursor: string | null }> {
      const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
      if (q.cursor !== undefined && !after)
        throw PolicyProblems.invalidCursor.create('cursor is not one of ours', {
          field: 'querystring.cursor',
        });
      return db.withTenant(tenantId, async (trx) => {
        const rows = await store.listPolicies(trx, q.limit + 1, after);
        const head = await store.getHead(trx, tenantId);
        const active = head?.active_version_id
          ? (await store.getVersionsById(trx, [head.active_version_id]))[0]
          : undefined;
        const items = rows
          .slice(0, q.limit)
          .map((r) => toPolicy(r, active?.policy_id === r.id ? active.version : null));
        const last = items[items.length - 1];
        return { items, next_cursor: rows.length > q.limit && last ? encodeCursor(last.id) : null };
      });
    },

    async getPolicy(tenantId: string, id: string): Promise<Policy> {
      return db.withTenant(tenantId, async (trx) => {
        const row = await requirePolicy(trx, id);
        const head = await store.getHead(trx, tenantId);
        const active = head?.active_version_id
          ? (await store.getVersionsById(trx, [head.active_version_id]))[0]
          : undefined;
        return toPolicy(row, active?.policy_id === id ? active.version : null);
      });
    },

    async listVersions(tenantId: string, policyId: string): Promise<PolicyVersion[]> {
      return db.withTenant(tenantId, async (trx) => {
        await requirePolicy(trx, policyId);
        const rows = await store.listVersions(trx, policyId);
        const [transitions, head] = await Promise.all([
          store.listTransitions(
            trx,
            rows.map((r) => r.id),
          ),
          store.getHead(trx, tenantId),
        ]);
        return rows.map((r) => toVersion(r, transitions, head?.shadow_version_id === r.id));
      });
    },

    async getVersion(tenantId: string, policyId: string, version: number): Promise<PolicyVersion> {
      return db.withTenant(tenantId, async (trx) => {
        await requirePolicy(trx, policyId);
        return fullVersion(trx, tenantId, await requireVersion(trx, policyId, version));
      });
    },

    /** draft → proposed, once every `when` compiles (422 naming rule and position otherwise). */
    async propose(
      by: Principal,
      tenantId: string,
      policyId: string,
      version: number,
      reason: string,
    ): Promise<PolicyVersion> {
      return changeVersion(tenantId, policyId, false, async (trx) => {
        const row = await requireVersion(trx, policyId, version);
        if (row.state !== 'draft')
          throw PolicyProblems.invalidTransition.create(
            `version ${version} is ${row.state}; only a draft can be proposed`,
          );
        compiledOrThrow(row);
        const moved = await transition(
          trx,
          tenantId,
          by,
          row,
          ['draft'],
          'proposed',
          reason,
          'policy.version.proposed',
          {
            proposed_by: actorOf(by),
            proposed_at: new Date(deps.clock.now()),
          },
        );
        return moved;
      });
    },

    /** proposed → active; the previous active version becomes superseded. Tests must pass. */
    async enforce(
      by: Principal,
      tenantId: string,
      policyId: string,
      version: number,
      body: EnforceBody,
    ): Promise<PolicyVersion> {
      return changeVersion(tenantId, policyId, true, async (trx) => {
        // The head lock serialises every change of the tenant's active version.
        const head = await store.lockHead(trx, tenantId);
        const row = await requireVersion(trx, policyId, version);
        if (row.state === 'draft')
          throw PolicyProblems.notProposed.create(
            `version ${version} is a draft that was never proposed; propose it first`,
          );
        if (row.state === 'active')
          throw PolicyProblems.concurrentChange.create(`version ${version} is already the active version`);
        if (row.state !== 'proposed')
          throw PolicyProblems.invalidTransition.create(
            `version ${version} is ${row.state}; only a proposed version can be enforced (use rollback for a former one)`,
          );
        if (
          body.expected_active_version_id !== undefined &&
          body.expected_active_version_id !== head.active_version_id
        )
          throw PolicyProblems.concurrentChange.create(
            `the active version is ${head.active_version_id ?? 'none'}, not ${body.expected_active_version_id ?? 'none'}`,
            { field: 'body.expected_active_version_id' },
          );
        requireTestsPass(row);
        const moved = await activate(
          trx,
          tenantId,
          by,
          head,
          row,
          ['proposed'],
          body.reason,
          'policy.version.enforced',
        );
        return moved;
      });
    },

    /** draft | proposed | active → revoked. Revoking the active version leaves the tenant on default deny. */
    async revoke(
      by: Principal,
      tenantId: string,
      policyId: string,
      version: number,
      reason: string,
    ): Promise<PolicyVersion> {
      return changeVersion(tenantId, policyId, true, async (trx) => {
        const head = await store.lockHead(trx, tenantId);
        const row = await requireVersion(trx, policyId, version);
        if (!['draft', 'proposed', 'active'].includes(row.state))
          throw PolicyProblems.invalidTransition.create(`version ${version} is already ${row.state}`);
        const moved = await transition(
          trx,
          tenantId,
          by,
          row,
          [row.state],
          'revoked',
          reason,
          'policy.version.revoked',
          {
            revoked_by: actorOf(by),
            revoked_at: new Date(deps.clock.now()),
          },
        );
        const set: { active_version_id?: null; shadow_version_id?: null } = {};
        if (head.active_version_id === row.id) set.active_version_id = null;
        if (head.shadow_version_id === row.id) set.shadow_version_id = null;
        if (Object.keys(set).length > 0) await store.updateHead(trx, tenantId, set);
        return moved;
      });
    },

    /**
     * Re-activates an earlier version of this policy in one call: `to_version`, or by default the
     * one of this policy most recently active before. Its tests must still pass.
     */
    async rollback(
      by: Principal,
      tenantId: string,
      policyId: string,
      body: { reason: string; to_version?: number | undefined },
    ): Promise<PolicyVersion> {
      return changeVersion(tenantId, policyId, true, async (trx) => {
        const head = await store.lockHead(trx, tenantId);
        let target: store.VersionRow | undefined;
        if (body.to_version !== undefined) {
          target = await requireVersion(trx, policyId, body.to_version);
          if (target.id === head.active_version_id)
            throw PolicyProblems.nothingToRollBack.create(
              `version ${body.to_version} is the active version already`,
            );
          if (!target.enforced_at || !['superseded', 'revoked'].includes(target.state))
            throw PolicyProblems.nothingToRollBack.create(
              `version ${body.to_version} is ${target.state} and was never active; enforce a proposed version instead`,
            );
        } else {
          target = await store.latestFormerlyActive(trx, policyId);
          if (!target)
            throw PolicyProblems.nothingToRollBack.create('no version of this policy was active before');
        }
        requireTestsPass(target);
        const moved = await activate(
          trx,
          tenantId,
          by,
          head,
          target,
          ['superseded', 'revoked'],
          body.reason,
          'policy.version.rolled_back',
        );
        return moved;
      });
    },

    /** Starts or stops evaluating a proposed version beside the active one on live traffic. */
    async setShadow(
      by: Principal,
      tenantId: string,
      policyId: string,
      version: number,
      body: { enabled: boolean; reason: string },
    ): Promise<PolicyVersion> {
      return changeVersion(tenantId, policyId, true, async (trx) => {
        const head = await store.lockHead(trx, tenantId);
        const row = await requireVersion(trx, policyId, version);
        if (body.enabled) {
          if (row.state !== 'proposed')
            throw PolicyProblems.notProposed.create(
              `version ${version} is ${row.state}; only a proposed version runs in shadow`,
            );
          compiledOrThrow(row);
          await store.updateHead(trx, tenantId, { shadow_version_id: row.id });
        } else if (head.shadow_version_id === row.id) {
          await store.updateHead(trx, tenantId, { shadow_version_id: null });
        }
        await store.insertTransition(trx, {
          id: newId(),
          tenant_id: tenantId,
          version_id: row.id,
          from_state: row.state,
          to_state: row.state,
          actor: actorOf(by),
          reason: `${body.enabled ? 'shadow started' : 'shadow stopped'}: ${body.reason}`,
        });
        await recordAudit(trx, {
          tenantId,
          eventType: body.enabled ? 'policy.version.shadow_started' : 'policy.version.shadow_stopped',
          actor: actorOf(by),
          resourceId: row.id,
          action: 'shadow',
          outcome: 'success',
          metadata: { policy_id: policyId, version, reason: body.reason, replaced: head.shadow_version_id },
        });
        return row;
      });
    },

    /** Runs a version's test cases (and any extra ones given); a draft's expressions are checked here too. */
    async testVersion(
      tenantId: string,
      policyId: string,
      version: number,
      extra: readonly TestCase[] = [],
    ): Promise<TestReport> {
      const row = await db.withTenant(tenantId, async (trx) => {
        await requirePolicy(trx, policyId);
        return requireVersion(trx, policyId, version);
      });
      return testReport(row, compiledOrThrow(row), extra);
    },

    /**
     * Replays the tenant's last `last` decisions under a candidate version and lists what would flip.
     *
     * @example
     *   const r = await policies.simulate(tenantId, policyId, { version: 3, last: 1000, max_flips: 100 });
     *   r.changes; // { 'allow->pending_approval': 12 }
     */
    async simulate(
      tenantId: string,
      policyId: string,
      q: { version: number; last: number; max_flips: number },
    ): Promise<SimulationReport> {
      if (!deps.decisionHistory)
        throw PolicyProblems.simulationUnavailable.create(
          'this node does not read the audit log, where past decisions are kept',
        );
      const row = await db.withTenant(tenantId, async (trx) => {
        await requirePolicy(trx, policyId);
        return requireVersion(trx, policyId, q.version);
      });
      const policy = compiledOrThrow(row);
      // Decisions still buffered on this node are written first, so the latest ones are replayed.
      await deps.flushDecisions();
      const history = await deps.decisionHistory(tenantId, q.last);
      const flips: SimulationFlip[] = [];
      const changes: Record<string, number> = {};
      let flipped = 0;
      let replayed = 0;
      for (const record of history) {
        const d = pastDecision(record);
        if (!d) continue;
        replayed++;
        const v = decide(policy, d.input.action, createActivation(factsFromInput(d.input, d.at)));
        // A flip is a different outcome; the same outcome by other rules is not one.
        if (v.decision === d.decision) continue;
        flipped++;
        const key = `${d.decision}->${v.decision}`;
        changes[key] = (changes[key] ?? 0) + 1;
        if (flips.length < q.max_flips)
          flips.push({
            decision_id: d.decisionId,
            at: d.at.toISOString(),
            action: d.input.action,
            agent_id: d.agentId,
            from: { decision: d.decision, rule_ids: d.ruleIds, version_id: d.versionId },
            to: { decision: v.decision, rule_ids: v.ruleIds },
            by_rule: v.deciding?.id ?? null,
          });
      }
      return {
        candidate: { policy_id: policyId, version_id: row.id, version: row.version },
        replayed,
        skipped: history.length - replayed,
        flipped,
        changes,
        flips,
      };
    },

    /** The disagreements a shadow version recorded against the active one, newest first. */
    async shadowReport(
      tenantId: string,
      policyId: string,
      version: number,
      q: ListQuery,
    ): Promise<ShadowReport> {
      const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
      if (q.cursor !== undefined && !before)
        throw PolicyProblems.invalidCursor.create('cursor is not one of ours', {
          field: 'querystring.cursor',
        });
      await deps.flushDecisions();
      return db.withTenant(tenantId, async (trx) => {
        await requirePolicy(trx, policyId);
        const row = await requireVersion(trx, policyId, version);
        const [rows, total, head] = await Promise.all([
          store.listDisagreements(trx, row.id, q.limit + 1, before),
          store.countDisagreements(trx, row.id),
          store.getHead(trx, tenantId),
        ]);
        const items = rows.slice(0, q.limit).map((d) => ({
          id: d.id,
          decision_id: d.decision_id,
          action: d.action,
          at: iso(d.created_at)!,
          active: {
            version_id: d.active_version_id,
            decision: d.active_decision,
            rule_ids: d.active_rule_ids,
          },
          shadow: { decision: d.shadow_decision, rule_ids: d.shadow_rule_ids },
        }));
        const last = items[items.length - 1];
        return {
          version_id: row.id,
          shadow: head?.shadow_version_id === row.id,
          disagreements_total: total,
          items,
          next_cursor: rows.length > q.limit && last ? encodeCursor(last.id) : null,
        };
      });
    },
  };
}

export type PolicyService = ReturnType<typeof createPolicyService>;
