import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import canonicalizeModule from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CanonicalJsonError, canonicalBytes, canonicalJson, canonicalSizeBound } from './canonical.js';
import { leafHash } from './merkle.js';

// The reference implementation the hand-written serializer is compared with (CommonJS default export).
const canonicalize: (input: unknown) => string | undefined =
  typeof canonicalizeModule === 'function' ? canonicalizeModule : canonicalizeModule.default;

const VECTORS = new URL('../../../test/vectors/jcs/', import.meta.url);
const read = (name: string): Buffer => readFileSync(new URL(name, VECTORS));

function doubleFromHex(hex: string): number {
  return Buffer.from(hex.padStart(16, '0'), 'hex').readDoubleBE(0);
}

describe('vector copies', () => {
  it('are byte-identical to the SHA256SUMS the vector README publishes', () => {
    const lines = read('SHA256SUMS').toString('utf8').trim().split('\n');
    expect(lines.length).toBe(23);
    for (const line of lines) {
      const [sum, name] = line.split(/\s+/) as [string, string];
      expect(createHash('sha256').update(read(name)).digest('hex'), name).toBe(sum);
    }
  });
});

describe('cyberphone/json-canonicalization test data', () => {
  const names = readdirSync(new URL('input/', VECTORS)).filter((n) => n.endsWith('.json'));

  it('has the six input files', () => {
    expect(names.sort()).toEqual(
      ['arrays', 'french', 'structures', 'unicode', 'values', 'weird'].map((n) => `${n}.json`),
    );
  });

  it.each(names)('%s canonicalizes to output/ and outhex/', (name) => {
    const input = JSON.parse(read(`input/${name}`).toString('utf8'));
    const expected = read(`output/${name}`);
    const fromHex = Buffer.from(
      read(`outhex/${name.replace(/\.json$/, '.txt')}`)
        .toString('utf8')
        .trim()
        .split(/\s+/)
        .join(''),
      'hex',
    );
    expect(canonicalBytes(input)).toEqual(expected);
    expect(canonicalBytes(input)).toEqual(fromHex);
    expect(canonicalJson(input)).toBe(expected.toString('utf8'));
  });
});

describe('RFC 8785 examples', () => {
  const rfc = JSON.parse(read('rfc8785-examples.json').toString('utf8')) as Record<string, unknown>;

  it('§3.2.2–3.2.4: the sample input gives the published canonical text and UTF-8 bytes', () => {
    const input = JSON.parse(rfc.section_3_2_2_input as string);
    expect(JSON.stringify(input)).toBe(rfc.section_3_2_2_es6_json_stringify_output);
    expect(canonicalJson(input)).toBe(rfc.section_3_2_3_canonical_output);
    expect(canonicalBytes(input).toString('hex')).toBe(rfc.section_3_2_4_utf8_hex);
  });

  it('§3.2.3: members are sorted by UTF-16 code units', () => {
    const input = JSON.parse(rfc.section_3_2_3_sorting_test_input as string) as Record<string, string>;
    const output = canonicalJson(input);
    // Read the values in text order: JSON.parse would move the integer-like key "1" first.
    const valueOrder = [...output.matchAll(/:"([^"]*)"/g)].map((m) => m[1]);
    expect(valueOrder).toEqual(rfc.section_3_2_3_sorting_expected_value_order);
    expect(output).toBe(rfc.section_3_2_3_sorting_expected_canonical_output_computed);
    const illustration = rfc.section_3_2_3_sorting_order_illustration as string[];
    const shuffled = Object.fromEntries([...illustration].reverse().map((k) => [k, 0]));
    expect(Object.keys(JSON.parse(canonicalJson(shuffled)))).toEqual(illustration);
  });
});

describe('RFC 8785 Appendix B number table', () => {
  const table = JSON.parse(read('rfc8785-appendix-b-numbers.json').toString('utf8')) as {
    rows: { ieee754_hex: string; json: string | null; comment: string | null; expect_error: boolean }[];
  };

  it('has 26 rows', () => {
    expect(table.rows).toHaveLength(26);
  });

  it.each(table.rows)('$ieee754_hex → $json', (row) => {
    const value = doubleFromHex(row.ieee754_hex);
    if (row.expect_error) {
      expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
      expect(() => canonicalJson({ n: [value] })).toThrow(/\$\.n\[0\]: .* is not a JSON number/);
    } else {
      expect(canonicalJson(value)).toBe(row.json);
      expect(canonicalJson([value])).toBe(`[${row.json}]`);
    }
  });
});

