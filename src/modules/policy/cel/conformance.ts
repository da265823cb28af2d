/**
 * CEL conformance harness: runs the cel-spec conformance suite (as shipped by
 * `@bufbuild/cel-spec`) against a library through a small adapter and tallies the outcome.
 *
 * The policy engine's CEL library was chosen by these figures, and `conformance.test.ts` pins
 * the chosen library's failing set, so a library upgrade that changes semantics is noticed.
 *
 * Adapters translate library results into {@link CanonicalValue}s so one comparison, written
 * once with CEL's equality rules, judges every library the same way.
 *
 * Dev-only: this file and the adapters import devDependencies; the policy engine imports
 * `compile.ts`, never this.
 */
import type { Type } from '@bufbuild/cel-spec/cel/expr/checked_pb.js';
import { Type_PrimitiveType, Type_WellKnownType } from '@bufbuild/cel-spec/cel/expr/checked_pb.js';
import type { SimpleTest } from '@bufbuild/cel-spec/cel/expr/conformance/test/simple_pb.js';
import type { Value } from '@bufbuild/cel-spec/cel/expr/value_pb.js';
import { getTestRegistry } from '@bufbuild/cel-spec/testdata/registry.js';
import { getConformanceSuite } from '@bufbuild/cel-spec/testdata/tests.js';
import { type DescMessage, equals, type Message, type Registry } from '@bufbuild/protobuf';
import { anyUnpack, type Duration, type Timestamp } from '@bufbuild/protobuf/wkt';

/** One conformance test, addressed as `file/section/name`. */
export interface ConformanceCase {
  readonly id: string;
  readonly file: string;
  readonly section: string;
  readonly name: string;
  readonly test: SimpleTest;
  readonly scope: CaseScope;
}

/**
 * Which part of CEL a case exercises, so pass rates can be read for what a policy uses:
 * `protobuf` needs message types (literals, message bindings or declarations, enums, wrappers,
 * Struct/Value/Any); `extension` is a file for an optional extension library (strings, math,
 * encoders, optionals, bindings, block, two-variable comprehensions, proto2 extensions);
 * `core` is the rest: the base language over JSON-like data, timestamps and durations.
 */
export type CaseScope = 'core' | 'extension' | 'protobuf';

/**
 * A library-neutral CEL value. `message` carries a protobuf message for the libraries that have
 * them; timestamps and durations are kept as seconds + nanos so sub-millisecond loss shows.
 */
export type CanonicalValue =
  | { readonly kind: 'null' }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'uint'; readonly value: bigint }
  | { readonly kind: 'double'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'bytes'; readonly value: Uint8Array }
  | { readonly kind: 'list'; readonly value: readonly CanonicalValue[] }
  | { readonly kind: 'map'; readonly value: readonly (readonly [CanonicalValue, CanonicalValue])[] }
  | { readonly kind: 'type'; readonly value: string }
  | { readonly kind: 'timestamp'; readonly seconds: bigint; readonly nanos: number }
  | { readonly kind: 'duration'; readonly seconds: bigint; readonly nanos: number }
  | { readonly kind: 'enum'; readonly typeName: string; readonly value: number }
  | {
      readonly kind: 'message';
      readonly typeName: string;
      readonly desc: DescMessage;
      readonly message: Message;
    };

/** Where in the parse → check → plan → eval pipeline something happened. */
export type Stage = 'parse' | 'check' | 'plan' | 'eval';

/** What an adapter reports for one case; the harness, not the adapter, decides pass or fail. */
export type CaseRun =
  | { readonly kind: 'value'; readonly value: CanonicalValue; readonly checkedType?: string | undefined }
  | { readonly kind: 'checked'; readonly checkedType: string }
  /** A CEL error through the library's own error protocol. */
  | { readonly kind: 'error'; readonly stage: Stage; readonly message: string }
  /** The library (or the adapter on its behalf) cannot express the case: counted as failed. */
  | { readonly kind: 'unsupported'; readonly reason: string }
  /** The library threw outside its error protocol (a JS TypeError, a RangeError…). */
  | { readonly kind: 'crash'; readonly stage: Stage; readonly message: string };

/** A library under test. */
export interface CelAdapter {
  readonly library: string;
  /** False when the library has no type checker: typed-result and check-only cases then fail. */
  readonly hasChecker: boolean;
  run(test: SimpleTest): CaseRun;
}

export type CaseStatus = 'passed' | 'failed' | 'errored';

