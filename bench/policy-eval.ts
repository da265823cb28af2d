/**
 * Policy engine: one decision (activation + combining over the rules that concern the action)
 * with a 10-rule and a 1,000-rule version, to show that the action index keeps the cost flat.
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
 */
import {
  createActivation,
  createCelEnvironment,
  type DecisionFacts,
} from '../src/modules/policy/cel/compile.js';
import { type CompiledPolicy, compileRules, decide } from '../src/modules/policy/engine.js';
import type { Rule } from '../src/modules/policy/types.js';

const ROUNDS = Number(process.env.POLICY_BENCH_ROUNDS ?? 5);
const CALLS = 200_000;
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const small = compile(baseRules(''));
const large = compile(largeRules());
const subjects = [
  { name: '10 rules, sandbox.create', policy: small, facts: requests('sandbox.create') },
  { name: '1,000 rules, sandbox.create', policy: large, facts: requests('sandbox.create') },
  { name: '1,000 rules, family123.create', policy: large, facts: requests('family123.create') },
];
const overhead = timerCost();
const results = new Map<string, Figures[]>(subjects.map((s) => [s.name, []]));
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? subjects : [...subjects].reverse();
  for (const s of order) results.get(s.name)!.push(measure(s.policy, s.facts, overhead));
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
