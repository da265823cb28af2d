/**
 * CEL library choice for the policy engine: conformance pass rates and evaluation speed of
 * `@bufbuild/cel` and `@marcbachmann/cel-js`, with `@cedar-policy/cedar-wasm` evaluating an
 * equivalent policy as the baseline, in one run.
 *
 * Run: `npx tsx bench/cel.ts` (or `npm run bench -- cel`). Figures go to bench/results/cel.md.
 *
 * Each subject evaluates one realistic rule, compiled once, against 1,024 prepared activations
 * (built before timing, as the engine builds one per decision). Rounds alternate the order of
 * the subjects; each figure is the median over rounds. Latency percentiles time single calls
 * with `process.hrtime.bigint()` minus the timer's own median cost; ops/s come from untimed loops.
 *
 * Cedar runs in a child process started by this script: on Node 20.20.2, V8 aborts ("unreachable
 * code" in the deoptimizer) when the wasm calls share a process with the other subjects' loops.
 */
import { spawnSync } from 'node:child_process';
import { celEnv, parse, plan } from '@bufbuild/cel';
import * as cedar from '@cedar-policy/cedar-wasm/nodejs';
import { Environment } from '@marcbachmann/cel-js';
import { bufbuildAdapter } from '../src/modules/policy/cel/adapter-bufbuild.js';
import { marcbachmannAdapter } from '../src/modules/policy/cel/adapter-marcbachmann.js';
import {
  compileExpression,
  createActivation,
  createCelEnvironment,
  evaluate,
} from '../src/modules/policy/cel/compile.js';
import {
  formatConformanceTable,
  listConformanceCases,
  runConformance,
} from '../src/modules/policy/cel/conformance.js';

const RULE =
  "agent.trust_level == 'untrusted' || (action.startsWith('sandbox.') && context.estimated_cost > 50.0) || risk.score > 70";
// Cedar has no doubles: the cost travels in integer cents; the action name in the context.
const CEDAR_POLICY = `permit (principal, action, resource) when {
  principal.trust_level == "untrusted" ||
  (context.action like "sandbox.*" && context.estimated_cost_cents > 5000) ||
  context.risk_score > 70
};`;
const ACTIVATIONS = 1024;
const ROUNDS = Number(process.env.CEL_BENCH_ROUNDS ?? 5);
const LOOP_CALLS = 200_000;
const TIMED_CALLS = 50_000;
const CEDAR_CHILD_FLAG = '--cedar-child';

interface Sample {
  readonly trust: string;
  readonly action: string;
  readonly cost: number;
  readonly score: number;
}

// A fixed pseudo-random mix so every subject sees the same facts and takes every branch.
function samples(): Sample[] {
  let seed = 42;
  const next = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  return Array.from({ length: ACTIVATIONS }, (_, i) => ({
    trust: next() < 0.1 ? 'untrusted' : 'verified',
    action: next() < 0.5 ? `sandbox.exec.${i % 7}` : `email.send.${i % 5}`,
    cost: Math.round(next() * 10_000) / 100,
    score: Math.floor(next() * 100),
  }));
}

function expected(s: Sample): boolean {
  return s.trust === 'untrusted' || (s.action.startsWith('sandbox.') && s.cost > 50) || s.score > 70;
}

function celFacts(s: Sample, i: number) {
  return {
    agent: { id: `agent-${i}`, tier: 'pro', trust_level: s.trust, metadata: { team: 'payments' } },
    action: s.action,
    context: { estimated_cost: s.cost },
    risk: { score: BigInt(s.score), factors: [] },
  };
}

interface Subject {
  readonly name: string;
  readonly call: (i: number) => boolean;
}

interface Figures {
  readonly opsPerSecond: number;
  readonly p50Ns: number;
  readonly p99Ns: number;
}

function celSubjects(data: Sample[]): Subject[] {
  const mask = ACTIVATIONS - 1;
  const menv = marcbachmannEnvironment();
  const mprogram = menv.parse(RULE);
  if (!mprogram.check().valid) throw new Error('marcbachmann: the rule does not type-check');
  const mctx = data.map(celFacts);

  // @bufbuild/cel as it comes: it copies a plain object into a map on every read of a variable.
  const braw = plan(celEnv({}), parse(RULE));
  const bctx = data.map(celFacts);

  const compiled = compileExpression(createCelEnvironment(), RULE);
  if (!compiled.ok) throw new Error(`warden: ${compiled.error.message}`);
  const program = compiled.program;
  const now = new Date('2026-03-02T04:30:00Z');
  const facts = data.map((s, i) => ({ ...celFacts(s, i), now }));
  const activations = facts.map(createActivation);

  return [
    { name: '@bufbuild/cel, plain objects per call', call: (i) => braw(bctx[i & mask]!) === true },
    {
      name: 'warden compile.ts (@bufbuild/cel), activation reused',
      call: (i) => {
        const r = evaluate(program, activations[i & mask]!);
        return r.ok && r.value;
      },
    },
    {
      name: 'warden compile.ts, activation built per call',
      call: (i) => {
        const r = evaluate(program, createActivation(facts[i & mask]!));
        return r.ok && r.value;
      },
    },
    { name: '@marcbachmann/cel-js', call: (i) => mprogram(mctx[i & mask]!) === true },
  ];
}