describe('ES6 number serialization file samples', () => {
  it.each(['es6testfile-first1000.txt', 'es6testfile-lines2169-2368.txt'])('%s', (file) => {
    const lines = read(file).toString('utf8').split('\n').filter(Boolean);
    expect(lines.length).toBe(file.includes('first1000') ? 1000 : 200);
    const mismatches: string[] = [];
    for (const line of lines) {
      const [hex, expected] = line.split(',') as [string, string];
      const got = canonicalJson(doubleFromHex(hex));
      if (got !== expected) mismatches.push(`${hex}: expected ${expected}, got ${got}`);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('values JCS cannot represent', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = { back: cyclic };
  const holey: number[] = new Array(3);
  holey[0] = 1;
  holey[2] = 3;
  let deep: unknown = 0;
  for (let i = 0; i < 600; i++) deep = [deep];

  it.each([
    { what: 'NaN', value: Number.NaN, message: /\$: NaN is not a JSON number/ },
    { what: 'Infinity', value: { a: { b: Number.POSITIVE_INFINITY } }, message: /\$\.a\.b: Infinity/ },
    { what: '-Infinity in an array', value: [1, Number.NEGATIVE_INFINITY], message: /\$\[1\]: -Infinity/ },
    { what: 'BigInt', value: { amount: 10n }, message: /\$\.amount: BigInt is not a JSON number/ },
    { what: 'top-level undefined', value: undefined, message: /\$: undefined is not a JSON value/ },
    { what: 'undefined in an array', value: [undefined], message: /\$\[0\]: undefined/ },
    { what: 'a function', value: { f: () => 1 }, message: /\$\.f: a function/ },
    { what: 'a symbol', value: [Symbol('s')], message: /\$\[0\]: a symbol/ },
    { what: 'an array hole', value: holey, message: /\$\[1\]: arrays must not have holes/ },
    { what: 'a cycle', value: cyclic, message: /\$\.self\.back: the value contains a cycle/ },
    { what: 'a Map', value: { m: new Map([[1, 2]]) }, message: /\$\.m: a Map is not a plain object/ },
    { what: 'a class instance', value: new Point(1, 2), message: /a Point is not a plain object/ },
    { what: 'a lone surrogate', value: { s: 'a\uD800b' }, message: /\$\.s: .*unpaired/ },
    { what: 'a lone surrogate in a key', value: { '\uDC00': 1 }, message: /\$\["\\udc00"\]: .*unpaired/ },
    { what: 'too deep nesting', value: deep, message: /nested deeper than 500 levels/ },
  ])('refuses $what with its path', ({ value, message }) => {
    expect(() => canonicalJson(value)).toThrow(CanonicalJsonError);
    expect(() => canonicalJson(value)).toThrow(message);
    // The size bound walks the same way and refuses the same values at the same place.
    expect(() => canonicalSizeBound(value)).toThrow(message);
  });
});

describe('accepted values', () => {
  it('leaves out undefined properties, serializes toJSON results and shared references', () => {
    const shared = { z: 1 };
    const nullProto = Object.assign(Object.create(null) as object, { b: 2, a: 1 });
    expect(canonicalJson({ b: undefined, a: 1 })).toBe('{"a":1}');
    expect(canonicalJson({ at: new Date(Date.UTC(2025, 0, 2, 3, 4, 5)) })).toBe(
      '{"at":"2025-01-02T03:04:05.000Z"}',
    );
    expect(canonicalJson([shared, shared])).toBe('[{"z":1},{"z":1}]');
    expect(canonicalJson(nullProto)).toBe('{"a":1,"b":2}');
    expect(canonicalJson(-0)).toBe('0');
    expect(canonicalJson('😀\u000f')).toBe('"😀\\u000f"');
  });

  it('gives canonicalize’s text for objects in order, out of order and mixed, never reordering its input', () => {
    const at = new Date(Date.UTC(2025, 0, 2, 3, 4, 5));
    const cases: unknown[] = [
      { a: 1, b: { c: [1, 'x', null], d: true }, e: 'z' }, // all in order
      { a: 1, b: undefined, c: 2 }, // in order, an undefined member in the middle
      { a: undefined, b: { d: 1, c: 2 }, e: [at, 3] }, // an unordered child, a toJSON value in an array
      { a: [{ y: 1, x: 2 }], b: at, c: { z: undefined } }, // a change in the first member
      Object.assign(Object.create(null) as object, { a: { b: 1 }, c: 2 }),
      [[{ a: 1 }], [{ c: 1, b: 2 }], at],
    ];
    for (const value of cases) {
      const before = JSON.stringify(value);
      expect(canonicalJson(value)).toBe(canonicalize(value));
      expect(JSON.stringify(value)).toBe(before); // the input is never reordered in place
    }
  });

  it('is independent of member order and stable under re-parsing', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
        const reversed = JSON.parse(JSON.stringify(value), (_key, v) =>
          v !== null && typeof v === 'object' && !Array.isArray(v)
            ? Object.fromEntries(Object.entries(v).reverse())
            : v,
        );
        expect(canonicalJson(reversed)).toBe(text);
      }),
      { numRuns: 300 },
    );
  });
});

