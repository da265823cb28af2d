import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_PARAMS,
  isInnerList,
  parseDictionary,
  parseItem,
  parseList,
  parseParameters,
  type SfBareItem,
  SfDecimal,
  type SfItem,
  type SfMember,
  SfToken,
  StructuredFieldError,
  serializeBareItem,
  serializeDictionary,
  serializeKey,
  serializeList,
  serializeMember,
  serializeString,
} from './structured-fields.js';

describe('parsing what RFC 9421 and RFC 9530 send', () => {
  it('reads a Signature-Input member: an inner list of strings with parameters', () => {
    const d = parseDictionary(
      'sig-b22=("@authority" "content-digest" "@query-param";name="Pet");created=1618884473;keyid="test-key-rsa-pss";tag="header-example"',
    );
    const m = d.get('sig-b22')!;
    expect(isInnerList(m)).toBe(true);
    if (!isInnerList(m)) return;
    expect(m.items.map((i) => i.value)).toEqual(['@authority', 'content-digest', '@query-param']);
    expect(m.items[2]!.params.get('name')).toBe('Pet');
    expect([...m.params]).toEqual([
      ['created', 1618884473],
      ['keyid', 'test-key-rsa-pss'],
      ['tag', 'header-example'],
    ]);
  });

  it('reads byte sequences as bytes', () => {
    const d = parseDictionary(
      'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, md5=:Sd/dVLAcvNLSq16eXua5uQ==:',
    );
    const v = (d.get('sha-256') as SfItem).value as Uint8Array;
    expect(Buffer.from(v)).toEqual(createHash('sha256').update('{"hello": "world"}').digest());
    expect([...d.keys()]).toEqual(['sha-256', 'md5']);
  });

  it('reads every bare item type', () => {
    const d = parseDictionary(
      'i=-42, d=3.140, s="a\\"b\\\\c", t=foo/bar:baz, b=:AQID:, y=?1, n=?0, flag;x=1',
    );
    expect((d.get('i') as SfItem).value).toBe(-42);
    expect((d.get('d') as SfItem).value).toEqual(new SfDecimal(3.14));
    expect((d.get('s') as SfItem).value).toBe('a"b\\c');
    expect((d.get('t') as SfItem).value).toEqual(new SfToken('foo/bar:baz'));
    expect([...((d.get('b') as SfItem).value as Uint8Array)]).toEqual([1, 2, 3]);
    expect((d.get('y') as SfItem).value).toBe(true);
    expect((d.get('n') as SfItem).value).toBe(false);
    expect((d.get('flag') as SfItem).value).toBe(true);
    expect((d.get('flag') as SfItem).params.get('x')).toBe(1);
  });

  it('lets a later duplicate key overwrite an earlier one (RFC 8941 §4.2.2)', () => {
    const d = parseDictionary('a=1, b=2, a=3');
    expect([...d].map(([k, v]) => [k, (v as SfItem).value])).toEqual([
      ['a', 3],
      ['b', 2],
    ]);
  });

  it('accepts optional whitespace around members and leading/trailing spaces', () => {
    expect(serializeDictionary(parseDictionary('  a=1 ,\tb=2  '))).toBe('a=1, b=2');
    expect(serializeList(parseList('(a   b   c);x, d'))).toBe('(a b c);x, d');
  });

  it('parses an empty field as an empty dictionary or list', () => {
    expect(parseDictionary('').size).toBe(0);
    expect(parseList('   ').length).toBe(0);
  });

  it('parses parameter strings and quoted items', () => {
    expect([...parseParameters(';key="a";sf')]).toEqual([
      ['key', 'a'],
      ['sf', true],
    ]);
    expect(parseParameters('')).toBe(EMPTY_PARAMS);
    expect(parseItem('"@query-param";name="Pet"').params.get('name')).toBe('Pet');
  });
});

describe('strictness', () => {
  const bad: Array<[string, string]> = [
    ['trailing comma', 'a=1,'],
    ['upper-case key', 'A=1'],
    ['unterminated string', 'a="abc'],
    ['bad escape', 'a="\\n"'],
    ['control character in string', 'a="\u0001"'],
    ['non-ASCII in string', 'a="é"'],
    ['unterminated inner list', 'a=(1 2'],
    ['inner list without separator', 'a=(1"x")'],
    ['unterminated byte sequence', 'a=:AQID'],
    ['invalid base64 character', 'a=:AQ-D:'],
    [
      'over-padded base64 (RFC 9530 B.5 as printed)',
      'sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg==:',
    ],
    ['padding in the middle', 'a=:AQ=D:'],
    ['bad boolean', 'a=?2'],
    ['integer with 16 digits', 'a=1234567890123456'],
    ['decimal with 4 fractional digits', 'a=1.2345'],
    ['decimal with 13 integer digits', 'a=1234567890123.1'],
    ['decimal ending in a dot', 'a=1.'],
    ['bare minus', 'a=-'],
    ['garbage after a member', 'a=1 b=2'],
    ['tab before the first member', '\ta=1'],
  ];
  for (const [why, input] of bad) {
    it(`rejects ${why}`, () => {
      expect(() => parseDictionary(input)).toThrow(StructuredFieldError);
    });
  }

  it('accepts unpadded base64 (RFC 8941 §4.2.7 asks recipients not to fail on it)', () => {
    expect([...((parseItem(':AQI:').value as Uint8Array) ?? [])]).toEqual([1, 2]);
  });

  it('enforces member, inner-list and parameter limits', () => {
    expect(() => parseDictionary('a, b, c', { maxMembers: 2 })).toThrow(/more than 2 members/);
    expect(() => parseList('(a b c)', { maxInnerListItems: 2 })).toThrow(/inner list items/);
    expect(() => parseItem('a;x;y;z', { maxParams: 2 })).toThrow(/parameters/);
    // Duplicates count too, so a repeated key cannot make parsing unbounded.
    expect(() => parseDictionary('a, a, a', { maxMembers: 2 })).toThrow(/more than 2 members/);
  });
});

