/**
 * The decision path (ARCHITECTURE.md §4): the caller is authenticated by the edge → the delegation
 * token is verified (injected verifier) → the tenant's active version is evaluated (compiled,
 * cached) → the answer carries reasons, rule ids, version and decision id → the decision and its
 * audit record are buffered and written in batches → any internal error fails closed (deny).
 *
 * Hot path, hence hand-written caches rather than a database read per decision:
 *  - the tenant's head (active and shadow version, compiled) is cached per tenant and invalidated
 *    at once on this node after a change, and within `headPollMs` on every other node (a poll of
 *    `policy.heads.seq`, one indexed query per interval for the whole node);
 *  - agent facts are cached for `agentTtlMs` (trust changes take effect within that window);
 *  - each decision is one audit record (with its facts, which simulation replays), handed to the
 *    audit module's batched append; the outbox, through a bounded buffer flushed every
 *    `flushIntervalMs` (with shadow disagreements), is the fallback. A clean stop flushes both; a
 *    crash loses at most their windows. A full buffer fails decisions closed rather than dropping
 *    their records.
 */

import { createHash } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import type { Database, Tx } from '../../platform/db/database.js';
import { publish } from '../../platform/events/bus.js';
import { WriteBehind } from '../../platform/events/write-behind.js';
import type { Principal } from '../../platform/http/auth.js';
import { ProblemError } from '../../platform/http/problem.js';
import { newId } from '../../platform/ids.js';
import type { AuditAppend } from '../audit/index.js';
import { type CelActivation, createActivation } from './cel/compile.js';
import type { CompiledCache } from './compiled-cache.js';
import { type CachePlan, type CompiledPolicy, decide, factsFromInput, type Verdict } from './engine.js';
import { foreignProblem, PolicyProblems } from './errors.js';
import { AUDIT_TOPIC, actorOf, auditPayload, type PolicyAudit } from './events.js';
import { computeRisk } from './risk.js';
import * as store from './store.js';
import {
  type ApprovalSpec,
  type DecisionInput,
  type DecisionResponse,
  MAX_CONTEXT_BYTES,
  MAX_FACT_DEPTH,
} from './types.js';

