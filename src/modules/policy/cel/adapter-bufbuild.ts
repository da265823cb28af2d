/**
 * Conformance adapter for `@bufbuild/cel`. Dev-only (see conformance.ts).
 *
 * The library has no public type checker (0.6.x ships a stub that only types constants and
 * identifiers, and does not export it), so every case is evaluated from the parsed expression,
 * and the cases that assert a deduced type or only check fail as "no type checker".
 */

import type { CelEnv, CelInput, CelValue } from '@bufbuild/cel';
import {
  celEnv,
  celUint,
  isCelError,
  isCelList,
  isCelMap,
  isCelType,
  isCelUint,
  parse,
  plan,
} from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import type { SimpleTest } from '@bufbuild/cel-spec/cel/expr/conformance/test/simple_pb.js';
import type { Value } from '@bufbuild/cel-spec/cel/expr/value_pb.js';
import { isMessage, type Message } from '@bufbuild/protobuf';
import { isReflectMessage } from '@bufbuild/protobuf/reflect';
import { anyUnpack } from '@bufbuild/protobuf/wkt';
import {
  type CanonicalValue,
  type CaseRun,
  type CelAdapter,
  conformanceRegistry,
  errorMessage,
  fromMessage,
} from './conformance.js';

const envs = new Map<string, CelEnv>();

function envFor(container: string): CelEnv {
  let env = envs.get(container);
  if (!env) {
    // Every extension the library ships is enabled, as cel-go's conformance runner does.
    env = celEnv({ namespace: container, registry: conformanceRegistry(), funcs: strings });
    envs.set(container, env);
  }
  return env;
}

class Unsupported extends Error {}

function toInput(v: Value): CelInput {
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
      return celUint(k.value);
    case 'enumValue':
      return BigInt(k.value.value);
    case 'listValue':
      return k.value.values.map(toInput);
    case 'mapValue': {
      const m = new Map<bigint | string | boolean | ReturnType<typeof celUint>, CelInput>();
      for (const e of k.value.entries) {
        if (!e.key || !e.value) continue;
        const key = toInput(e.key);
        if (
          typeof key !== 'bigint' &&
          typeof key !== 'string' &&
          typeof key !== 'boolean' &&
          !isCelUint(key)
        ) {
          throw new Unsupported('map key of a non-key type');
        }
        m.set(key, toInput(e.value));
      }
      return m;
    }
    case 'objectValue': {
      const msg = anyUnpack(k.value, conformanceRegistry());
      if (!msg) throw new Unsupported(`binding of unknown message type ${k.value.typeUrl}`);
      return msg;
    }
    default:
      throw new Unsupported(`binding of kind ${String(k.case)}`);
  }
}

function toCanonical(v: CelValue): CanonicalValue {
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
  if (v === null) return { kind: 'null' };
  if (v instanceof Uint8Array) return { kind: 'bytes', value: v };
  if (isCelUint(v)) return { kind: 'uint', value: v.value };
  if (isCelList(v)) return { kind: 'list', value: [...v].map(toCanonical) };
  if (isCelMap(v)) {
    return {
      kind: 'map',
      value: [...v.entries()].map(([key, x]) => [toCanonical(key as CelValue), toCanonical(x)] as const),
    };
  }
  if (isCelType(v)) return { kind: 'type', value: v.name };
  if (isReflectMessage(v)) return fromMessage(v.message);
  if (isMessage(v)) return fromMessage(v as Message);
  throw new Unsupported(`result of an unrecognised shape: ${Object.prototype.toString.call(v)}`);
}

/** `@bufbuild/cel` under the conformance harness. */
export const bufbuildAdapter: CelAdapter = {
  library: '@bufbuild/cel',
  hasChecker: false,
  run(test: SimpleTest): CaseRun {
    let parsed: ReturnType<typeof parse>;
    try {
      parsed = parse(test.expr);
    } catch (e) {
      return { kind: 'error', stage: 'parse', message: errorMessage(e) };
    }
    const bindings: Record<string, CelInput> = {};
    try {
      for (const [name, ev] of Object.entries(test.bindings)) {
        if (ev.kind.case !== 'value')
          return { kind: 'unsupported', reason: `binding of ${String(ev.kind.case)}` };
        bindings[name] = toInput(ev.kind.value);
      }
    } catch (e) {
      if (e instanceof Unsupported) return { kind: 'unsupported', reason: e.message };
      throw e;
    }
    let program: ReturnType<typeof plan>;
    try {
      program = plan(envFor(test.container), parsed);
    } catch (e) {
      return { kind: 'error', stage: 'plan', message: errorMessage(e) };
    }
    let result: ReturnType<typeof program>;
    try {
      result = program(bindings);
    } catch (e) {
      // plan() promises never to throw; record it if it does.
      return { kind: 'crash', stage: 'eval', message: errorMessage(e) };
    }
    if (isCelError(result)) return { kind: 'error', stage: 'eval', message: result.message };
    try {
      return { kind: 'value', value: toCanonical(result) };
    } catch (e) {
      if (e instanceof Unsupported) return { kind: 'unsupported', reason: e.message };
      throw e;
    }
  },
};
