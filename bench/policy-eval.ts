/**
 * Policy engine: one decision (activation + combining over the rules that concern the action)
 * with a 10-rule and a 1,000-rule version, to show that the action index keeps the cost flat, and
 * `@cedar-policy/cedar-wasm` deciding the equivalent Cedar policy set on the same requests.
 *
 * Run: `npx tsx bench/policy-eval.ts` (or `npm run bench -- policy-eval`). Figures go to
 * bench/results/policy.md.
 *
 * Rules look like real ones: a deny on trust, an approval on cost, an allow, each scoped to an
 * action pattern. The 1,000-rule set has 250 action families of 4 rules each (exact names and
 * `family.*` prefixes) plus the same 10 rules; a decision's action hits one family. Requests are
 * built before timing (1,024 of them, varied context); every timed call builds its activation,
 * as the live path does. Latency percentiles time single calls with `process.hrtime.bigint()`
 * minus the timer's own median cost; ops/s come from untimed loops. Rounds alternate the order.
 *
 * Cedar: the same Rule[] is translated into a Cedar policy set (see `cedarPolicy`), preparsed
 * once and decided with `statefulIsAuthorized`, its fastest documented call. Cedar's two-valued
 * answer is turned back into Warden's three-valued one (`cedarOutcome`), and before anything is
 * timed both engines must agree on every prepared request (decision and matched rule ids). Cedar
 * runs in a child process (this script with `--cedar-child <round>`), one per round, placed first
 * in even rounds and last in odd ones: on Node 20.20.2, V8 aborts ("unreachable code" in the
 * deoptimizer) when the wasm calls share a process with the other loops (see bench/cel.ts).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type * as Cedar from '@cedar-policy/cedar-wasm/nodejs';
import {
  createActivation,
  createCelEnvironment,
  type DecisionFacts,
  type FactValue,
} from '../src/modules/policy/cel/compile.js';
import { type CompiledPolicy, compileRules, decide } from '../src/modules/policy/engine.js';
import type { DecisionOutcome, Effect, Rule } from '../src/modules/policy/types.js';

const ROUNDS = Number(process.env.POLICY_BENCH_ROUNDS ?? 5);
const CALLS = 200_000;
/**
 * Cedar's calls per subject and round (timed, then as many untimed) are sized to about this many
 * seconds per loop from the pace of the equivalence check, between CEDAR_MIN_CALLS and
 * CEDAR_MAX_CALLS. Cedar is 50 to 1,000 times slower per call than Warden here: Warden's 200,000
 * calls would take about 9 minutes per loop with 1,000 rules.
 */
const CEDAR_SECONDS = Number(process.env.POLICY_BENCH_CEDAR_SECONDS ?? 2);
const CEDAR_MIN_CALLS = 200;
const CEDAR_MAX_CALLS = 20_000;
const CEDAR_WARMUP = 2_000;
const CEDAR_CHILD_FLAG = '--cedar-child';
const env = createCelEnvironment();
const spec = { stages: [{ approvers: [{ role: 'admin' }], quorum: 1 }], sla_seconds: 3600, channels: [] };

function baseRules(prefix: string): Rule[] {
  return [
    {
      id: `${prefix}deny-untrusted-exec`,
      actions: ['sandbox.exec'],
      when: "agent.trust_level == 'untrusted'",
      effect: 'deny',
      reason: 'r',
    },
    {
      id: `${prefix}deny-risk`,
      actions: ['sandbox.*'],
      when: 'risk.score > 90',
      effect: 'deny',
      reason: 'r',
    },
    {
      id: `${prefix}approve-cost`,
      actions: ['sandbox.*'],
      when: 'has(context.estimated_cost) && context.estimated_cost > 50.0',
      effect: 'require_approval',
      reason: 'r',
      approval: spec,
    },
    {
      id: `${prefix}approve-priv`,
      actions: ['sandbox.create'],
      when: 'has(context.privileged) && context.privileged == true',
      effect: 'require_approval',
      reason: 'r',
      approval: spec,
    },
    {
      id: `${prefix}allow-sandbox`,
      actions: ['sandbox.*'],
      when: "agent.tier != 'suspended'",
      effect: 'allow',
      reason: 'r',
    },
    {
      id: `${prefix}allow-llm`,
      actions: ['llm.call'],
      when: "context.model in ['small', 'medium']",
      effect: 'allow',
      reason: 'r',
    },
    {
      id: `${prefix}deny-llm-big`,
      actions: ['llm.call'],
      when: "context.model == 'huge'",
      effect: 'deny',
      reason: 'r',
    },
    {
      id: `${prefix}deny-hours`,
      actions: ['payments.*'],
      when: 'now.getHours() < 6',
      effect: 'deny',
      reason: 'r',
    },
    { id: `${prefix}allow-read`, actions: ['storage.read'], when: 'true', effect: 'allow', reason: 'r' },
    {
      id: `${prefix}deny-depth`,
      actions: ['*'],
      when: 'has(principal.depth) && principal.depth > 3',
      effect: 'deny',
      reason: 'r',
    },
  ];
}