/** What the policy module needs to know about an agent. */
export interface AgentFacts {
  readonly id: string;
  readonly tier: string;
  readonly trust_level: string;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** Finds an active agent of a tenant; undefined when unknown or revoked. */
export type AgentLookup = (tenantId: string, agentId: string) => Promise<AgentFacts | undefined>;

/** The question put to the delegation verifier (the authz module). */
export interface DelegationCheck {
  readonly tenantId: string;
  /** The authenticated caller (an agent, or an API key acting for one). */
  readonly principal: Principal;
  /** The agent the decision is for: the token's effective holder must be this agent (or the caller). */
  readonly agentId: string;
  readonly token: string;
  readonly action: string;
  /** The resource name the token's `resources` caveat is matched against. */
  readonly resource: string;
}

export type DelegationResult =
  | {
      readonly ok: true /** Holders from the first to the effective one, when the verifier knows them. */;
      readonly holders?: readonly string[];
    }
  | {
      readonly ok: false;
      /** A stable code, e.g. `action_not_permitted`. */
      readonly reason: string;
      /** The problem type to answer with, e.g. `/problems/delegation-action-not-permitted` (403). */
      readonly problemType?: string;
      readonly detail?: string;
      /** The verifier's own problem (401 or 403), answered as is when given. */
      readonly problem?: ProblemError;
    };

/**
 * Verifies a delegation token for a request: signature chain, expiry, holder, and that the action
 * and resource are inside its caveats. Provided by the authz module; never implemented here.
 */
export type DelegationVerifier = (check: DelegationCheck) => Promise<DelegationResult>;

/** Live usage figures of an agent (metering); synchronous because it must be a memory read. */
export type UsageLookup = (tenantId: string, agentId: string) => Readonly<Record<string, number>> | undefined;

/** A past decision as the audit log holds it: a `decision.made` record. */
export interface PastDecision {
  /** The record's timestamp (when the decision was made). */
  readonly at: string;
  /** The decision (the record's outcome). */
  readonly outcome: string;
  /** The record's metadata (decision id, rules, version, the input facts); null once expired. */
  readonly metadata: Readonly<Record<string, unknown>> | null;
}

/**
 * The tenant's last `last` decisions from the audit log, newest first — what simulation replays.
 * Provided by the audit module's reader; without it simulation is unavailable on the node.
 */
export type DecisionHistory = (tenantId: string, last: number) => Promise<readonly PastDecision[]>;

/** What the approvals module receives for a `pending_approval` decision. */
export interface ApprovalRequestInput {
  readonly tenantId: string;
  readonly decisionId: string;
  readonly agentId: string;
  readonly action: string;
  readonly resource: string;
  readonly ruleId: string;
  readonly spec: ApprovalSpec;
  readonly reasons: readonly string[];
}

/** The approvals module's interface, once it exists: opens an approval request, returns its id. */
export interface ApprovalRequester {
  requestApproval(input: ApprovalRequestInput): Promise<{ approvalId: string }>;
}

/** A decision asked in process by another module, or by the HTTP route. */
export interface DecisionRequest {
  readonly tenantId: string;
  readonly caller: Principal;
  /** Required unless the caller is the agent itself. */
  readonly agentId?: string | undefined;
  readonly action: string;
  readonly resource: {
    readonly id: string;
    readonly type?: string | undefined;
    readonly attributes?: Readonly<Record<string, unknown>> | undefined;
  };
  readonly context?: Readonly<Record<string, unknown>> | undefined;
  /**
   * The delegation token to verify, or — for a module that verified it itself before calling —
   * the name of that module (recorded in the audit record).
   */
  readonly delegation: { readonly token: string } | { readonly verifiedBy: string };
}

/** A decision; `failure` is set when it failed closed (then `decision` is always `deny`). */
export interface Decision extends DecisionResponse {
  readonly failure?: { readonly type: string; readonly detail: string };
}

/**
 * The audit module's in-process append (an enqueue, batched and flushed by the audit module). When
 * given, decision records go there at once — one outbox event and one bus delivery per decision
 * cost far more than the decision — and the outbox (through the decision log) is the fallback when
 * it refuses. Without it, records go through the outbox.
 */
export type AuditAppender = (record: AuditAppend) => void;

export interface DecisionServiceDeps {
  db: Database;
  clock: Clock;
  appendAudit?: AuditAppender | undefined;
  compiled: CompiledCache;
  /** Absent until the authz module is wired: then every decision that carries a token fails closed. */
  verifyDelegation?: DelegationVerifier | undefined;
  agents: AgentLookup;
  usage?: UsageLookup | undefined;
  approvals?: ApprovalRequester | undefined;
  onEventsCommitted: () => void;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  flushIntervalMs?: number | undefined;
  maxBuffered?: number | undefined;
  headPollMs?: number | undefined;
  agentTtlMs?: number | undefined;
}

interface LoadedVersion {
  readonly versionId: string;
  readonly policyId: string;
  readonly version: number;
  readonly compiled: CompiledPolicy;
}

interface Head {
  readonly active: LoadedVersion | undefined;
  readonly shadow: LoadedVersion | undefined;
}

/** What the decision log writes: an audit record through the outbox, a shadow disagreement, or both. */
interface LogEntry {
  readonly at: Date;
  /** Set when the record goes through the outbox (no in-process appender, or it refused). */
  readonly audit?: PolicyAudit;
  readonly disagreement?: store.DisagreementRow;
}

const MAX_BATCH = 500;
const MAX_HEADS = 100_000;
const MAX_AGENTS = 50_000;
/** Reusable verdicts kept per node (rules with `cache_ttl_seconds`); the map is cleared when full. */
const MAX_CACHED_VERDICTS = 50_000;
/** Cache keys longer than this are hashed, so a 16 KiB context does not sit in memory as a key. */
const MAX_RAW_KEY = 256;

/**
 * Approximate JSON size of a value, stopping as soon as it passes `budget` or `MAX_FACT_DEPTH`:
 * bounded work on hostile input, and no serialisation on the hot path. Returns -1 when over.
 */
export function boundedJsonSize(value: unknown, budget: number, depth = 0): number {
  if (depth > MAX_FACT_DEPTH) return -1;
  if (value === null || value === undefined || typeof value === 'boolean') return 5;
  if (typeof value === 'number') return 24;
  if (typeof value === 'string') return value.length + 2;
  if (typeof value !== 'object') return -1;
  let size = 2;
  if (Array.isArray(value)) {
    for (const item of value) {
      const s = boundedJsonSize(item, budget - size, depth + 1);
      if (s < 0) return -1;
      size += s + 1;
      if (size > budget) return -1;
    }
    return size;
  }
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    const s = boundedJsonSize((value as Record<string, unknown>)[key], budget - size, depth + 1);
    if (s < 0) return -1;
    size += key.length + 3 + s + 1;
    if (size > budget) return -1;
  }
  return size;
}

