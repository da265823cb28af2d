/**
 * Conformance adapter for `@marcbachmann/cel-js`. Dev-only (see conformance.ts).
 *
 * The library has a type checker but no protobuf: message-typed declarations and bindings
 * (TestAllTypes, wrappers as types, Any) cannot be expressed and fail as "unsupported". JSON-like
 * well-known types (Struct, Value, ListValue, wrapper values) are passed as the plain values a
 * caller would pass, and timestamps as `Date` (the library's timestamp type).
 */

import type { Type } from '@bufbuild/cel-spec/cel/expr/checked_pb.js';
import { Type_PrimitiveType, Type_WellKnownType } from '@bufbuild/cel-spec/cel/expr/checked_pb.js';
import type { SimpleTest } from '@bufbuild/cel-spec/cel/expr/conformance/test/simple_pb.js';
import type { Value } from '@bufbuild/cel-spec/cel/expr/value_pb.js';
import type { Message } from '@bufbuild/protobuf';
import {
  anyUnpack,
  type ListValue,
  type Duration as PbDuration,
  type Value as PbValue,
  type Struct,
  type Timestamp,
} from '@bufbuild/protobuf/wkt';
import {
  TypeError as CelTypeError,
  Environment,
  EvaluationError,
  Optional,
  ParseError,
} from '@marcbachmann/cel-js';
import { Duration, UnsignedInt } from '@marcbachmann/cel-js/evaluator';
import {
  type CanonicalValue,
  type CaseRun,
  type CelAdapter,
  conformanceRegistry,
  errorMessage,
} from './conformance.js';

class Unsupported extends Error {}

// Cloning freezes the parent and gives each case its own declarations cheaply.
const base = new Environment({
  unlistedVariablesAreDyn: false,
  // The spec types a mixed literal as list(dyn) / map(dyn, dyn); the library's default rejects it.
  homogeneousAggregateLiterals: false,
  enableOptionalTypes: true,
});

const PRIMITIVE: Record<number, string> = {
  [Type_PrimitiveType.BOOL]: 'bool',
  [Type_PrimitiveType.INT64]: 'int',
  [Type_PrimitiveType.UINT64]: 'uint',
  [Type_PrimitiveType.DOUBLE]: 'double',
  [Type_PrimitiveType.STRING]: 'string',
  [Type_PrimitiveType.BYTES]: 'bytes',
};

const JSON_MESSAGE_TYPES: Record<string, string> = {
  'google.protobuf.Timestamp': 'google.protobuf.Timestamp',
  'google.protobuf.Duration': 'google.protobuf.Duration',
  'google.protobuf.Struct': 'map<string, dyn>',
  'google.protobuf.Value': 'dyn',
  'google.protobuf.ListValue': 'list<dyn>',
};

function typeString(t: Type): string {
  const k = t.typeKind;
  switch (k.case) {
    case 'dyn':
      return 'dyn';
    case 'null':
      // The library spells CEL's null_type `null`.
      return 'null';
    case 'primitive': {
      const name = PRIMITIVE[k.value];
      if (name) return name;
      break;
    }
    case 'wellKnown':
      if (k.value === Type_WellKnownType.TIMESTAMP) return 'google.protobuf.Timestamp';
      if (k.value === Type_WellKnownType.DURATION) return 'google.protobuf.Duration';
      break;
    case 'listType':
      return `list<${k.value.elemType ? typeString(k.value.elemType) : 'dyn'}>`;
    case 'mapType':
      return `map<${k.value.keyType ? typeString(k.value.keyType) : 'dyn'}, ${
        k.value.valueType ? typeString(k.value.valueType) : 'dyn'
      }>`;
    case 'messageType': {
      const json = JSON_MESSAGE_TYPES[k.value];
      if (json) return json;
      throw new Unsupported(`declaration of protobuf message type ${k.value}`);
    }
    case 'typeParam':
      return k.value;
    case 'type':
      return 'type';
    case 'abstractType':
      if (k.value.name === 'optional_type' && k.value.parameterTypes[0]) {
        return `optional<${typeString(k.value.parameterTypes[0])}>`;
      }
      break;
  }
  throw new Unsupported(
    `declaration of type ${k.case}${'value' in k ? ` ${JSON.stringify(String(k.value))}` : ''}`,
  );
}

