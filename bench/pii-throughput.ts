/**
 * Throughput of audit PII redaction on realistic record text: structured log lines and JSON-ish
 * agent actions, in 1 KiB records, with no PII and with about one finding per record.
 *
 *   npx tsx bench/pii-throughput.ts [--seconds 2]
 *
 * Single thread, so the MB/s figures are per core. Each run measures two baselines over the same
 * records — a bare `indexOf` scan (the floor of touching every character natively) and a single
 * simple regex redaction pass (what a one-rule redactor costs) — and prints ratios, because these
 * machines are noisy. Each cell is the best of five equal time slices, for the same reason.
 */
import { LABELLED_CASES } from '../src/modules/audit/redaction/labelled-set.js';
import { createRedactor } from '../src/modules/audit/redaction/redact.js';

const args = process.argv.slice(2);
const seconds = Number(args[args.indexOf('--seconds') + 1] || 2) || 2;

// Deterministic corpus: a seeded PRNG so every run measures the same text.
let seed = 0x5eed1234;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');
const b62 = (n: number): string =>
  Array.from(
    { length: n },
    () => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[int(0, 61)],
  ).join('');
const uuid = (): string => `${hex(8)}-${hex(4)}-7${hex(3)}-${pick(['8', '9', 'a', 'b'])}${hex(3)}-${hex(12)}`;
const ts = (): string =>
  `2025-0${int(1, 9)}-${String(int(10, 28))}T${String(int(10, 23))}:${String(int(10, 59))}:${String(int(10, 59))}.${int(100, 999)}Z`;

const WORDS = (
  'the agent requested access to the quarterly report and the policy engine allowed it because the ' +
  'budget was below the threshold reviewer approved escalation after checking the sandbox logs summary ' +
  'of findings includes three tables two figures and a recommendation to retry with a smaller model ' +
  'customer asked for express shipping on the order while the workflow waited for approval from finance'
).split(' ');
const prose = (n: number): string => Array.from({ length: n }, () => pick(WORDS)).join(' ');
const MODELS = ['gpt-4o-mini', 'gpt-4o', 'claude-3-5-sonnet', 'llama-3.1-70b', 'mistral-large'];
const TENANTS = ['acme-prod', 'globex-eu', 'initech-staging', 'umbrella-research'];

const LINES: (() => string)[] = [
  () =>
    `${ts()} INFO [gateway] req_id=${uuid()} tenant=${pick(TENANTS)} agent=agt_${b62(8)} model=${pick(MODELS)} prompt_tokens=${int(10, 9000)} completion_tokens=${int(1, 2000)} latency_ms=${int(20, 9000)} status=200 cost_usd=0.00${int(100, 999)}`,
  () =>
    `{"ts":"${ts()}","action":"http.request","method":"POST","url":"https://api.internal.example/v2/orders/${int(1000, 99999)}/items?limit=${int(10, 100)}&cursor=${hex(16)}","status":${pick([200, 201, 204, 409])},"duration_ms":${int(3, 900)},"agent_id":"${hex(12)}","policy_version":${int(1, 40)},"decision":"allow","reasons":["rule:allow-orders-write"],"input":{"sku":"SKU-${int(10000, 99999)}","quantity":${int(1, 9)},"note":"${prose(8)}"}}`,
  () =>
    `${ts()} WARN [runtime] sandbox sbx_${b62(10)} exceeded soft memory limit (${pick([256, 512, 1024])} MiB), throttling; pid=${int(100, 65000)} cpu_seconds=${int(1, 99)}.${int(0, 9)} egress_bytes=${int(1000, 9999999)}`,
  () => `tool call summarize_document finished: ${prose(22)}; confidence was 0.${int(10, 99)}.`,
  () =>
    `${ts()} DEBUG [policy] evaluated policy set ps_${b62(8)} v${int(1, 60)} in ${int(20, 900)}us: decision=${pick(['allow', 'deny', 'pending_approval'])} rule=${pick(['budget.cap', 'egress.allowlist', 'tier.check'])} trace_id=${hex(32)} span_id=${hex(16)}`,
  () =>
    `commit ${hex(40)} merged into main by ci-bot; ${int(1, 30)} files changed, ${int(1, 900)} insertions(+), ${int(1, 300)} deletions(-)`,
  () =>
    `GET /v1/audit/logs?page=${int(1, 90)}&page_size=100 200 ${int(2, 400)}ms ua="warden-cli/0.4.${int(0, 9)} node/20.19.${int(0, 5)}"`,
  () =>
    `{"event":"llm.completion","provider":"${pick(['openai', 'anthropic', 'local'])}","model":"${pick(MODELS)}","usage":{"prompt_tokens":${int(10, 9000)},"completion_tokens":${int(1, 900)},"total_tokens":${int(20, 9900)}},"finish_reason":"stop","messages":[{"role":"assistant","content":"${prose(14)}"}]}`,
  () =>
    `${ts()} INFO [approvals] request apr_${b62(12)} for budget.increase from ${int(100, 900)} to ${int(1000, 5000)} USD escalated to group finance-approvers (sla ${int(1, 48)}h), quorum 2 of 3`,
];