function largeRules(): Rule[] {
  const rules = baseRules('base-');
  for (let f = 0; rules.length < 1000; f++) {
    const fam = `family${f}`;
    rules.push(
      {
        id: `${fam}-deny`,
        actions: [`${fam}.exec`],
        when: "agent.trust_level == 'untrusted'",
        effect: 'deny',
        reason: 'r',
      },
      {
        id: `${fam}-approve`,
        actions: [`${fam}.*`],
        when: 'has(context.estimated_cost) && context.estimated_cost > 50.0',
        effect: 'require_approval',
        reason: 'r',
        approval: spec,
      },
      { id: `${fam}-allow`, actions: [`${fam}.*`], when: 'risk.score < 80', effect: 'allow', reason: 'r' },
      {
        id: `${fam}-deny-region`,
        actions: [`${fam}.create`],
        when: "has(context.region) && context.region == 'cn-north-1'",
        effect: 'deny',
        reason: 'r',
      },
    );
  }
  return rules.slice(0, 1000);
}

function compile(rules: Rule[]): CompiledPolicy {
  const r = compileRules(env, rules);
  if (!r.ok) throw new Error(`bench rules do not compile: ${JSON.stringify(r.problems[0])}`);
  return r.policy;
}

function requests(action: string): DecisionFacts[] {
  const out: DecisionFacts[] = [];
  for (let i = 0; i < 1024; i++)
    out.push({
      agent: {
        id: 'agent-1',
        tier: 'standard',
        trust_level: i % 3 === 0 ? 'untrusted' : 'trusted',
        metadata: {},
      },
      principal: { chain: ['user:1', 'agent-1'], depth: 1 },
      action,
      resource: { id: `sandbox:${i}` },
      context: { estimated_cost: (i % 100) + 0.5, region: 'eu-west-1', privileged: i % 7 === 0 },
      usage: {},
      risk: { score: BigInt(i % 100), factors: [] },
      now: new Date(Date.UTC(2026, 2, 2, 10, 0, 0)),
    });
  return out;
}

function timerCost(): number {
  const samples: number[] = [];
  for (let i = 0; i < 10_000; i++) {
    const a = process.hrtime.bigint();
    samples.push(Number(process.hrtime.bigint() - a));
  }
  samples.sort((x, y) => x - y);
  return samples[samples.length >> 1]!;
}

interface Figures {
  p50: number;
  p99: number;
  opsPerSec: number;
}

/** A decision as both engines state it: the outcome and the matched rules of the deciding effect. */
interface Outcome {
  decision: DecisionOutcome;
  ruleIds: string[];
}

interface Subject {
  name: string;
  /** Subjects sharing a rule set share the array: it is compiled (or translated) once. */
  rules: Rule[];
  facts: DecisionFacts[];
}

function subjectList(): Subject[] {
  const small = baseRules('');
  const large = largeRules();
  return [
    { name: '10 rules, sandbox.create', rules: small, facts: requests('sandbox.create') },
    { name: '1,000 rules, sandbox.create', rules: large, facts: requests('sandbox.create') },
    { name: '1,000 rules, family123.create', rules: large, facts: requests('family123.create') },
  ];
}