function declare(env: Environment, test: SimpleTest): void {
  for (const decl of test.typeEnv) {
    const d = decl.declKind;
    if (d.case === 'ident') {
      if (!d.value.type) throw new Unsupported(`untyped declaration ${decl.name}`);
      env.registerVariable(decl.name, typeString(d.value.type));
    } else if (d.case === 'function') {
      for (const o of d.value.overloads) {
        const params = o.params.map(typeString);
        const result = o.resultType ? typeString(o.resultType) : 'dyn';
        const signature = o.isInstanceFunction
          ? `${params[0]}.${decl.name}(${params.slice(1).join(', ')}): ${result}`
          : `${decl.name}(${params.join(', ')}): ${result}`;
        try {
          env.registerFunction(signature, () => {
            throw new Error(`${decl.name} is declared for checking only`);
          });
        } catch (e) {
          throw new Unsupported(`function declaration ${signature}: ${errorMessage(e)}`);
        }
      }
    }
  }
  for (const name of Object.keys(test.bindings)) {
    // A binding the test does not declare is typed dyn, the most lenient reading.
    if (!env.hasVariable(name)) env.registerVariable(name, 'dyn');
  }
}

function fromMessageBinding(msg: Message): unknown {
  switch (msg.$typeName) {
    case 'google.protobuf.Timestamp': {
      const ts = msg as Timestamp;
      if (ts.nanos % 1_000_000 !== 0) throw new Unsupported('sub-millisecond timestamp binding (Date)');
      return new Date(Number(ts.seconds) * 1000 + ts.nanos / 1_000_000);
    }
    case 'google.protobuf.Duration': {
      const d = msg as PbDuration;
      return new Duration(d.seconds, d.nanos);
    }
    case 'google.protobuf.Int32Value':
    case 'google.protobuf.Int64Value':
      return BigInt((msg as unknown as { value: bigint | number }).value);
    case 'google.protobuf.UInt32Value':
    case 'google.protobuf.UInt64Value':
      return new UnsignedInt((msg as unknown as { value: bigint | number }).value);
    case 'google.protobuf.FloatValue':
    case 'google.protobuf.DoubleValue':
    case 'google.protobuf.BoolValue':
    case 'google.protobuf.StringValue':
    case 'google.protobuf.BytesValue':
      return (msg as unknown as { value: unknown }).value;
    case 'google.protobuf.Struct':
      return fromStruct(msg as Struct);
    case 'google.protobuf.ListValue':
      return (msg as ListValue).values.map(fromPbValue);
    case 'google.protobuf.Value':
      return fromPbValue(msg as PbValue);
    case 'google.protobuf.Any': {
      const inner = anyUnpack(msg as never, conformanceRegistry());
      if (!inner) throw new Unsupported('Any of an unknown type');
      return fromMessageBinding(inner);
    }
    default:
      throw new Unsupported(`binding of protobuf message ${msg.$typeName}`);
  }
}

function fromStruct(s: Struct): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (const [k, v] of Object.entries(s.fields)) m.set(k, fromPbValue(v));
  return m;
}

function fromPbValue(v: PbValue): unknown {
  const k = v.kind;
  switch (k.case) {
    case 'nullValue':
      return null;
    case 'numberValue':
    case 'stringValue':
    case 'boolValue':
      return k.value;
    case 'structValue':
      return fromStruct(k.value);
    case 'listValue':
      return k.value.values.map(fromPbValue);
    default:
      return null;
  }
}

function toInput(v: Value): unknown {
  const k = v.kind;
  switch (k.case) {
    case 'nullValue':
      return null;
    case 'boolValue':
    case 'int64Value':
    case 'doubleValue':
    case 'stringValue':
    case 'bytesValue':
      return k.value;
    case 'uint64Value':
      return new UnsignedInt(k.value);
    case 'enumValue':
      return BigInt(k.value.value);
    case 'listValue':
      return k.value.values.map(toInput);
    case 'mapValue': {
      const m = new Map<unknown, unknown>();
      for (const e of k.value.entries) if (e.key && e.value) m.set(toInput(e.key), toInput(e.value));
      return m;
    }
    case 'objectValue': {
      const msg = anyUnpack(k.value, conformanceRegistry());
      if (!msg) throw new Unsupported(`binding of unknown type ${k.value.typeUrl}`);
      return fromMessageBinding(msg);
    }
    default:
      throw new Unsupported(`binding of kind ${String(k.case)}`);
  }
}