function record(): string {
  let r = '';
  while (r.length < 1024) r += `${pick(LINES)()}\n`;
  return r.slice(0, 1024);
}

const POSITIVES = LABELLED_CASES.filter((c) => c.positive && c.kind !== 'SECRET_FIELD');
function recordWithHit(): string {
  const base = record();
  const insert = ` ${pick(POSITIVES).text} `;
  const at = base.indexOf(' ', int(0, base.length - insert.length - 1));
  return (base.slice(0, at) + insert + base.slice(at)).slice(0, 1024 + insert.length);
}

const N = 2048;
const clean = Array.from({ length: N }, record);
const withHits = Array.from({ length: N }, recordWithHit);

function jsonValue(): Record<string, unknown> {
  const o = JSON.parse(LINES[1]?.() ?? '{}') as Record<string, unknown>;
  o.context = JSON.parse(LINES[7]?.() ?? '{}');
  o.headers = { 'content-type': 'application/json', 'x-request-id': uuid(), accept: '*/*' };
  return o;
}
const jsonClean = Array.from({ length: N }, jsonValue);
const jsonWithHits = Array.from({ length: N }, () => {
  const o = jsonValue();
  (o.input as Record<string, unknown>).note = `customer ${pick(POSITIVES).text} asked for a call back`;
  return o;
});

const redactor = createRedactor();
const SIMPLE = /\b\d{3}-\d{2}-\d{4}\b/g;
let sink = 0;

/** MB/s: the best of five slices of `seconds / 5` each, after a warm-up pass. */
function measure(
  records: readonly unknown[],
  bytesPer: (r: unknown) => number,
  fn: (r: unknown) => number,
): number {
  for (let w = 0; w < 3; w++) for (const r of records) sink += fn(r);
  let best = 0;
  for (let slice = 0; slice < 5; slice++) {
    let bytes = 0;
    const t0 = process.hrtime.bigint();
    let elapsed = 0;
    while (elapsed < seconds / 5) {
      for (const r of records) {
        sink += fn(r);
        bytes += bytesPer(r);
      }
      elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
    }
    best = Math.max(best, bytes / elapsed / 1e6);
  }
  return best;
}

const len = (r: unknown): number => (r as string).length;
const indexOfScan = (r: unknown): number => (r as string).indexOf('\u0001');
const simpleRegex = (r: unknown): number => (r as string).replace(SIMPLE, '[REDACTED]').length;
const redactStr = (r: unknown): number => redactor.redactString(r as string).hits.length;
const redactVal = (r: unknown): number => redactor.redactValue(r).hits.length;

const rows: string[][] = [];

/** Measures `fn` over `inputs` and both baselines over `texts` (the same content as strings). */
function row(
  name: string,
  inputs: readonly unknown[],
  texts: readonly string[],
  fn: (r: unknown) => number,
): void {
  const sizes = new Map<unknown, number>(inputs.map((v, i) => [v, (texts[i] as string).length]));
  const avg = texts.reduce((n, t) => n + t.length, 0) / texts.length;
  const base1 = measure(texts, len, indexOfScan);
  const base2 = measure(texts, len, simpleRegex);
  const mine = measure(inputs, (v) => sizes.get(v) ?? 0, fn);
  rows.push([
    name,
    mine.toFixed(0),
    base1.toFixed(0),
    (mine / base1).toFixed(4),
    base2.toFixed(0),
    (mine / base2).toFixed(3),
    ((mine * 1e6) / avg).toFixed(0),
  ]);
}

row('redactString, log/JSON text, no PII', clean, clean, redactStr);
row('redactString, log/JSON text, ~1 finding / KiB', withHits, withHits, redactStr);
const jsonSize = (JSON.stringify(jsonClean[0]).length / 1).toFixed(0);
row(
  `redactValue, JSON action (~${jsonSize} B), no PII`,
  jsonClean,
  jsonClean.map((v) => JSON.stringify(v)),
  redactVal,
);
row(
  `redactValue, JSON action, 1 finding`,
  jsonWithHits,
  jsonWithHits.map((v) => JSON.stringify(v)),
  redactVal,
);

const header = ['case', 'MB/s', 'indexOf MB/s', 'ratio', '1-regex MB/s', 'ratio', 'records/s'];
console.log(`| ${header.join(' | ')} |`);
console.log(`| ${header.map(() => '---').join(' | ')} |`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
console.log(
  `\nnode ${process.version}, ${seconds}s per cell (best of 5 slices), ${N} records per set, ${new Date().toISOString()} (sink ${sink % 7})`,
);
