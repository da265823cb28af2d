/**
 * The policy engine: a version's rules compiled once into an action index, and the combining
 * algorithm run per decision.
 *
 * Combining: deny overrides, then require_approval, then allow; no match is a deny. A rule whose
 * `when` fails to evaluate counts as matching when it denies or requires approval and as not
 * matching when it allows (fail closed), and the failure is reported with the decision.
 *
 * Hot path: `decide` is hand-written (no closures per rule, no intermediate arrays beyond the
 * matched lists) because every decision of every tenant runs it. Rules are indexed by their
 * action patterns, so a decision evaluates only the rules that can concern its action: a
 * 1,000-rule set with a few rules per action costs what a 10-rule set does.
 */
import {
  type CelActivation,
  type CelEnvironment,
  type CelProgram,
  compileExpression,
  createActivation,
  type DecisionFacts,
  evaluate,
  type FactObject,
} from './cel/compile.js';
import { computeRisk } from './risk.js';
import type {
  ApprovalSpec,
  DecisionInput,
  DecisionOutcome,
  Effect,
  Rule,
  TestCase,
  TestOutcome,
} from './types.js';

export interface CompiledRule {
  readonly id: string;
  readonly effect: Effect;
  readonly reason: string;
  readonly approval: ApprovalSpec | undefined;
  readonly program: CelProgram;
  /** Position in the version: candidates are evaluated in authoring order. */
  readonly order: number;
  /** How long a decision this rule took part in may be reused; 0 when the rule does not say. */
  readonly cacheTtlSeconds: number;
}

/**
 * When decisions on an action may be reused: only when every rule that concerns the action says
 * so (`cache_ttl_seconds`), for the shortest of their times, keyed on the variables they read.
 */
export interface CachePlan {
  readonly ttlMs: number;
  /** What the action's rules can observe of the facts (other than `action`), as field paths. */
  readonly reads: readonly (readonly string[])[];
}

interface Candidates {
  readonly deny: readonly CompiledRule[];
  readonly approval: readonly CompiledRule[];
  readonly allow: readonly CompiledRule[];
  readonly cache: CachePlan | undefined;
}

/** Variables whose value changes between identical requests: a rule reading one is never cached. */
export const UNCACHEABLE_VARIABLES: readonly string[] = ['now', 'usage'];

/** Distinct actions whose candidate lists a compiled policy remembers. */
const CANDIDATE_CACHE_SIZE = 4096;

/** A version's rules, compiled and indexed by action. Immutable; share it across decisions. */
export class CompiledPolicy {
  readonly ruleCount: number;
  readonly #exact = new Map<string, CompiledRule[]>();
  readonly #prefix = new Map<string, CompiledRule[]>();
  readonly #any: CompiledRule[] = [];
  readonly #cache = new Map<string, Candidates>();

