import { CelScalar, type CelType, celEnv, listType, mapType, objectType, parse } from '@bufbuild/cel';
import { strings } from '@bufbuild/cel/ext';
import { type Type, Type_PrimitiveType, Type_WellKnownType } from '@bufbuild/cel-spec/cel/expr/checked_pb.js';
import { describe, expect, it } from 'vitest';
import { bufbuildAdapter } from './adapter-bufbuild.js';
import { checkExpression } from './check.js';
import { type ConformanceCase, listConformanceCases, runConformance } from './conformance.js';

const PRIMITIVES: Record<number, CelType> = {
  [Type_PrimitiveType.BOOL]: CelScalar.BOOL,
  [Type_PrimitiveType.INT64]: CelScalar.INT,
  [Type_PrimitiveType.UINT64]: CelScalar.UINT,
  [Type_PrimitiveType.DOUBLE]: CelScalar.DOUBLE,
  [Type_PrimitiveType.STRING]: CelScalar.STRING,
  [Type_PrimitiveType.BYTES]: CelScalar.BYTES,
};

/** A declared type the checker can use, or undefined for protobuf-only types. */
function celTypeOf(t: Type): CelType | undefined {
  const k = t.typeKind;
  switch (k.case) {
    case 'primitive':
      return PRIMITIVES[k.value];
    case 'dyn':
      return CelScalar.DYN;
    case 'null':
      return CelScalar.NULL;
    case 'type':
      return CelScalar.TYPE;
    case 'listType': {
      const e = k.value.elemType && celTypeOf(k.value.elemType);
      return e && listType(e);
    }
    case 'mapType': {
      const key = k.value.keyType && celTypeOf(k.value.keyType);
      const value = k.value.valueType && celTypeOf(k.value.valueType);
      return key?.kind === 'scalar' && value
        ? mapType(key as Parameters<typeof mapType>[0], value)
        : undefined;
    }
    case 'messageType':
      return k.value === 'google.protobuf.Timestamp' || k.value === 'google.protobuf.Duration'
        ? objectType(k.value)
        : undefined;
    case 'wellKnown':
      if (k.value === Type_WellKnownType.TIMESTAMP) return objectType('google.protobuf.Timestamp');
      if (k.value === Type_WellKnownType.DURATION) return objectType('google.protobuf.Duration');
      return undefined;
    default:
      return undefined;
  }
}

function declarations(c: ConformanceCase): Map<string, CelType> | undefined {
  const vars = new Map<string, CelType>();
  for (const d of c.test.typeEnv) {
    // Dotted variable names (`a.b.c`) are a container feature policies do not have.
    if (d.declKind.case !== 'ident' || !d.declKind.value.type || d.name.includes('.')) return undefined;
    const t = celTypeOf(d.declKind.value.type);
    if (!t) return undefined;
    vars.set(d.name, t);
  }
  for (const name of Object.keys(c.test.bindings)) if (!vars.has(name)) vars.set(name, CelScalar.DYN);
  return vars;
}

describe('checkExpression against the conformance suite', () => {
  const env = celEnv({ funcs: strings });
  const evaluatorPasses = new Set(
    runConformance(bufbuildAdapter)
      .results.filter((r) => r.status === 'passed')
      .map((r) => r.id),
  );

  it('accepts every expression the reference checker accepts and the evaluator gets right', () => {
    // The suite's checked cases (disable_check unset) that expect a value were accepted by
    // cel-go's checker; refusing one of them would refuse a valid policy.
    const eligible = listConformanceCases().filter(
      (c) =>
        c.scope !== 'protobuf' &&
        !c.test.disableCheck &&
        (c.test.resultMatcher.case === 'value' ||
          c.test.resultMatcher.case === 'typedResult' ||
          c.test.resultMatcher.case === undefined) &&
        evaluatorPasses.has(c.id),
    );
    const refused: string[] = [];
    let checked = 0;
    for (const c of eligible) {
      const variables = declarations(c);
      if (!variables) continue;
      checked++;
      const r = checkExpression(parse(c.test.expr).expr, { funcs: env.funcs, variables, maxDepth: 64 });
      if (!r.ok) refused.push(`${c.id}: ${r.issue.message}`);
    }
    expect(checked).toBeGreaterThan(900);
    expect(refused).toEqual([]);
  });

  it('refuses the ill-typed expressions the suite can only run with checking disabled', () => {
    // Cases with disable_check set are there because a checker refuses them; a sample of the
    // suite's own ill-typed expressions must be refused here too.
    for (const expr of ["'horses' && false", 'true || 32', "['one'] == [2, 3]", 'f_unknown(17) || true']) {
      const r = checkExpression(parse(expr).expr, { funcs: env.funcs, variables: new Map(), maxDepth: 64 });
      expect(r.ok, expr).toBe(false);
    }
  });
});