function measure(policy: CompiledPolicy, facts: DecisionFacts[], overhead: number): Figures {
  let sink = 0;
  for (let i = 0; i < 20_000; i++)
    sink += decide(policy, facts[i & 1023]!.action, createActivation(facts[i & 1023]!)).ruleIds.length;
  const lat = new Float64Array(CALLS);
  for (let i = 0; i < CALLS; i++) {
    const f = facts[i & 1023]!;
    const t0 = process.hrtime.bigint();
    sink += decide(policy, f.action, createActivation(f)).ruleIds.length;
    lat[i] = Math.max(0, Number(process.hrtime.bigint() - t0) - overhead);
  }
  lat.sort();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) {
    const f = facts[i & 1023]!;
    sink += decide(policy, f.action, createActivation(f)).ruleIds.length;
  }
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink === -1) console.log(sink);
  return {
    p50: lat[CALLS >> 1]! / 1000,
    p99: lat[Math.floor(CALLS * 0.99)]! / 1000,
    opsPerSec: CALLS / seconds,
  };
}

// ——— Cedar: the same rules as a Cedar policy set ———

/**
 * Each `when` the bench's rules use, written in Cedar over the request built by `cedarCall`
 * (agent → attributes of the principal entity, `principal` → `context.delegation`, `risk.score` →
 * `context.risk_score`, `now` → a `datetime` in the context). Cedar has no doubles, so the cost
 * travels in integer cents: `estimated_cost > 50.0` ⇔ `estimated_cost_cents > 5000` for costs with
 * at most two decimals (the bench's are `n + 0.5`). A rule whose condition is missing here stops
 * the run rather than being approximated.
 */
const CEDAR_CONDITIONS: Readonly<Record<string, string>> = {
  "agent.trust_level == 'untrusted'": 'principal.trust_level == "untrusted"',
  'risk.score > 90': 'context.risk_score > 90',
  'risk.score < 80': 'context.risk_score < 80',
  'has(context.estimated_cost) && context.estimated_cost > 50.0':
    'context has estimated_cost_cents && context.estimated_cost_cents > 5000',
  'has(context.privileged) && context.privileged == true':
    'context has privileged && context.privileged == true',
  "agent.tier != 'suspended'": 'principal.tier != "suspended"',
  "context.model in ['small', 'medium']": '["small", "medium"].contains(context.model)',
  "context.model == 'huge'": 'context.model == "huge"',
  // CEL's getHours() is in UTC, as is Cedar's toTime() (the duration since midnight).
  'now.getHours() < 6': 'context.now.toTime() < duration("6h")',
  true: 'true',
  'has(principal.depth) && principal.depth > 3':
    'context.delegation has depth && context.delegation.depth > 3',
  "has(context.region) && context.region == 'cn-north-1'":
    'context has region && context.region == "cn-north-1"',
};

/**
 * A rule's action patterns as the policy's action scope. Cedar's idiom for a family of actions is
 * an action group, so `family.*` is `action in Action::"family.*"` and every request's action
 * entity names as parents the groups of all its proper prefixes (`a.b.c` → `a.*`, `a.b.*`), which
 * is exactly Warden's rule (`a.*` matches `a.b` and `a.b.c`, never `a` itself). This keeps the
 * match in Cedar's scope, where it is cheapest, rather than a `like` on a context string in every
 * condition. An exact name is `action ==`; several patterns are `action in [...]` (an exact name
 * is never a group, so `in` adds no match there); `*` leaves the action unconstrained.
 */
function cedarScope(patterns: readonly string[]): string {
  const uid = (p: string) => `Action::"${p}"`;
  if (patterns.includes('*')) return 'action';
  if (patterns.length > 1) return `action in [${patterns.map(uid).join(', ')}]`;
  const p = patterns[0]!;
  return p.endsWith('.*') ? `action in ${uid(p)}` : `action == ${uid(p)}`;
}

/**
 * One rule as one Cedar policy: allow → `permit`, deny → `forbid`. Cedar has no third effect, so
 * require_approval is a `forbid` too, told apart by its `@effect` annotation; `cedarOutcome` reads
 * the determining policies back into deny > require_approval > allow. The policy id is the rule id.
 */
function cedarPolicy(rule: Rule): string {
  const condition = CEDAR_CONDITIONS[rule.when];
  if (condition === undefined) throw new Error(`no Cedar translation for ${rule.id}: ${rule.when}`);
  const keyword = rule.effect === 'allow' ? 'permit' : 'forbid';
  return `@id("${rule.id}")\n@effect("${rule.effect}")\n${keyword} (principal, ${cedarScope(rule.actions ?? ['*'])}, resource)\nwhen { ${condition} };`;
}