  constructor(rules: readonly CompiledRule[], patterns: readonly (readonly string[])[]) {
    this.ruleCount = rules.length;
    rules.forEach((rule, i) => {
      for (const p of patterns[i]!) {
        if (p === '*') this.#any.push(rule);
        else if (p.endsWith('.*')) push(this.#prefix, p.slice(0, -2), rule);
        else push(this.#exact, p, rule);
      }
    });
  }

  /** The rules that can concern `action`, by effect, in authoring order. */
  candidates(action: string): Candidates {
    let c = this.#cache.get(action);
    if (c === undefined) {
      c = this.#collect(action);
      // Whole-cache reset keeps the bound without LRU bookkeeping on the hot path.
      if (this.#cache.size >= CANDIDATE_CACHE_SIZE) this.#cache.clear();
      this.#cache.set(action, c);
    }
    return c;
  }

  #collect(action: string): Candidates {
    const found = new Set<CompiledRule>(this.#any);
    for (const r of this.#exact.get(action) ?? []) found.add(r);
    // `a.b.*` matches `a.b.c` and `a.b.c.d`: look up every proper prefix of the action's segments.
    for (let i = action.indexOf('.'); i !== -1; i = action.indexOf('.', i + 1)) {
      for (const r of this.#prefix.get(action.slice(0, i)) ?? []) found.add(r);
    }
    const ordered = [...found].sort((a, b) => a.order - b.order);
    return {
      deny: ordered.filter((r) => r.effect === 'deny'),
      approval: ordered.filter((r) => r.effect === 'require_approval'),
      allow: ordered.filter((r) => r.effect === 'allow'),
      cache: cachePlan(ordered),
    };
  }
}

/** Nothing to reuse for the default deny: no rule said its decisions may be cached. */
function cachePlan(rules: readonly CompiledRule[]): CachePlan | undefined {
  if (rules.length === 0) return undefined;
  let ttl = Number.POSITIVE_INFINITY;
  const reads = new Set<string>();
  for (const r of rules) {
    if (r.cacheTtlSeconds <= 0) return undefined;
    ttl = Math.min(ttl, r.cacheTtlSeconds);
    for (const p of r.program.paths) if (p !== 'action' && !p.startsWith('action.')) reads.add(p);
  }
  return { ttlMs: ttl * 1000, reads: [...reads].sort().map((p) => p.split('.')) };
}

function push(map: Map<string, CompiledRule[]>, key: string, rule: CompiledRule): void {
  const list = map.get(key);
  if (list) {
    if (!list.includes(rule)) list.push(rule);
  } else map.set(key, [rule]);
}

export interface RuleError {
  readonly rule_id: string;
  readonly message: string;
}

/** The outcome of the combining algorithm. */
export interface Verdict {
  readonly decision: DecisionOutcome;
  /** The matched rules of the deciding effect (all of them), in authoring order. */
  readonly ruleIds: string[];
  /** The first of them: what a test case names as "the rule". Undefined for the default deny. */
  readonly deciding: CompiledRule | undefined;
  readonly reasons: string[];
  readonly errors: RuleError[];
}

export const DEFAULT_DENY_REASON = 'no rule allows this action (default deny)';
export const NO_POLICY_REASON = 'the tenant has no active policy (default deny)';

/**
 * Runs the combining algorithm over the rules that concern the action.
 *
 * @example
 *   const v = decide(policy, 'sandbox.create', createActivation(facts));
 *   v.decision; // 'pending_approval'
 *   v.ruleIds; // ['high-cost-sandbox']
 */
export function decide(
  policy: CompiledPolicy | undefined,
  action: string,
  activation: CelActivation,
): Verdict {
  if (!policy)
    return { decision: 'deny', ruleIds: [], deciding: undefined, reasons: [NO_POLICY_REASON], errors: [] };
  const c = policy.candidates(action);
  const errors: RuleError[] = [];
  const denied = matching(c.deny, activation, errors, true);
  if (denied.length > 0) return verdict('deny', denied, errors);
  const approval = matching(c.approval, activation, errors, true);
  if (approval.length > 0) return verdict('pending_approval', approval, errors);
  const allowed = matching(c.allow, activation, errors, false);
  if (allowed.length > 0) return verdict('allow', allowed, errors);
  return { decision: 'deny', ruleIds: [], deciding: undefined, reasons: [DEFAULT_DENY_REASON], errors };
}

function matching(
  rules: readonly CompiledRule[],
  activation: CelActivation,
  errors: RuleError[],
  errorMatches: boolean,
): CompiledRule[] {
  const out: CompiledRule[] = [];
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i]!;
    const r = evaluate(rule.program, activation);
    if (r.ok) {
      if (r.value) out.push(rule);
    } else {
      errors.push({ rule_id: rule.id, message: r.error.message });
      if (errorMatches) out.push(rule);
    }
  }
  return out;
}

function verdict(decision: DecisionOutcome, rules: CompiledRule[], errors: RuleError[]): Verdict {
  return {
    decision,
    ruleIds: rules.map((r) => r.id),
    deciding: rules[0],
    reasons: rules.map((r) => r.reason),
    errors,
  };
}

// ——— compiling a version ———

export interface RuleProblem {
  readonly rule_id: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
  readonly offset?: number;
}

export type CompileRulesResult =
  | { readonly ok: true; readonly policy: CompiledPolicy }
  | {
      readonly ok: false;
      /** `structure`: duplicate ids, approval specs; `expression`: CEL; `variable`: an unknown variable. */
      readonly kind: 'empty' | 'structure' | 'expression' | 'variable';
      readonly problems: RuleProblem[];
    };

/**
 * Checks a version's rules (structure, then every `when`) and compiles them into an indexed policy.
 * Reports every problem found, not only the first.
 *
 * @example
 *   const r = compileRules(env, [{ id: 'r1', when: "agnet.tier == 'free'", effect: 'deny', reason: 'no' }]);
 *   // { ok: false, kind: 'variable', problems: [{ rule_id: 'r1', message: "undeclared reference to 'agnet'", line: 1, column: 1, offset: 0 }] }
 */
export function compileRules(env: CelEnvironment, rules: readonly Rule[]): CompileRulesResult {
  if (rules.length === 0)
    return { ok: false, kind: 'empty', problems: [{ rule_id: '', message: 'the version has no rules' }] };
  const structural = checkStructure(rules);
  if (structural.length > 0) return { ok: false, kind: 'structure', problems: structural };
  const compiled: CompiledRule[] = [];
  const problems: RuleProblem[] = [];
  let onlyUnknownVariables = true;
  rules.forEach((rule, order) => {
    const r = compileExpression(env, rule.when);
    if (!r.ok) {
      const { message, line, column, offset } = r.error;
      problems.push({ rule_id: rule.id, message, line, column, offset });
      if (!/^undeclared reference to '/.test(message)) onlyUnknownVariables = false;
      return;
    }
    compiled.push({
      id: rule.id,
      effect: rule.effect,
      reason: rule.reason,
      approval: rule.approval,
      program: r.program,
      order,
      cacheTtlSeconds: rule.cache_ttl_seconds ?? 0,
    });
  });
  if (problems.length > 0)
    return { ok: false, kind: onlyUnknownVariables ? 'variable' : 'expression', problems };
  const uncacheable: RuleProblem[] = [];
  for (const r of compiled) {
    const changing = r.program.variables.filter((v) => UNCACHEABLE_VARIABLES.includes(v));
    if (r.cacheTtlSeconds > 0 && changing.length > 0)
      uncacheable.push({
        rule_id: r.id,
        message: `rule ${r.id} sets cache_ttl_seconds but reads ${changing.map((v) => `\`${v}\``).join(' and ')}, which change between identical requests; its decisions cannot be reused`,
      });
  }
  if (uncacheable.length > 0) return { ok: false, kind: 'structure', problems: uncacheable };
  return {
    ok: true,
    policy: new CompiledPolicy(
      compiled,
      rules.map((r) => r.actions ?? ['*']),
    ),
  };
}

function checkStructure(rules: readonly Rule[]): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const seen = new Set<string>();
  for (const rule of rules) {
    if (seen.has(rule.id)) problems.push({ rule_id: rule.id, message: `rule id ${rule.id} is used twice` });
    seen.add(rule.id);
    if (rule.effect === 'require_approval' && !rule.approval)
      problems.push({ rule_id: rule.id, message: 'a require_approval rule needs an `approval` spec' });
    if (rule.effect !== 'require_approval' && rule.approval)
      problems.push({
        rule_id: rule.id,
        message: `an ${rule.effect} rule cannot carry an \`approval\` spec`,
      });
    const spec = rule.approval;
    if (spec) {
      spec.stages.forEach((stage, i) => {
        const byRole = stage.approvers.some((a) => 'role' in a);
        if (!byRole && stage.quorum > stage.approvers.length)
          problems.push({
            rule_id: rule.id,
            message: `stage ${i + 1} needs ${stage.quorum} approvals but names only ${stage.approvers.length} user(s)`,
          });
      });
      if (spec.escalation && spec.escalation.after_seconds >= spec.sla_seconds)
        problems.push({
          rule_id: rule.id,
          message: `escalation after ${spec.escalation.after_seconds}s comes after the ${spec.sla_seconds}s SLA`,
        });
    }
  }
  return problems;
}

// ——— facts, tests ———

/**
 * The CEL facts of a stored or test decision input. The live path stores exactly this input, so a
 * replay (simulation) sees what the live decision saw.
 *
 * @example
 *   const facts = factsFromInput({ agent: { id: 'a1', trust_level: 'trusted' }, action: 'llm.call' }, new Date());
 */
export function factsFromInput(input: DecisionInput, defaultNow: Date): DecisionFacts {
  const principal = (input.principal ?? {}) as FactObject;
  const depth = typeof principal.depth === 'number' ? principal.depth : 0;
  const risk =
    input.risk ??
    computeRisk({
      agent: input.agent,
      action: input.action,
      context: input.context,
      resourceAttributes: input.resource?.attributes,
      delegationDepth: depth,
    });
  return {
    agent: {
      id: input.agent.id,
      tier: input.agent.tier ?? 'basic',
      trust_level: input.agent.trust_level ?? 'untrusted',
      metadata: (input.agent.metadata ?? {}) as FactObject,
    },
    principal,
    action: input.action,
    resource: (input.resource ?? {}) as FactObject,
    context: (input.context ?? {}) as FactObject,
    usage: input.usage ?? {},
    // An int in CEL (`risk.score > 70` compares ints); factors stay JSON.
    risk: { score: BigInt(risk.score), factors: (risk.factors ?? []) as FactObject[] },
    now: input.now ? new Date(input.now) : defaultNow,
  };
}

/**
 * Runs a version's test cases.
 *
 * @example
 *   const results = runTests(policy, version.tests, new Date());
 *   results.filter((r) => !r.passed); // the failures
 */
export function runTests(policy: CompiledPolicy, tests: readonly TestCase[], now: Date): TestOutcome[] {
  return tests.map((test) => {
    const v = decide(policy, test.input.action, createActivation(factsFromInput(test.input, now)));
    const actual = { decision: v.decision, rule: v.deciding?.id ?? null };
    // An omitted `rule` asserts the decision only (and is left out of `expected`).
    const expected =
      test.expect.rule === undefined
        ? { decision: test.expect.decision }
        : { decision: test.expect.decision, rule: test.expect.rule };
    const passed =
      actual.decision === expected.decision &&
      (test.expect.rule === undefined || actual.rule === test.expect.rule);
    return { name: test.name, passed, expected, actual, errors: v.errors };
  });
}