describe('against the canonicalize package', () => {
  // Full Unicode strings (astral characters, controls, quotes) as values and as keys.
  const text = fc.string({ unit: 'grapheme', maxLength: 12 });
  const json = fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small' },
      text,
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(tie('value'), { maxLength: 5 }),
      fc.dictionary(text, tie('value'), { maxKeys: 6 }),
    ),
  })).value;

  it('bounds the UTF-8 size of the canonical text from above, without building it', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalSizeBound(value)).toBeGreaterThanOrEqual(Buffer.byteLength(canonicalJson(value)));
      }),
      { numRuns: 2000 },
    );
    expect(canonicalSizeBound({ c: '\u0001'.repeat(10) })).toBeGreaterThanOrEqual(
      Buffer.byteLength(canonicalJson({ c: '\u0001'.repeat(10) })),
    );
  });

  it('orders integer-like keys and a "__proto__" key by code units, not as objects enumerate them', () => {
    // Objects list "10" and "2" first and in numeric order; JCS wants "10" < "2" < "a".
    const numeric = { b: 1, 10: 2, 2: 3, a: 4 };
    expect(canonicalJson(numeric)).toBe('{"10":2,"2":3,"a":4,"b":1}');
    const proto = JSON.parse('{"z":1,"__proto__":{"x":[1]},"a":2}');
    expect(canonicalJson(proto)).toBe('{"__proto__":{"x":[1]},"a":2,"z":1}');
    for (const v of [numeric, proto, { n: [numeric, { k: proto }] }])
      expect(canonicalJson(v)).toBe(canonicalize(v));
    const digits = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: 'small' },
        fc.integer(),
        fc.array(tie('value'), { maxLength: 3 }),
        fc.dictionary(fc.stringMatching(/^[0-9a-c_]{1,3}$/), tie('value'), { maxKeys: 6 }),
      ),
    })).value;
    fc.assert(
      fc.property(digits, (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('gives the same text for random JSON values', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('docs/audit-verification.md worked example', () => {
  it('gives the documented canonical text and leaf hash', () => {
    const record = {
      seq: 41,
      at: '2025-01-01T00:00:00.000Z',
      action: 'sandbox.create',
      decision: 'allow',
      actor: { type: 'agent', id: 'a1' },
      detail: { note: 'é' },
    };
    expect(canonicalJson(record)).toBe(
      '{"action":"sandbox.create","actor":{"id":"a1","type":"agent"},"at":"2025-01-01T00:00:00.000Z","decision":"allow","detail":{"note":"é"},"seq":41}',
    );
    expect(leafHash(canonicalBytes(record)).toString('hex')).toBe(
      'e186b7d08165dc585a7de7ff14d57cf94ac701a3c81ec961290dbf12b966ae15',
    );
  });
});