function cedarValue(v: FactValue | undefined): Cedar.CedarValueJson {
  if (v === undefined || v === null) throw new Error('cedar: no null in Cedar values');
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`cedar: ${v} is not an integer`);
    return v;
  }
  if (typeof v !== 'object') return v;
  if (v instanceof Date) return { __extn: { fn: 'datetime', arg: v.toISOString() } };
  if (Array.isArray(v)) return v.map(cedarValue);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cedarValue(x)]));
}

/** The Cedar request carrying the same facts as `createActivation(f)`. */
function cedarCall(f: DecisionFacts, policySetId: string): Cedar.StatefulAuthorizationCall {
  const agent = { type: 'Agent', id: String(f.agent.id) };
  const action = { type: 'Action', id: f.action };
  const groups: Cedar.EntityUidJson[] = [];
  for (let i = f.action.indexOf('.'); i !== -1; i = f.action.indexOf('.', i + 1))
    groups.push({ type: 'Action', id: `${f.action.slice(0, i)}.*` });
  const { estimated_cost, ...context } = f.context ?? {};
  const attrs = Object.fromEntries(
    Object.entries(f.agent)
      .filter(([k]) => k !== 'id')
      .map(([k, v]) => [k, cedarValue(v)]),
  );
  return {
    principal: agent,
    action,
    resource: { type: 'Resource', id: String(f.resource?.id) },
    context: {
      ...(cedarValue(context) as Cedar.Context),
      ...(typeof estimated_cost === 'number'
        ? { estimated_cost_cents: Math.round(estimated_cost * 100) }
        : {}),
      risk_score: cedarValue(f.risk?.score),
      delegation: cedarValue(f.principal ?? {}),
      now: cedarValue(f.now),
    },
    preparsedPolicySetId: policySetId,
    entities: [
      { uid: agent, attrs, parents: [] },
      { uid: action, attrs: {}, parents: groups },
    ],
  };
}

/**
 * Warden's three-valued decision from Cedar's answer. A denying answer's `reason` lists every
 * satisfied `forbid`: any with `@effect("deny")` denies, else any with `@effect("require_approval")`
 * makes it pending. An allowing answer's `reason` lists the satisfied permits. Warden fails closed:
 * a deny or require_approval rule whose condition errors counts as matching, while Cedar skips an
 * erroring policy, so the errored forbids are read back from the diagnostics here (an erroring
 * permit is skipped by both).
 */
function cedarOutcome(answer: Cedar.AuthorizationAnswer, effects: ReadonlyMap<string, Effect>): Outcome {
  if (answer.type !== 'success') throw new Error(`cedar: ${JSON.stringify(answer.errors)}`);
  const { decision, diagnostics } = answer.response;
  const deny: string[] = [];
  const approval: string[] = [];
  const allow: string[] = [];
  const add = (id: string) => {
    const effect = effects.get(id);
    (effect === 'deny' ? deny : effect === 'require_approval' ? approval : allow).push(id);
  };
  for (const id of diagnostics.reason) add(id);
  for (const e of diagnostics.errors) if (effects.get(e.policyId) !== 'allow') add(e.policyId);
  if (deny.length > 0) return { decision: 'deny', ruleIds: deny };
  if (approval.length > 0) return { decision: 'pending_approval', ruleIds: approval };
  if (decision === 'allow') return { decision: 'allow', ruleIds: allow };
  return { decision: 'deny', ruleIds: [] };
}

function sameOutcome(a: Outcome, b: Outcome): boolean {
  const ids = (o: Outcome) => [...o.ruleIds].sort().join(',');
  return a.decision === b.decision && ids(a) === ids(b);
}

/** Warden's `measure`, for a call through a closure: warm-up, timed calls, untimed loop. */
function measureCall(call: (i: number) => Outcome, overhead: number, calls: number): Figures {
  let sink = 0;
  for (let i = 0, n = Math.min(CEDAR_WARMUP, calls >> 2); i < n; i++) sink += call(i).ruleIds.length;
  const lat = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    sink += call(i).ruleIds.length;
    lat[i] = Math.max(0, Number(process.hrtime.bigint() - t0) - overhead);
  }
  lat.sort();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink += call(i).ruleIds.length;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (sink === -1) console.log(sink);
  return {
    p50: lat[calls >> 1]! / 1000,
    p99: lat[Math.floor(calls * 0.99)]! / 1000,
    opsPerSec: calls / seconds,
  };
}