describe('serialising', () => {
  it('serialises each bare item canonically', () => {
    expect(serializeBareItem(1618884473)).toBe('1618884473');
    expect(serializeBareItem(new SfDecimal(1.5))).toBe('1.5');
    expect(serializeBareItem(new SfDecimal(2))).toBe('2.0');
    expect(serializeBareItem(new SfDecimal(-1.5))).toBe('-1.5');
    // Round half to even at the third fractional digit (exact binary fractions, so no float noise).
    expect(serializeBareItem(new SfDecimal(0.0625))).toBe('0.062');
    expect(serializeBareItem(new SfDecimal(0.1875))).toBe('0.188');
    expect(serializeBareItem(new SfToken('*foo'))).toBe('*foo');
    expect(serializeBareItem(new Uint8Array([1, 2, 3]))).toBe(':AQID:');
    expect(serializeBareItem(false)).toBe('?0');
    expect(serializeString('a"b\\c')).toBe('"a\\"b\\\\c"');
  });

  it('refuses values RFC 8941 cannot carry', () => {
    expect(() => serializeBareItem(1e15)).toThrow(StructuredFieldError);
    expect(() => serializeBareItem(1.5)).toThrow(StructuredFieldError);
    expect(() => serializeString('line\nbreak')).toThrow(StructuredFieldError);
    expect(() => serializeBareItem(new SfToken('1abc'))).toThrow(StructuredFieldError);
    expect(() => serializeKey('Sig')).toThrow(StructuredFieldError);
    expect(() => serializeBareItem(new SfDecimal(1e12))).toThrow(StructuredFieldError);
  });

  it('serialises a dictionary member that is true as its parameters alone', () => {
    expect(serializeDictionary(parseDictionary('a=?1;x=1, b=?0'))).toBe('a;x=1, b=?0');
  });
});

// Generators for round trips: parse(serialize(x)) must give x back, and serialise again identically.
const key = fc.stringMatching(/^[a-z*][a-z0-9_\-.*]{0,8}$/);
const bareItem: fc.Arbitrary<SfBareItem> = fc.oneof(
  fc.integer({ min: -999_999_999_999_999, max: 999_999_999_999_999 }),
  fc.integer({ min: -999_999_999, max: 999_999_999 }).map((n) => new SfDecimal(n / 1000)),
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
  fc.stringMatching(/^[A-Za-z*][A-Za-z0-9!#$%&'*+\-.^_`|~:/]{0,10}$/).map((t) => new SfToken(t)),
  fc.uint8Array({ maxLength: 40 }),
  fc.boolean(),
);
const params = fc
  .uniqueArray(fc.tuple(key, bareItem), { selector: ([k]) => k, maxLength: 4 })
  .map((entries) => new Map(entries));
const item: fc.Arbitrary<SfItem> = fc.record({ value: bareItem, params });
const member: fc.Arbitrary<SfMember> = fc.oneof(
  item,
  fc.record({ items: fc.array(item, { maxLength: 5 }), params }),
);

describe('round trips (property)', () => {
  it('serialize → parse → serialize is stable for dictionaries', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.tuple(key, member), { selector: ([k]) => k, maxLength: 6 }),
        (entries) => {
          const text = serializeDictionary(new Map(entries));
          const reparsed = parseDictionary(text);
          expect(serializeDictionary(reparsed)).toBe(text);
          expect([...reparsed.keys()]).toEqual(entries.map(([k]) => k));
        },
      ),
    );
  });

  it('serialize → parse gives back the same values for lists', () => {
    fc.assert(
      fc.property(fc.array(member, { maxLength: 6 }), (list) => {
        const reparsed = parseList(serializeList(list));
        expect(reparsed.map(serializeMember)).toEqual(list.map(serializeMember));
      }),
    );
  });

  it('never throws anything but StructuredFieldError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        for (const parse of [parseDictionary, parseList, parseItem]) {
          try {
            parse(s);
          } catch (err) {
            expect(err).toBeInstanceOf(StructuredFieldError);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts exactly the byte sequences whose base64 is well formed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const b64 = Buffer.from(bytes).toString('base64');
        expect(Buffer.from(parseItem(`:${b64}:`).value as Uint8Array)).toEqual(Buffer.from(bytes));
        expect(Buffer.from(parseItem(`:${b64.replace(/=+$/, '')}:`).value as Uint8Array)).toEqual(
          Buffer.from(bytes),
        );
        expect(() => parseItem(`:${b64}=:`)).toThrow(StructuredFieldError);
      }),
    );
  });
});