export interface CaseResult {
  readonly id: string;
  readonly file: string;
  readonly status: CaseStatus;
  /** Why it did not pass; absent when it passed. */
  readonly reason?: string;
}

export interface Tally {
  run: number;
  passed: number;
  failed: number;
  errored: number;
}

export interface ConformanceReport {
  readonly library: string;
  readonly totals: Tally;
  readonly byFile: ReadonlyMap<string, Tally>;
  readonly byScope: ReadonlyMap<CaseScope, Tally>;
  readonly results: readonly CaseResult[];
}

let registry: Registry | undefined;

/** The protobuf registry holding the suite's message types (TestAllTypes, well-known types). */
export function conformanceRegistry(): Registry {
  registry ??= getTestRegistry();
  return registry;
}

/**
 * Every case of the conformance suite, in suite order.
 *
 * @example
 * const cases = listConformanceCases();
 * cases[0]?.id; // 'basic/self_eval_zeroish/self_eval_int_zero'
 */
export function listConformanceCases(): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  const seen = new Set<string>();
  for (const file of getConformanceSuite().suites) {
    const sections = [{ name: '', tests: file.tests }, ...file.suites];
    for (const section of sections) {
      for (const t of section.tests) {
        let id = `${file.name}/${section.name}/${t.name}`;
        // Names are unique per file upstream, but keep ids unique whatever a future suite does.
        for (let n = 2; seen.has(id); n++) id = `${file.name}/${section.name}/${t.name}#${n}`;
        seen.add(id);
        const scope = caseScope(file.name, t.original);
        out.push({ id, file: file.name, section: section.name, name: t.name, test: t.original, scope });
      }
    }
  }
  return out;
}

const EXTENSION_FILES = new Set([
  'bindings_ext',
  'block_ext',
  'encoders_ext',
  'math_ext',
  'optionals',
  'proto2_ext',
  'string_ext',
  'macros2',
]);