function cedarSubject(data: Sample[]): Subject {
  const parsedSet = cedar.preparsePolicySet('bench', { staticPolicies: CEDAR_POLICY });
  if (parsedSet.type !== 'success') throw new Error(`cedar: ${JSON.stringify(parsedSet.errors)}`);
  const calls = data.map((s, i) => ({
    principal: { type: 'Agent', id: `agent-${i}` },
    action: { type: 'Action', id: 'invoke' },
    resource: { type: 'Tool', id: 'tool-1' },
    context: { action: s.action, estimated_cost_cents: Math.round(s.cost * 100), risk_score: s.score },
    preparsedPolicySetId: 'bench',
    entities: [
      { uid: { type: 'Agent', id: `agent-${i}` }, attrs: { trust_level: s.trust, tier: 'pro' }, parents: [] },
    ],
  }));
  return {
    name: 'cedar-wasm statefulIsAuthorized (baseline)',
    call: (i) => {
      const answer = cedar.statefulIsAuthorized(calls[i & (ACTIVATIONS - 1)]!);
      return answer.type === 'success' && answer.response.decision === 'allow';
    },
  };
}

function marcbachmannEnvironment(): Environment {
  return new Environment()
    .registerVariable('agent', 'map<string, dyn>')
    .registerVariable('action', 'string')
    .registerVariable('context', 'map<string, dyn>')
    .registerVariable('risk', 'map<string, dyn>');
}

function assertAgrees(subject: Subject, data: Sample[]): void {
  for (let i = 0; i < data.length; i++) {
    if (subject.call(i) !== expected(data[i]!)) throw new Error(`${subject.name} disagrees on sample ${i}`);
  }
}

function loopOpsPerSecond(call: (i: number) => boolean): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < LOOP_CALLS; i++) if (call(i)) sink++;
  const ns = Number(process.hrtime.bigint() - start);
  if (sink < 0) console.log(sink);
  return (LOOP_CALLS * 1e9) / ns;
}

function timerOverheadNs(): number {
  const d: number[] = [];
  for (let i = 0; i < 20_000; i++) {
    const a = process.hrtime.bigint();
    d.push(Number(process.hrtime.bigint() - a));
  }
  return percentile(d, 0.5);
}

function latencies(call: (i: number) => boolean, overhead: number): { p50: number; p99: number } {
  const d: number[] = new Array(TIMED_CALLS);
  for (let i = 0; i < TIMED_CALLS; i++) {
    const a = process.hrtime.bigint();
    call(i);
    d[i] = Number(process.hrtime.bigint() - a) - overhead;
  }
  return { p50: Math.max(0, percentile(d, 0.5)), p99: Math.max(0, percentile(d, 0.99)) };
}

function percentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function median(values: number[]): number {
  return percentile(values, 0.5);
}

/** Runs the rounds over the subjects, alternating their order, and returns medians. */
function measure(subjects: Subject[]): Map<string, Figures> {
  const overhead = timerOverheadNs();
  const raw = new Map(
    subjects.map((s) => [s.name, { ops: [] as number[], p50: [] as number[], p99: [] as number[] }]),
  );
  for (const s of subjects) loopOpsPerSecond(s.call);
  for (let round = 0; round < ROUNDS; round++) {
    for (const s of round % 2 === 0 ? subjects : [...subjects].reverse()) {
      const r = raw.get(s.name)!;
      r.ops.push(loopOpsPerSecond(s.call));
      const l = latencies(s.call, overhead);
      r.p50.push(l.p50);
      r.p99.push(l.p99);
    }
  }
  return new Map(
    [...raw].map(([name, r]) => [
      name,
      { opsPerSecond: median(r.ops), p50Ns: median(r.p50), p99Ns: median(r.p99) },
    ]),
  );
}