/** What a `decision.made` record says: the verdict, where it came from, and the facts it was made on. */
export interface DecisionMade {
  tenantId: string;
  /** `kind:id` of the caller (actorOf). */
  actor: string;
  input: DecisionInput;
  /** The risk score computed for `input` (input.risk, set before the verdict). */
  riskScore: number;
  decisionId: string;
  agentId: string;
  verdict: Pick<Verdict, 'decision' | 'ruleIds' | 'reasons' | 'errors'>;
  policy: { policy_id: string; version_id: string; version: number } | null;
  approvalId: string | null;
  cached: boolean;
  /** Set when no delegation token was presented and the caller vouched for the agent itself. */
  verifiedBy?: string;
}

/**
 * The `decision.made` audit record of a decision. It carries the facts the decision was made on:
 * simulation replays them (redacted like every audit record, so a rule matching on an e-mail
 * address sees [REDACTED:EMAIL]). Exported so the benchmark's floors write this very record.
 */
export function decisionMadeRecord(d: DecisionMade): PolicyAudit {
  return {
    tenantId: d.tenantId,
    eventType: 'decision.made',
    actor: d.actor,
    resourceId: d.input.resource?.id ?? null,
    action: d.input.action,
    outcome: d.verdict.decision,
    metadata: {
      decision_id: d.decisionId,
      agent_id: d.agentId,
      policy: d.policy,
      rule_ids: d.verdict.ruleIds,
      reasons: d.verdict.reasons,
      errors: d.verdict.errors,
      risk_score: d.riskScore,
      approval_id: d.approvalId,
      cached: d.cached,
      ...(d.verifiedBy !== undefined ? { delegation_verified_by: d.verifiedBy } : {}),
      input: d.input,
    },
  };
}

/** The audit records of a batch as outbox events, in the caller's transaction. */
async function publishAudits(trx: Tx, batch: LogEntry[]): Promise<void> {
  for (const e of batch)
    if (e.audit)
      await publish(trx, { topic: AUDIT_TOPIC, tenantId: e.audit.tenantId, payload: auditPayload(e.audit) });
}

/**
 * Buffered writes of the decision path: shadow disagreements, and audit records that go through
 * the outbox (when the node has no in-process audit appender, or it refused). Written in batches,
 * one transaction each, on the buffer's timer and on stop; a full buffer refuses, and the decision
 * fails closed rather than lose its record.
 */
function decisionLog(deps: Pick<DecisionServiceDeps, 'db' | 'onEventsCommitted'>, max: number) {
  return new WriteBehind<LogEntry>(deps.db, {
    write: async (trx, batch) => {
      await store.insertDisagreements(
        trx,
        batch.filter((e) => e.disagreement).map((e) => e.disagreement!),
      );
      await publishAudits(trx, batch);
    },
    max,
    whenFull: 'refuse',
    maxBatch: MAX_BATCH,
    onWritten: () => deps.onEventsCommitted(),
  });
}