// Message type names the suite uses, and any message literal (`Int32Value{value: 1}`).
const PROTOBUF_NAMES =
  /\b(TestAllTypes|NestedTestAllTypes|NestedMessage|NestedEnum|GlobalEnum|google\.protobuf\.|cel\.expr\.)|\b[A-Z]\w*\s*\{/;
const JSON_SAFE_MESSAGES = new Set(['google.protobuf.Timestamp', 'google.protobuf.Duration']);

function caseScope(file: string, t: SimpleTest): CaseScope {
  if (EXTENSION_FILES.has(file)) return 'extension';
  if (PROTOBUF_NAMES.test(t.expr)) return 'protobuf';
  const values: Value[] = [];
  for (const b of Object.values(t.bindings)) if (b.kind.case === 'value') values.push(b.kind.value);
  if (t.resultMatcher.case === 'value') values.push(t.resultMatcher.value);
  if (t.resultMatcher.case === 'typedResult' && t.resultMatcher.value.result)
    values.push(t.resultMatcher.value.result);
  if (values.some(holdsMessage)) return 'protobuf';
  for (const d of t.typeEnv) {
    if (d.declKind.case === 'ident' && d.declKind.value.type && typeNeedsProtobuf(d.declKind.value.type)) {
      return 'protobuf';
    }
  }
  return 'core';
}

function holdsMessage(v: Value): boolean {
  const k = v.kind;
  if (k.case === 'objectValue')
    return !JSON_SAFE_MESSAGES.has(k.value.typeUrl.slice(k.value.typeUrl.lastIndexOf('/') + 1));
  if (k.case === 'enumValue') return true;
  if (k.case === 'listValue') return k.value.values.some(holdsMessage);
  if (k.case === 'mapValue')
    return k.value.entries.some((e) => (e.key && holdsMessage(e.key)) || (e.value && holdsMessage(e.value)));
  return false;
}

function typeNeedsProtobuf(t: Type): boolean {
  const k = t.typeKind;
  switch (k.case) {
    case 'messageType':
      return !JSON_SAFE_MESSAGES.has(k.value);
    case 'wrapper':
      return true;
    case 'wellKnown':
      return k.value === Type_WellKnownType.ANY;
    case 'listType':
      return k.value.elemType ? typeNeedsProtobuf(k.value.elemType) : false;
    case 'mapType':
      return (
        (k.value.keyType ? typeNeedsProtobuf(k.value.keyType) : false) ||
        (k.value.valueType ? typeNeedsProtobuf(k.value.valueType) : false)
      );
    default:
      return false;
  }
}

/**
 * Runs the cases against one adapter. A case passes when the outcome matches the test's matcher:
 * a value equal under CEL rules (and the deduced type, where the test gives one), or any error
 * where an error is expected (the suite does not pin error messages, and an error raised by the
 * checker instead of at evaluation is still a rejection).
 *
 * @example
 * const report = runConformance(bufbuildAdapter);
 * console.log(report.totals.passed, '/', report.totals.run);
 */
export function runConformance(
  adapter: CelAdapter,
  cases: readonly ConformanceCase[] = listConformanceCases(),
): ConformanceReport {
  const totals: Tally = { run: 0, passed: 0, failed: 0, errored: 0 };
  const byFile = new Map<string, Tally>();
  const byScope = new Map<CaseScope, Tally>();
  const results: CaseResult[] = [];
  for (const c of cases) {
    const result = judgeCase(adapter, c);
    results.push(result);
    for (const t of [totals, tallyOf(byFile, c.file), tallyOf(byScope, c.scope)]) {
      t.run++;
      t[result.status]++;
    }
  }
  return { library: adapter.library, totals, byFile, byScope, results };
}

function tallyOf<K>(m: Map<K, Tally>, key: K): Tally {
  let t = m.get(key);
  if (!t) {
    t = { run: 0, passed: 0, failed: 0, errored: 0 };
    m.set(key, t);
  }
  return t;
}

function judgeCase(adapter: CelAdapter, c: ConformanceCase): CaseResult {
  const fail = (reason: string, status: CaseStatus = 'failed'): CaseResult => ({
    id: c.id,
    file: c.file,
    status,
    reason,
  });
  const t = c.test;
  const matcher = t.resultMatcher;
  const needsType = !t.disableCheck && matcher.case === 'typedResult';
  if ((t.checkOnly || needsType) && !adapter.hasChecker) {
    return fail('no type checker: the case asserts the checker-deduced type');
  }
  let run: CaseRun;
  try {
    run = adapter.run(t);
  } catch (e) {
    // An adapter is written not to throw; if it does, the library escaped it.
    return fail(`adapter threw: ${errorMessage(e)}`, 'errored');
  }
  if (run.kind === 'unsupported') return fail(`unsupported: ${run.reason}`);

  const expectsError = matcher.case === 'evalError' || matcher.case === 'anyEvalErrors';
  if (expectsError) {
    if (run.kind === 'error' || run.kind === 'crash') return pass(c);
    return fail(
      `expected an error, got ${run.kind === 'value' ? describeValue(run.value) : 'a checked expression'}`,
    );
  }
  if (run.kind === 'crash') return fail(`${run.stage} crashed: ${run.message}`, 'errored');
  if (run.kind === 'error') return fail(`${run.stage} error: ${run.message}`);
  if (matcher.case === 'unknown' || matcher.case === 'anyUnknowns') {
    return fail('unsupported: unknown-set results');
  }

  if (needsType && matcher.case === 'typedResult') {
    const want = matcher.value.deducedType ? celTypeName(matcher.value.deducedType) : undefined;
    if (want !== undefined && run.checkedType !== want) {
      return fail(`deduced type ${run.checkedType ?? '(none)'}, want ${want}`);
    }
  }
  if (t.checkOnly) return pass(c);
  if (run.kind !== 'value') return fail('no value: the adapter stopped after checking');

  let want: CanonicalValue;
  if (matcher.case === 'value') want = fromSpecValue(matcher.value);
  else if (matcher.case === 'typedResult') {
    if (!matcher.value.result) return pass(c);
    want = fromSpecValue(matcher.value.result);
  } else want = { kind: 'bool', value: true };
  if (!celEquals(want, run.value))
    return fail(`got ${describeValue(run.value)}, want ${describeValue(want)}`);
  return pass(c);
}

function pass(c: ConformanceCase): CaseResult {
  return { id: c.id, file: c.file, status: 'passed' };
}

/** The suite's expected values, in canonical form. */
export function fromSpecValue(v: Value): CanonicalValue {
  const k = v.kind;
  switch (k.case) {
    case 'nullValue':
      return { kind: 'null' };
    case 'boolValue':
      return { kind: 'bool', value: k.value };
    case 'int64Value':
      return { kind: 'int', value: k.value };
    case 'uint64Value':
      return { kind: 'uint', value: k.value };
    case 'doubleValue':
      return { kind: 'double', value: k.value };
    case 'stringValue':
      return { kind: 'string', value: k.value };
    case 'bytesValue':
      return { kind: 'bytes', value: k.value };
    case 'enumValue':
      return { kind: 'enum', typeName: k.value.type, value: k.value.value };
    case 'typeValue':
      return { kind: 'type', value: k.value };
    case 'listValue':
      return { kind: 'list', value: k.value.values.map(fromSpecValue) };
    case 'mapValue':
      return {
        kind: 'map',
        value: k.value.entries.map((e) => [
          e.key ? fromSpecValue(e.key) : { kind: 'null' },
          e.value ? fromSpecValue(e.value) : { kind: 'null' },
        ]),
      };
    case 'objectValue': {
      const msg = anyUnpack(k.value, conformanceRegistry());
      if (!msg) throw new Error(`cannot unpack ${k.value.typeUrl}`);
      return fromMessage(msg);
    }
    default:
      throw new Error(`value without a kind: ${String(k.case)}`);
  }
}

/** A protobuf message in canonical form: timestamps and durations become their CEL kinds. */
export function fromMessage(msg: Message): CanonicalValue {
  if (msg.$typeName === 'google.protobuf.Timestamp') {
    const ts = msg as Timestamp;
    return { kind: 'timestamp', seconds: ts.seconds, nanos: ts.nanos };
  }
  if (msg.$typeName === 'google.protobuf.Duration') {
    const d = msg as Duration;
    return { kind: 'duration', seconds: d.seconds, nanos: d.nanos };
  }
  const desc = conformanceRegistry().getMessage(msg.$typeName);
  if (!desc) throw new Error(`message type not in the test registry: ${msg.$typeName}`);
  return { kind: 'message', typeName: msg.$typeName, desc, message: msg };
}

/**
 * CEL value equality as the suite applies it: types must agree (1 ≠ 1u ≠ 1.0), maps compare
 * regardless of order, NaN matches NaN. An enum is matched by its number, because both libraries
 * (like cel-go) follow legacy enum semantics where an enum value is an int.
 *
 * @example
 * celEquals({ kind: 'int', value: 1n }, { kind: 'uint', value: 1n }); // false
 */
export function celEquals(a: CanonicalValue, b: CanonicalValue): boolean {
  if (a.kind === 'enum')
    return b.kind === 'int' ? b.value === BigInt(a.value) : b.kind === 'enum' && b.value === a.value;
  if (b.kind === 'enum') return celEquals(b, a);
  switch (a.kind) {
    case 'null':
      return b.kind === 'null';
    case 'bool':
    case 'int':
    case 'uint':
    case 'string':
    case 'type':
      return b.kind === a.kind && b.value === a.value;
    case 'double':
      return b.kind === 'double' && (b.value === a.value || (Number.isNaN(a.value) && Number.isNaN(b.value)));
    case 'bytes':
      return b.kind === 'bytes' && bytesEqual(a.value, b.value);
    case 'timestamp':
    case 'duration':
      return b.kind === a.kind && b.seconds === a.seconds && b.nanos === a.nanos;
    case 'list':
      return (
        b.kind === 'list' &&
        b.value.length === a.value.length &&
        a.value.every((x, i) => celEquals(x, b.value[i]!))
      );
    case 'map':
      return (
        b.kind === 'map' &&
        b.value.length === a.value.length &&
        a.value.every(([k, v]) => b.value.some(([bk, bv]) => celEquals(k, bk) && celEquals(v, bv)))
      );
    case 'message':
      return (
        b.kind === 'message' &&
        b.typeName === a.typeName &&
        equals(a.desc, a.message, b.message, { registry: conformanceRegistry(), unpackAny: true })
      );
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A short, human form of a canonical value for failure reasons. */
export function describeValue(v: CanonicalValue): string {
  switch (v.kind) {
    case 'null':
      return 'null';
    case 'bool':
    case 'double':
      return String(v.value);
    case 'int':
      return `${v.value}`;
    case 'uint':
      return `${v.value}u`;
    case 'string':
      return JSON.stringify(v.value);
    case 'bytes':
      return `b'${Buffer.from(v.value).toString('hex')}'`;
    case 'type':
      return `type(${v.value})`;
    case 'enum':
      return `${v.typeName}(${v.value})`;
    case 'timestamp':
      return `timestamp(${v.seconds}s+${v.nanos}ns)`;
    case 'duration':
      return `duration(${v.seconds}s+${v.nanos}ns)`;
    case 'list':
      return `[${v.value.map(describeValue).join(', ')}]`;
    case 'map':
      return `{${v.value.map(([k, x]) => `${describeValue(k)}: ${describeValue(x)}`).join(', ')}}`;
    case 'message':
      return `${v.typeName}{…}`;
  }
}

const PRIMITIVE_NAMES: Record<number, string> = {
  [Type_PrimitiveType.BOOL]: 'bool',
  [Type_PrimitiveType.INT64]: 'int',
  [Type_PrimitiveType.UINT64]: 'uint',
  [Type_PrimitiveType.DOUBLE]: 'double',
  [Type_PrimitiveType.STRING]: 'string',
  [Type_PrimitiveType.BYTES]: 'bytes',
};

const WELL_KNOWN_NAMES: Record<number, string> = {
  [Type_WellKnownType.ANY]: 'google.protobuf.Any',
  [Type_WellKnownType.TIMESTAMP]: 'google.protobuf.Timestamp',
  [Type_WellKnownType.DURATION]: 'google.protobuf.Duration',
};

/**
 * A checked type in CEL's own notation (`list(int)`, `map(string, dyn)`, `optional_type(int)`,
 * `wrapper(int)`), the one form adapters translate their checker's output into.
 *
 * @example
 * celTypeName(create(TypeSchema, { typeKind: { case: 'dyn', value: {} } })); // 'dyn'
 */
export function celTypeName(t: Type): string {
  const k = t.typeKind;
  switch (k.case) {
    case 'dyn':
      return 'dyn';
    case 'null':
      return 'null_type';
    case 'primitive':
      return PRIMITIVE_NAMES[k.value] ?? 'unspecified';
    case 'wrapper':
      return `wrapper(${PRIMITIVE_NAMES[k.value] ?? 'unspecified'})`;
    case 'wellKnown':
      return WELL_KNOWN_NAMES[k.value] ?? 'unspecified';
    case 'listType':
      return `list(${k.value.elemType ? celTypeName(k.value.elemType) : 'dyn'})`;
    case 'mapType':
      return `map(${k.value.keyType ? celTypeName(k.value.keyType) : 'dyn'}, ${
        k.value.valueType ? celTypeName(k.value.valueType) : 'dyn'
      })`;
    case 'messageType':
      return k.value;
    case 'typeParam':
      return k.value;
    case 'type':
      return `type(${celTypeName(k.value)})`;
    case 'abstractType':
      return k.value.parameterTypes.length === 0
        ? k.value.name
        : `${k.value.name}(${k.value.parameterTypes.map(celTypeName).join(', ')})`;
    case 'function':
      return 'function';
    case 'error':
      return 'error';
    default:
      return 'unspecified';
  }
}

/** The message of anything thrown, without a stack. */
export function errorMessage(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  // Libraries decorate messages with a source excerpt on following lines; the first line is the cause.
  return text.split('\n', 1)[0] ?? text;
}

/**
 * A fixed-width summary table of one or more reports, by file, for the bench output and docs.
 *
 * @example
 * console.log(formatConformanceTable([runConformance(a), runConformance(b)]));
 */
export function formatConformanceTable(reports: readonly ConformanceReport[]): string {
  const files = [...new Set(reports.flatMap((r) => [...r.byFile.keys()]))];
  const header = ['file', ...reports.map((r) => `${r.library} passed/run`)];
  const rows = files.map((f) => [
    f,
    ...reports.map((r) => {
      const t = r.byFile.get(f);
      return t ? `${t.passed}/${t.run}` : '-';
    }),
  ]);
  rows.push([
    'TOTAL',
    ...reports.map((r) => `${r.totals.passed}/${r.totals.run} (${percent(r.totals.passed, r.totals.run)})`),
  ]);
  rows.push(['  failed / errored', ...reports.map((r) => `${r.totals.failed} / ${r.totals.errored}`)]);
  for (const scope of ['core', 'extension', 'protobuf'] as const) {
    rows.push([
      `scope: ${scope}`,
      ...reports.map((r) => {
        const t = r.byScope.get(scope);
        return t ? `${t.passed}/${t.run} (${percent(t.passed, t.run)})` : '-';
      }),
    ]);
  }
  const widths = header.map((_, i) => Math.max(header[i]!.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

function percent(n: number, d: number): string {
  return d === 0 ? '-' : `${((100 * n) / d).toFixed(1)} %`;
}