/** Median µs per compile, rounds interleaving the steps so JIT warm-up favours none. */
function compileMicros(steps: readonly (() => unknown)[]): number[] {
  const times = steps.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    steps.forEach((compile, s) => {
      for (let i = 0; i < 100; i++) compile();
      const n = 1000;
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) compile();
      times[s]!.push(Number(process.hrtime.bigint() - start) / n / 1000);
    });
  }
  return times.map(median);
}

/** In the child: Cedar alone, figures as JSON on stdout. */
function cedarChild(): void {
  const data = samples();
  const subject = cedarSubject(data);
  assertAgrees(subject, data);
  const figures = measure([subject]).get(subject.name)!;
  const [compileUs] = compileMicros([
    () => cedar.preparsePolicySet('bench-compile', { staticPolicies: CEDAR_POLICY }),
  ]);
  process.stdout.write(JSON.stringify({ name: subject.name, figures, compileUs }));
}

function runCedarChild(): { name: string; figures: Figures; compileUs: number } {
  const child = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, CEDAR_CHILD_FLAG], {
    encoding: 'utf8',
    env: process.env,
    maxBuffer: 1 << 20,
  });
  if (child.status !== 0)
    throw new Error(`cedar child failed (${child.status}): ${child.stderr.slice(0, 2000)}`);
  return JSON.parse(child.stdout);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function main(): void {
  console.log(`CEL bench, ${new Date().toISOString()}, Node ${process.version}, ${ROUNDS} rounds\n`);

  // Conformance first: the decision rule puts correctness before speed.
  const cases = listConformanceCases();
  const reports = [runConformance(bufbuildAdapter, cases), runConformance(marcbachmannAdapter, cases)];
  console.log('Conformance (cel-spec suite from @bufbuild/cel-spec), passed/run:\n');
  console.log(formatConformanceTable(reports));
  console.log();

  const cedarRun = runCedarChild();
  const data = samples();
  const subjects = celSubjects(data);
  for (const s of subjects) assertAgrees(s, data);
  const figures = measure(subjects);
  figures.set(cedarRun.name, cedarRun.figures);

  const baseline = cedarRun.figures.opsPerSecond;
  console.log(`Evaluation of one rule, compiled once:\n  ${RULE}\n`);
  console.log(
    table(
      ['subject', 'p50 µs', 'p99 µs', 'ops/s', 'speed vs cedar'],
      [cedarRun.name, ...subjects.map((s) => s.name)].map((name) => {
        const f = figures.get(name)!;
        return [
          name,
          fmt(f.p50Ns / 1000, 2),
          fmt(f.p99Ns / 1000, 2),
          fmt(f.opsPerSecond),
          `${fmt(f.opsPerSecond / baseline, 1)}×`,
        ];
      }),
    ),
  );

  const env = createCelEnvironment();
  const menv = marcbachmannEnvironment();
  const benv = celEnv({});
  const steps: [string, () => unknown][] = [
    ['@bufbuild/cel parse + plan', () => plan(benv, parse(RULE))],
    ['warden compileExpression (parse + check + plan)', () => compileExpression(env, RULE)],
    ['@marcbachmann/cel-js parse + check', () => menv.parse(RULE).check()],
  ];
  const compileUs = compileMicros(steps.map(([, step]) => step));
  console.log('\nCompile time of the rule:\n');
  console.log(
    table(
      ['step', 'µs'],
      [
        ...steps.map(([name], i) => [name, fmt(compileUs[i]!, 1)]),
        ['cedar-wasm preparsePolicySet', fmt(cedarRun.compileUs, 1)],
      ],
    ),
  );

  // What a request-controlled string costs when a policy's pattern can backtrack.
  const evil = `${'a'.repeat(23)}!`;
  const redos = compileExpression(env, "context.s.matches('^(a+)+$')");
  if (!redos.ok) throw new Error(redos.error.message);
  const redosActivation = createActivation({ agent: {}, action: 'x', context: { s: evil }, now: new Date() });
  const mredos = new Environment().registerVariable('s', 'string').parse("s.matches('^(a+)+$')");
  const once = (f: () => unknown) => {
    f();
    const start = performance.now();
    f();
    return performance.now() - start;
  };
  console.log(`\nPattern '^(a+)+$' against a 24-character input (second call):\n`);
  console.log(
    table(
      ['subject', 'ms'],
      [
        [
          'warden compile.ts (@bufbuild/cel, RE2)',
          fmt(
            once(() => evaluate(redos.program, redosActivation)),
            3,
          ),
        ],
        [
          '@marcbachmann/cel-js (JS RegExp)',
          fmt(
            once(() => mredos({ s: evil })),
            3,
          ),
        ],
      ],
    ),
  );
}

if (process.argv.includes(CEDAR_CHILD_FLAG)) cedarChild();
else main();