export function createDecisionService(deps: DecisionServiceDeps) {
  const log = decisionLog(deps, deps.maxBuffered ?? 100_000);
  const heads = new Map<string, Head | Promise<Head>>();
  // Bumped by every invalidation, so a load that started before a change does not cache stale data.
  const generations = new Map<string, number>();
  const agents = new Map<string, { facts: AgentFacts | undefined; at: number }>();
  const agentTtlMs = deps.agentTtlMs ?? 2000;
  const verdicts = new Map<string, { readonly verdict: Verdict; readonly expiresAt: number }>();
  let lastSeq = 0;
  let pollTimer: NodeJS.Timeout | undefined;
  let polling = false;

  function invalidate(tenantId: string): void {
    heads.delete(tenantId);
    generations.set(tenantId, (generations.get(tenantId) ?? 0) + 1);
  }

  async function loadHead(tenantId: string): Promise<Head> {
    const rows = await deps.db.withTenant(tenantId, async (trx) => {
      const head = await store.getHead(trx, tenantId);
      const ids = [head?.active_version_id, head?.shadow_version_id].filter((x): x is string => !!x);
      return { head, versions: await store.getVersionsById(trx, ids) };
    });
    const load = (id: string | null | undefined): LoadedVersion | undefined => {
      if (!id) return undefined;
      const row = rows.versions.find((v) => v.id === id);
      if (!row) throw new Error(`policy version ${id} of the head is missing`);
      const r = deps.compiled.compile(row.id, row.rules);
      // Checked when proposed; failing now is a bug or a library change: fail closed, loudly.
      if (!r.ok) throw new Error(`policy version ${id} no longer compiles: ${r.problems[0]?.message}`);
      return { versionId: row.id, policyId: row.policy_id, version: row.version, compiled: r.policy };
    };
    return { active: load(rows.head?.active_version_id), shadow: load(rows.head?.shadow_version_id) };
  }

  function headOf(tenantId: string): Head | Promise<Head> {
    const cached = heads.get(tenantId);
    if (cached) return cached;
    const generation = generations.get(tenantId) ?? 0;
    if (heads.size >= MAX_HEADS) heads.clear();
    const loading = loadHead(tenantId).then(
      (head) => {
        if ((generations.get(tenantId) ?? 0) === generation) heads.set(tenantId, head);
        else heads.delete(tenantId);
        return head;
      },
      (err) => {
        heads.delete(tenantId);
        throw err;
      },
    );
    heads.set(tenantId, loading);
    return loading;
  }

  async function agentOf(tenantId: string, agentId: string): Promise<AgentFacts | undefined> {
    const key = `${tenantId}:${agentId}`;
    const hit = agents.get(key);
    const now = deps.clock.now();
    if (hit && now - hit.at < agentTtlMs) return hit.facts;
    const facts = await deps.agents(tenantId, agentId);
    if (agents.size >= MAX_AGENTS) agents.clear();
    agents.set(key, { facts, at: now });
    return facts;
  }

  async function pollHeads(): Promise<void> {
    const changed = await store.changedHeads(deps.db.kysely, lastSeq);
    for (const c of changed) {
      invalidate(c.tenant_id);
      if (c.seq > lastSeq) lastSeq = c.seq;
    }
  }

  /**
   * Audits a decision (the in-process appender, else the outbox through the log) and buffers its
   * shadow disagreement. Throws when the log is full: the caller fails closed, nothing is dropped.
   */
  function record(at: Date, audit: PolicyAudit, disagreement?: store.DisagreementRow): void {
    let viaOutbox: PolicyAudit | undefined = audit;
    if (deps.appendAudit) {
      try {
        deps.appendAudit({
          tenant_id: audit.tenantId,
          ...auditPayload(audit),
        } as Parameters<AuditAppender>[0]);
        viaOutbox = undefined;
      } catch (err) {
        // Its buffer is full (the database is behind) or it refused the record: the outbox keeps it.
        deps.log.warn(
          { err, tenant_id: audit.tenantId },
          'audit append refused a decision record; using the outbox',
        );
      }
    }
    if (!viaOutbox && !disagreement) return;
    if (
      !log.add({
        at,
        ...(viaOutbox ? { audit: viaOutbox } : {}),
        ...(disagreement ? { disagreement } : {}),
      })
    )
      throw new Error(`the decision log holds ${log.size} unwritten records; the database is behind`);
  }

  /**
   * The facts the action's rules can observe, and nothing else: two requests with the same key get
   * the same verdict from the same version. An absent field is not a null one.
   */
  function cacheKey(tenantId: string, versionId: string, input: DecisionInput, plan: CachePlan): string {
    let key = `${tenantId}\n${versionId}\n${input.action}`;
    for (const path of plan.reads) {
      let v: unknown = input;
      for (let i = 0; i < path.length && v !== undefined; i++)
        v =
          v !== null && typeof v === 'object' && !Array.isArray(v)
            ? (v as Record<string, unknown>)[path[i]!]
            : undefined;
      key += v === undefined ? '\n~' : `\n${JSON.stringify(v)}`;
    }
    return key.length <= MAX_RAW_KEY ? key : createHash('sha256').update(key).digest('base64');
  }

  function failClosed(req: DecisionRequest, agentId: string | undefined, err: unknown, at: Date): Decision {
    const decisionId = newId();
    deps.log.error(
      { err, tenant_id: req.tenantId, decision_id: decisionId, action: req.action },
      'policy decision failed closed',
    );
    // Best effort: the buffer may be the very thing that failed.
    try {
      record(at, {
        tenantId: req.tenantId,
        eventType: 'decision.failed_closed',
        actor: actorOf(req.caller),
        resourceId: req.resource.id,
        action: req.action,
        outcome: 'deny',
        metadata: {
          decision_id: decisionId,
          agent_id: agentId ?? null,
          error: err instanceof Error ? err.message : String(err),
        },
      });
    } catch {
      // Logged above; the decision is a deny either way.
    }
    return {
      decision_id: decisionId,
      decision: 'deny',
      reasons: ['the decision could not be completed, so it is denied (fail closed)'],
      rule_ids: [],
      policy: null,
      approval_id: null,
      approval: null,
      errors: [],
      risk: { score: 100, factors: [] },
      evaluated_at: at.toISOString(),
      cached: false,
      failure: {
        type: PolicyProblems.failedClosed.type,
        detail: 'an internal error stopped the decision; it is denied. Retry later.',
      },
    };
  }

  /**
   * Decides one request. Throws a ProblemError (4xx) when the request itself is refused (unknown
   * agent, agent mismatch, oversized context, delegation refused); any other failure is returned
   * as a `deny` with `failure` set, never thrown and never an allow.
   *
   * @example
   *   const d = await decisions.evaluate({ tenantId, caller: principal, action: 'sandbox.create',
   *     resource: { id: 'sandbox:new' }, context: { estimated_cost: 80 }, delegation: { token } });
   *   if (d.decision !== 'allow') return refuse(d.reasons);
   */
  async function evaluate(req: DecisionRequest): Promise<Decision> {
    const at = new Date(deps.clock.now());
    let agentId: string | undefined;
    if (req.caller.kind === 'agent') {
      if (req.agentId !== undefined && req.agentId !== req.caller.id)
        throw PolicyProblems.agentMismatch.create('a signed agent request can only ask about its own agent', {
          field: 'body.agent_id',
        });
      agentId = req.caller.id;
    } else {
      agentId = req.agentId;
      if (!agentId)
        throw PolicyProblems.agentUnknown.create('name the agent the decision is for in agent_id', {
          field: 'body.agent_id',
        });
    }
    for (const [field, value] of [
      ['body.context', req.context],
      ['body.resource.attributes', req.resource.attributes],
    ] as const) {
      if (value !== undefined && boundedJsonSize(value, MAX_CONTEXT_BYTES) < 0)
        throw PolicyProblems.contextTooLarge.create(
          `${field} is over ${MAX_CONTEXT_BYTES} bytes of JSON or nested deeper than ${MAX_FACT_DEPTH} levels`,
          { field },
        );
    }
    try {
      let principal: Record<string, unknown>;
      if ('token' in req.delegation) {
        if (!deps.verifyDelegation) throw new Error('no delegation verifier is wired on this node');
        const verdict = await deps.verifyDelegation({
          tenantId: req.tenantId,
          principal: req.caller,
          agentId,
          token: req.delegation.token,
          action: req.action,
          resource: req.resource.id,
        });
        if (!verdict.ok) {
          record(at, {
            tenantId: req.tenantId,
            eventType: 'decision.refused',
            actor: actorOf(req.caller),
            resourceId: req.resource.id,
            action: req.action,
            outcome: 'denied',
            metadata: { agent_id: agentId, reason: verdict.reason },
          });
          if (verdict.problem instanceof ProblemError && verdict.problem.status < 500) throw verdict.problem;
          throw foreignProblem(
            verdict.problemType ?? PolicyProblems.delegationRefused.type,
            verdict.detail ?? `the delegation token does not allow this request (${verdict.reason})`,
            { reason: verdict.reason },
          );
        }
        const chain = verdict.holders && verdict.holders.length > 0 ? [...verdict.holders] : [agentId];
        principal = { chain, depth: chain.length - 1, caller: actorOf(req.caller) };
      } else {
        principal = {
          chain: [agentId],
          depth: 0,
          caller: actorOf(req.caller),
          verified_by: req.delegation.verifiedBy,
        };
      }

      const agent = await agentOf(req.tenantId, agentId);
      if (!agent)
        throw PolicyProblems.agentUnknown.create(`no active agent ${agentId} in this tenant`, {
          field: 'body.agent_id',
        });
      const head = await headOf(req.tenantId);
      const input: DecisionInput = {
        agent: {
          id: agent.id,
          tier: agent.tier,
          trust_level: agent.trust_level,
          metadata: { ...agent.metadata },
        },
        principal,
        action: req.action,
        resource: {
          id: req.resource.id,
          ...(req.resource.type !== undefined ? { type: req.resource.type } : {}),
          ...(req.resource.attributes !== undefined ? { attributes: { ...req.resource.attributes } } : {}),
        },
        context: { ...(req.context ?? {}) },
        // No metering module yet: without a usage lookup every figure is absent (an empty map).
        usage: { ...(deps.usage?.(req.tenantId, agentId) ?? {}) },
        now: at.toISOString(),
      };
      const risk = computeRisk({
        agent: input.agent,
        action: input.action,
        context: input.context,
        resourceAttributes: input.resource?.attributes,
        delegationDepth: principal.depth as number,
      });
      input.risk = risk;
      const active = head.active;
      // Reuse only where every rule of the action says so, and never while a shadow version runs
      // (each live decision must be compared) — see the `cache_ttl_seconds` rule field.
      const plan = active && !head.shadow ? active.compiled.candidates(req.action).cache : undefined;
      const key = plan ? cacheKey(req.tenantId, active!.versionId, input, plan) : undefined;
      let v: Verdict | undefined;
      let cached = false;
      if (key !== undefined) {
        const hit = verdicts.get(key);
        if (hit && hit.expiresAt > at.getTime()) {
          v = hit.verdict;
          cached = true;
        }
      }
      let activation: CelActivation | undefined;
      if (!v) {
        activation = createActivation(factsFromInput(input, at));
        v = decide(active?.compiled, req.action, activation);
        if (key !== undefined && v.decision !== 'pending_approval' && v.errors.length === 0) {
          if (verdicts.size >= MAX_CACHED_VERDICTS) verdicts.clear();
          verdicts.set(key, { verdict: v, expiresAt: at.getTime() + plan!.ttlMs });
        }
      }
      const decisionId = newId();

      let disagreement: store.DisagreementRow | undefined;
      if (head.shadow) {
        const s = decide(
          head.shadow.compiled,
          req.action,
          activation ?? createActivation(factsFromInput(input, at)),
        );
        if (s.decision !== v.decision)
          disagreement = {
            id: newId(),
            tenant_id: req.tenantId,
            shadow_version_id: head.shadow.versionId,
            decision_id: decisionId,
            active_version_id: active?.versionId ?? null,
            active_decision: v.decision,
            active_rule_ids: v.ruleIds,
            shadow_decision: s.decision,
            shadow_rule_ids: s.ruleIds,
            action: req.action,
            created_at: at,
          };
      }

      let approvalId: string | null = null;
      const approvalRule = v.decision === 'pending_approval' ? v.deciding : undefined;
      if (approvalRule?.approval && deps.approvals) {
        approvalId = (
          await deps.approvals.requestApproval({
            tenantId: req.tenantId,
            decisionId,
            agentId,
            action: req.action,
            resource: req.resource.id,
            ruleId: approvalRule.id,
            spec: approvalRule.approval,
            reasons: v.reasons,
          })
        ).approvalId;
      }

      const policy = active
        ? { policy_id: active.policyId, version_id: active.versionId, version: active.version }
        : null;
      record(
        at,
        decisionMadeRecord({
          tenantId: req.tenantId,
          actor: actorOf(req.caller),
          input,
          decisionId,
          agentId,
          verdict: v,
          riskScore: risk.score,
          policy,
          approvalId,
          cached,
          ...('verifiedBy' in req.delegation ? { verifiedBy: req.delegation.verifiedBy } : {}),
        }),
        disagreement,
      );
      return {
        decision_id: decisionId,
        decision: v.decision,
        reasons: v.reasons,
        rule_ids: v.ruleIds,
        policy,
        approval_id: approvalId,
        approval: approvalRule?.approval ? { rule_id: approvalRule.id, spec: approvalRule.approval } : null,
        errors: v.errors,
        risk,
        evaluated_at: input.now!,
        cached,
      };
    } catch (err) {
      if (err instanceof ProblemError && err.status < 500) throw err;
      return failClosed(req, agentId, err, at);
    }
  }

  return {
    evaluate,
    invalidate,
    flush: async () => {
      await log.flush();
    },
    get buffered() {
      return log.size;
    },
    async start(): Promise<void> {
      lastSeq = await store.maxHeadSeq(deps.db.kysely);
      log.start(deps.flushIntervalMs ?? 100, (err) =>
        deps.log.error({ err }, 'writing buffered policy decisions failed; will retry'),
      );
      pollTimer = setInterval(() => {
        if (polling) return;
        polling = true;
        pollHeads()
          .catch((err) => deps.log.warn({ err }, 'polling policy heads failed; will retry'))
          .finally(() => {
            polling = false;
          });
      }, deps.headPollMs ?? 1000);
      pollTimer.unref();
    },
    async stop(): Promise<void> {
      if (pollTimer) clearInterval(pollTimer);
      await log.stop();
    },
  };
}

export type DecisionService = ReturnType<typeof createDecisionService>;
