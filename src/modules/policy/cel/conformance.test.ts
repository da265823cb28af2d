import { describe, expect, it } from 'vitest';
import { bufbuildAdapter } from './adapter-bufbuild.js';
import { celEquals, fromSpecValue, listConformanceCases, runConformance } from './conformance.js';
import { KNOWN_FAILURES } from './known-failures.js';

// The whole suite against the library the policy engine uses. An upgrade of @bufbuild/cel or
// @bufbuild/cel-spec that fixes or breaks a case changes the failing set and fails here; update
// known-failures.ts deliberately, with the cause.
describe('CEL conformance of @bufbuild/cel', () => {
  const cases = listConformanceCases();
  const report = runConformance(bufbuildAdapter, cases);
  const failing = report.results.filter((r) => r.status !== 'passed');
  const known = KNOWN_FAILURES.flatMap((g) => g.ids);

  it('runs the whole suite', () => {
    expect(report.totals.run).toBe(cases.length);
    expect(cases.length).toBeGreaterThan(2000);
  });

  it('fails exactly the known cases', () => {
    const failingIds = failing.map((r) => r.id).sort();
    const unexpected = failing.filter((r) => !known.includes(r.id)).map((r) => `${r.id}: ${r.reason}`);
    const fixed = known.filter((id) => !failingIds.includes(id));
    expect({ unexpected, fixed }).toEqual({ unexpected: [], fixed: [] });
  });

  it('lists each known failure once, under one cause, and only real case ids', () => {
    const ids = new Set(cases.map((c) => c.id));
    expect(new Set(known).size).toBe(known.length);
    expect(known.filter((id) => !ids.has(id))).toEqual([]);
    for (const group of KNOWN_FAILURES) {
      expect(group.ids.length).toBeGreaterThan(0);
      expect(group.cause).not.toContain('\n');
      expect(group.policyImpact).not.toContain('\n');
    }
  });

  it('never crashes: every failure is a CEL error or a wrong or unsupported result', () => {
    expect(report.totals.errored).toBe(0);
  });
});

describe('celEquals, the harness comparison', () => {
  const int = (v: bigint) => ({ kind: 'int', value: v }) as const;
  const uint = (v: bigint) => ({ kind: 'uint', value: v }) as const;
  const double = (v: number) => ({ kind: 'double', value: v }) as const;
  const str = (v: string) => ({ kind: 'string', value: v }) as const;

  it('keeps int, uint and double apart, as the suite expects typed results', () => {
    expect(celEquals(int(1n), int(1n))).toBe(true);
    expect(celEquals(int(1n), uint(1n))).toBe(false);
    expect(celEquals(int(1n), double(1))).toBe(false);
    expect(celEquals(double(Number.NaN), double(Number.NaN))).toBe(true);
    expect(celEquals(double(0), double(-0))).toBe(true);
  });

  it('compares bytes, lists, maps (in any order), timestamps and durations by value', () => {
    const bytes = (...b: number[]) => ({ kind: 'bytes', value: new Uint8Array(b) }) as const;
    expect(celEquals(bytes(1, 2), bytes(1, 2))).toBe(true);
    expect(celEquals(bytes(1, 2), bytes(1, 3))).toBe(false);
    expect(
      celEquals({ kind: 'list', value: [int(1n), str('a')] }, { kind: 'list', value: [int(1n), str('a')] }),
    ).toBe(true);
    expect(celEquals({ kind: 'list', value: [int(1n)] }, { kind: 'list', value: [int(1n), int(1n)] })).toBe(
      false,
    );
    const m1 = { kind: 'map', value: [[str('a'), int(1n)] as const, [str('b'), int(2n)] as const] } as const;
    const m2 = { kind: 'map', value: [[str('b'), int(2n)] as const, [str('a'), int(1n)] as const] } as const;
    expect(celEquals(m1, m2)).toBe(true);
    expect(celEquals(m1, { kind: 'map', value: [[str('a'), int(1n)] as const] })).toBe(false);
    const ts = { kind: 'timestamp', seconds: 10n, nanos: 5 } as const;
    expect(celEquals(ts, { ...ts })).toBe(true);
    expect(celEquals(ts, { ...ts, nanos: 6 })).toBe(false);
    expect(celEquals(ts, { kind: 'duration', seconds: 10n, nanos: 5 })).toBe(false);
  });

  it('matches a legacy enum expectation with the int of the same number', () => {
    const e = { kind: 'enum', typeName: 'cel.expr.conformance.proto3.GlobalEnum', value: 2 } as const;
    expect(celEquals(e, int(2n))).toBe(true);
    expect(celEquals(e, int(1n))).toBe(false);
  });

  it('reads the suite expectations into the same form', () => {
    const c = listConformanceCases().find(
      (x) => x.id === 'basic/self_eval_nonzeroish/self_eval_uint_nonzero',
    );
    expect(c?.test.resultMatcher.case).toBe('value');
    if (c?.test.resultMatcher.case === 'value')
      expect(fromSpecValue(c.test.resultMatcher.value)).toEqual(uint(123456789n));
  });
});