interface CedarRound {
  version: string;
  figures: Record<string, Figures>;
  calls: Record<string, number>;
}

/**
 * In the child: checks that Cedar decides every prepared request as Warden did (the parent's
 * outcomes arrive on stdin), then times one round of the subjects; figures as JSON on stdout.
 */
async function cedarChild(round: number): Promise<void> {
  const cedar = await import('@cedar-policy/cedar-wasm/nodejs');
  const expected: Record<string, Outcome[]> = JSON.parse(readFileSync(0, 'utf8'));
  const subjects = subjectList();
  const sets = new Map<Rule[], { id: string; effects: Map<string, Effect> }>();
  for (const s of subjects) {
    if (sets.has(s.rules)) continue;
    const id = `rules-${sets.size}`;
    const texts = Object.fromEntries(s.rules.map((r) => [r.id, cedarPolicy(r)]));
    const parsed = cedar.preparsePolicySet(id, { staticPolicies: texts });
    if (parsed.type !== 'success') throw new Error(`cedar: ${JSON.stringify(parsed.errors[0])}`);
    // The effect of each policy as its own annotation states it, not as the Warden rule does.
    const effects = new Map<string, Effect>();
    for (const [pid, text] of Object.entries(texts)) {
      const json = cedar.policyToJson(text);
      if (json.type !== 'success') throw new Error(`cedar: ${JSON.stringify(json.errors[0])}`);
      const effect = json.json.annotations?.effect;
      if (effect !== 'allow' && effect !== 'deny' && effect !== 'require_approval')
        throw new Error(`cedar: policy ${pid} has no @effect annotation`);
      effects.set(pid, effect);
    }
    sets.set(s.rules, { id, effects });
  }
  const runs = subjects.map((s) => {
    const { id, effects } = sets.get(s.rules)!;
    const calls = s.facts.map((f) => cedarCall(f, id));
    return { s, call: (i: number) => cedarOutcome(cedar.statefulIsAuthorized(calls[i & 1023]!), effects) };
  });
  const calls: Record<string, number> = {};
  for (const { s, call } of runs) {
    const start = process.hrtime.bigint();
    const want = expected[s.name];
    if (!want || want.length !== s.facts.length) throw new Error(`no Warden outcomes for ${s.name}`);
    for (let i = 0; i < s.facts.length; i++) {
      const got = call(i);
      if (!sameOutcome(got, want[i]!))
        throw new Error(
          `Cedar and Warden disagree on ${s.name}, request ${i} (${JSON.stringify(cedarCall(s.facts[i]!, '').context)}, trust ${s.facts[i]!.agent.trust_level}): Warden ${JSON.stringify(want[i])}, Cedar ${JSON.stringify(got)}`,
        );
    }
    const perCallNs = Number(process.hrtime.bigint() - start) / s.facts.length;
    calls[s.name] = Math.round(
      Math.min(CEDAR_MAX_CALLS, Math.max(CEDAR_MIN_CALLS, (CEDAR_SECONDS * 1e9) / perCallNs)),
    );
  }
  const overhead = timerCost();
  const figures: Record<string, Figures> = {};
  for (const { s, call } of round % 2 === 0 ? runs : [...runs].reverse())
    figures[s.name] = measureCall(call, overhead, calls[s.name]!);
  const out: CedarRound = { version: cedar.getCedarVersion(), figures, calls };
  process.stdout.write(JSON.stringify(out));
}

function runCedarChild(round: number, expected: Record<string, Outcome[]>): CedarRound {
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, process.argv[1]!, CEDAR_CHILD_FLAG, String(round)],
    { encoding: 'utf8', env: process.env, input: JSON.stringify(expected), maxBuffer: 1 << 20 },
  );
  if (child.status !== 0)
    throw new Error(`cedar child failed (${child.status}): ${child.stderr.slice(0, 4000)}`);
  return JSON.parse(child.stdout);
}