/** The checker's type names (`list<int>`) in CEL notation (`list(int)`), see celTypeName. */
function normaliseTypeName(name: string): string {
  return name
    .replace(/</g, '(')
    .replace(/>/g, ')')
    .replace(/\boptional\(/g, 'optional_type(')
    .replace(/\bnull\b(?!_)/g, 'null_type')
    .replace(/\blist\b(?!\()/g, 'list(dyn)')
    .replace(/\bmap\b(?!\()/g, 'map(dyn, dyn)');
}

/** Map keys of a plain-object map come back as strings; the checked key type says what they were. */
function objectKey(key: string, keyType: string | undefined): CanonicalValue {
  if (keyType === 'int') return { kind: 'int', value: BigInt(key) };
  if (keyType === 'uint') return { kind: 'uint', value: BigInt(key) };
  if (keyType === 'bool') return { kind: 'bool', value: key === 'true' };
  return { kind: 'string', value: key };
}

function mapKeyType(checked: string | undefined): string | undefined {
  return checked ? /^map\(([a-z_]+),/.exec(checked)?.[1] : undefined;
}

function toCanonical(v: unknown, checkedType?: string): CanonicalValue {
  switch (typeof v) {
    case 'boolean':
      return { kind: 'bool', value: v };
    case 'bigint':
      return { kind: 'int', value: v };
    case 'number':
      return { kind: 'double', value: v };
    case 'string':
      return { kind: 'string', value: v };
  }
  if (v === null || v === undefined) return { kind: 'null' };
  if (v instanceof Uint8Array) return { kind: 'bytes', value: v };
  if (v instanceof UnsignedInt) return { kind: 'uint', value: v.value };
  if (v instanceof Duration) return { kind: 'duration', seconds: v.seconds, nanos: v.nanos };
  if (v instanceof Date) {
    const ms = BigInt(v.getTime());
    const seconds = ms >= 0n ? ms / 1000n : -((-ms + 999n) / 1000n);
    return { kind: 'timestamp', seconds, nanos: Number(ms - seconds * 1000n) * 1_000_000 };
  }
  if (Array.isArray(v)) return { kind: 'list', value: v.map((x) => toCanonical(x)) };
  if (v instanceof Map) {
    return {
      kind: 'map',
      value: [...v.entries()].map(([k, x]) => [toCanonical(k), toCanonical(x)] as const),
    };
  }
  if (v instanceof Optional) throw new Unsupported('optional value as a result');
  const tag = Object.prototype.toString.call(v);
  const typeTag = /^\[object Type<(.*)>\]$/.exec(tag);
  if (typeTag) return { kind: 'type', value: typeTag[1] === 'null' ? 'null_type' : typeTag[1]! };
  if (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null) {
    const keyType = mapKeyType(checkedType);
    return {
      kind: 'map',
      value: Object.entries(v as Record<string, unknown>).map(
        ([k, x]) => [objectKey(k, keyType), toCanonical(x)] as const,
      ),
    };
  }
  throw new Unsupported(`result of an unrecognised shape: ${tag}`);
}

function isCelError(e: unknown): boolean {
  return e instanceof ParseError || e instanceof EvaluationError || e instanceof CelTypeError;
}

/** `@marcbachmann/cel-js` under the conformance harness. */
export const marcbachmannAdapter: CelAdapter = {
  library: '@marcbachmann/cel-js',
  hasChecker: true,
  run(test: SimpleTest): CaseRun {
    const env = base.clone();
    const context: Record<string, unknown> = {};
    try {
      declare(env, test);
      for (const [name, ev] of Object.entries(test.bindings)) {
        if (ev.kind.case !== 'value')
          return { kind: 'unsupported', reason: `binding of ${String(ev.kind.case)}` };
        context[name] = toInput(ev.kind.value);
      }
    } catch (e) {
      if (e instanceof Unsupported) return { kind: 'unsupported', reason: e.message };
      return { kind: 'unsupported', reason: `declaration rejected: ${errorMessage(e)}` };
    }
    let parsed: ReturnType<Environment['parse']>;
    try {
      parsed = env.parse(test.expr);
    } catch (e) {
      return isCelError(e)
        ? { kind: 'error', stage: 'parse', message: errorMessage(e) }
        : { kind: 'crash', stage: 'parse', message: errorMessage(e) };
    }
    let checkedType: string | undefined;
    if (!test.disableCheck) {
      let checked: ReturnType<typeof parsed.check>;
      try {
        checked = parsed.check();
      } catch (e) {
        return { kind: 'crash', stage: 'check', message: errorMessage(e) };
      }
      if (!checked.valid) {
        const err = checked.error;
        return isCelError(err) || err === undefined
          ? { kind: 'error', stage: 'check', message: errorMessage(err) }
          : { kind: 'crash', stage: 'check', message: errorMessage(err) };
      }
      checkedType = checked.type === undefined ? undefined : normaliseTypeName(checked.type);
      if (test.checkOnly) return { kind: 'checked', checkedType: checkedType ?? 'unknown' };
    }
    let result: unknown;
    try {
      result = parsed(context);
    } catch (e) {
      return isCelError(e)
        ? { kind: 'error', stage: 'eval', message: errorMessage(e) }
        : { kind: 'crash', stage: 'eval', message: errorMessage(e) };
    }
    if (result instanceof Promise) return { kind: 'unsupported', reason: 'asynchronous result' };
    try {
      return { kind: 'value', value: toCanonical(result, checkedType), checkedType };
    } catch (e) {
      if (e instanceof Unsupported) return { kind: 'unsupported', reason: e.message };
      throw e;
    }
  },
};