// ——— the run ———

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fmt = (n: number, digits: number) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function main(): void {
  const subjects = subjectList();
  const compiled = new Map<Rule[], CompiledPolicy>();
  for (const s of subjects) if (!compiled.has(s.rules)) compiled.set(s.rules, compile(s.rules));
  const policyOf = (s: Subject) => compiled.get(s.rules)!;
  // What Cedar must reproduce, request by request, before anything is timed.
  const expected = Object.fromEntries(
    subjects.map((s) => [
      s.name,
      s.facts.map((f): Outcome => {
        const v = decide(policyOf(s), f.action, createActivation(f));
        return { decision: v.decision, ruleIds: v.ruleIds };
      }),
    ]),
  );
  const overhead = timerCost();
  const results = new Map<string, Figures[]>(subjects.map((s) => [s.name, []]));
  const cedarResults = new Map<string, Figures[]>(subjects.map((s) => [s.name, []]));
  const cedarCalls = new Map<string, number[]>(subjects.map((s) => [s.name, []]));
  let cedarVersion = '';
  const cedarRound = (round: number) => {
    const r = runCedarChild(round, expected);
    cedarVersion = r.version;
    for (const s of subjects) {
      cedarResults.get(s.name)!.push(r.figures[s.name]!);
      cedarCalls.get(s.name)!.push(r.calls[s.name]!);
    }
  };
  for (let round = 0; round < ROUNDS; round++) {
    // Cedar first in even rounds, so round 0 checks equivalence before anything is timed.
    if (round % 2 === 0) cedarRound(round);
    const order = round % 2 === 0 ? subjects : [...subjects].reverse();
    for (const s of order) results.get(s.name)!.push(measure(policyOf(s), s.facts, overhead));
    if (round % 2 === 1) cedarRound(round);
  }
  console.log(
    `policy decision (activation + combining), ${ROUNDS} rounds × ${CALLS} calls, timer cost ${overhead} ns subtracted`,
  );
  console.log('| rule set | p50 µs | p99 µs | decisions/s |');
  console.log('| --- | ---: | ---: | ---: |');
  for (const s of subjects) {
    const r = results.get(s.name)!;
    console.log(
      `| ${s.name} | ${median(r.map((x) => x.p50)).toFixed(2)} | ${median(r.map((x) => x.p99)).toFixed(2)} | ${Math.round(median(r.map((x) => x.opsPerSec))).toLocaleString('en-US')} |`,
    );
  }

  console.log(
    `\nvs @cedar-policy/cedar-wasm ${cedarVersion} (statefulIsAuthorized, equivalent policy set preparsed), one child process per round; both engines agreed on all ${subjects.length} × 1,024 requests (decision and matched rule ids) before timing. Cedar makes fewer calls than Warden's ${CALLS.toLocaleString('en-US')} (about ${CEDAR_SECONDS} s per loop; calls per round in the last column).`,
  );
  console.log(
    `Outcomes compared (allow / pending_approval / deny): ${subjects
      .map((s) => {
        const count = (d: DecisionOutcome) => expected[s.name]!.filter((o) => o.decision === d).length;
        return `${s.name} ${count('allow')} / ${count('pending_approval')} / ${count('deny')}`;
      })
      .join('; ')}.`,
  );
  console.log(
    '| rule set | Warden p50 µs | Warden p99 µs | Warden decisions/s | Cedar p50 µs | Cedar p99 µs | Cedar decisions/s | Warden faster (p50) | Warden faster (decisions/s) | ≥ 5× (p50) | Cedar calls/round |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |');
  for (const s of subjects) {
    const pick = (xs: Figures[]) => ({
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      ops: median(xs.map((x) => x.opsPerSec)),
    });
    const w = pick(results.get(s.name)!);
    const c = pick(cedarResults.get(s.name)!);
    const n = cedarCalls.get(s.name)!;
    const ratio = c.p50 / w.p50;
    const callsText =
      Math.min(...n) === Math.max(...n)
        ? fmt(n[0]!, 0)
        : `${fmt(Math.min(...n), 0)}–${fmt(Math.max(...n), 0)}`;
    console.log(
      `| ${s.name} | ${fmt(w.p50, 2)} | ${fmt(w.p99, 2)} | ${fmt(w.ops, 0)} | ${fmt(c.p50, 2)} | ${fmt(c.p99, 2)} | ${fmt(c.ops, 0)} | ${fmt(ratio, 1)}× | ${fmt(w.ops / c.ops, 1)}× | ${ratio >= 5 ? 'met' : 'not met'} | ${callsText} |`,
    );
  }
}

const childAt = process.argv.indexOf(CEDAR_CHILD_FLAG);
if (childAt !== -1) await cedarChild(Number(process.argv[childAt + 1] ?? 0));
else main();
