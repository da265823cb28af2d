import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addFirstPartyCaveat,
  bindDischargeSignature,
  computeMacaroonSignature,
  createMacaroon,
  decodeMacaroon,
  decodeMacaroonText,
  deriveMacaroonKey,
  encodeMacaroon,
  MAX_CAVEATS,
  MAX_MACAROON_BYTES,
  type Macaroon,
  MacaroonError,
  macaroonSignatureChain,
  serializeMacaroon,
  verifyMacaroonSignature,
} from './macaroon.js';

// ─── the vectors (test/vectors/macaroons, copied unchanged from shared/vectors) ────────────────────────

const VECTORS = new URL('../../../test/vectors/macaroons/macaroons-v2.json', import.meta.url);

interface DecodedVector {
  location: string | null;
  identifier: string;
  identifier_hex: string;
  caveats: { identifier: string; identifier_hex: string; location: string | null; vid_hex?: string }[];
  signature_hex: string;
}

interface Vector {
  id: string;
  expected_outcome?: string;
  root_key_utf8: string;
  verifier_exact_predicates?: string[];
  serialized_b64url?: string;
  serialized_b64std?: string;
  binary_hex: string;
  decoded: DecodedVector;
  third_party_caveat_key_utf8?: string;
  computed: {
    derived_root_key_hex?: string;
    signature_chain_hex: string[];
    vid_decrypts_to_derived_caveat_key_hex?: string;
    third_party_caveat_key_derived_hex_from_vid?: string;
    discharge_unbound_signature_hex?: string;
    discharge_bound_signature_hex?: string;
  };
  discharge?: { serialized_b64std: string; binary_hex: string; decoded: DecodedVector };
}

interface SerializationSet {
  id: string;
  root_key_utf8_assumed: string;
  v2_file_value: string;
  v2_binary_hex: string;
  v2j_json: string;
  decoded: DecodedVector;
}

const file = JSON.parse(readFileSync(VECTORS, 'utf8')) as {
  vectors: Vector[];
  serialization_sets: SerializationSet[];
};
const vectors = file.vectors;

function expectDecodedLike(m: Macaroon, d: DecodedVector): void {
  expect(m.location).toBe(d.location ?? undefined);
  expect(m.identifier.toString('hex')).toBe(d.identifier_hex);
  expect(m.caveats).toHaveLength(d.caveats.length);
  d.caveats.forEach((c, i) => {
    const got = m.caveats[i]!;
    expect(got.identifier.toString('hex')).toBe(c.identifier_hex);
    expect(got.location).toBe(c.location ?? undefined);
    expect(got.vid?.toString('hex')).toBe(c.vid_hex);
  });
  expect(m.signature.toString('hex')).toBe(d.signature_hex);
}

/** libmacaroons' exact-predicate verifier, as the .vtest files use it. */
function authorizedByExactPredicates(m: Macaroon, rootKey: string, predicates: string[]): boolean {
  if (!verifyMacaroonSignature(m, deriveMacaroonKey(Buffer.from(rootKey)))) return false;
  return m.caveats.every((c) => c.vid === undefined && predicates.includes(c.identifier.toString('utf8')));
}

describe('libmacaroons v2 vectors', () => {
  it('has all ten vectors and three serialization sets', () => {
    expect(vectors).toHaveLength(10);
    expect(file.serialization_sets).toHaveLength(3);
  });

  describe.each(vectors.map((v) => [v.id, v] as const))('%s', (_id, v) => {
    const text = v.serialized_b64url ?? v.serialized_b64std!;

    it('decodes to the published fields', () => {
      expectDecodedLike(decodeMacaroon(text), v.decoded);
      expectDecodedLike(decodeMacaroon(Buffer.from(v.binary_hex, 'hex')), v.decoded);
      if (v.serialized_b64std) expectDecodedLike(decodeMacaroon(v.serialized_b64std), v.decoded);
    });

    it('re-encodes byte for byte', () => {
      const m = decodeMacaroon(text);
      expect(encodeMacaroon(m).toString('hex')).toBe(v.binary_hex);
      if (v.serialized_b64url) expect(serializeMacaroon(m)).toBe(v.serialized_b64url);
    });

    it('reproduces the signature chain', () => {
      const key = deriveMacaroonKey(Buffer.from(v.root_key_utf8));
      if (v.computed.derived_root_key_hex) expect(key.toString('hex')).toBe(v.computed.derived_root_key_hex);
      const m = decodeMacaroon(text);
      const chain = macaroonSignatureChain(key, m).map((s) => s.toString('hex'));
      expect(chain).toEqual(v.computed.signature_chain_hex);
      // root_v2_2 is signed with another key than the one it is checked with.
      const genuine = v.expected_outcome !== 'unauthorized' || v.id.endsWith('root_v2_2') === false;
      expect(verifyMacaroonSignature(m, key)).toBe(genuine);
    });

    if (v.verifier_exact_predicates && v.expected_outcome && !v.discharge) {
      it(`is ${v.expected_outcome} by the exact-predicate verifier`, () => {
        const m = decodeMacaroon(text);
        const ok = authorizedByExactPredicates(m, v.root_key_utf8, v.verifier_exact_predicates!);
        expect(ok).toBe(v.expected_outcome === 'authorized');
      });
    }
  });

  it('derives the third-party caveat key as the vid plaintext says (go-macaroon example)', () => {
    const v = vectors.find((x) => x.third_party_caveat_key_utf8)!;
    const derived = deriveMacaroonKey(Buffer.from(v.third_party_caveat_key_utf8!));
    expect(derived.toString('hex')).toBe(v.computed.vid_decrypts_to_derived_caveat_key_hex);
  });

  it('verifies the pymacaroons discharge and its binding to the primary', () => {
    const v = vectors.find((x) => x.discharge)!;
    const primary = decodeMacaroon(v.serialized_b64std!);
    const discharge = decodeMacaroon(v.discharge!.serialized_b64std);
    expectDecodedLike(discharge, v.discharge!.decoded);
    expect(encodeMacaroon(discharge).toString('hex')).toBe(v.discharge!.binary_hex);
    const caveatKey = Buffer.from(v.computed.third_party_caveat_key_derived_hex_from_vid!, 'hex');
    const unbound = computeMacaroonSignature(caveatKey, discharge);
    expect(unbound.toString('hex')).toBe(v.computed.discharge_unbound_signature_hex);
    const bound = bindDischargeSignature(primary.signature, unbound);
    expect(bound.toString('hex')).toBe(v.computed.discharge_bound_signature_hex);
    expect(bound.equals(discharge.signature)).toBe(true);
  });

  describe.each(file.serialization_sets.map((s) => [s.id, s] as const))('%s', (_id, s) => {
    it('decodes the padded v2 value to the v2j fields, re-encodes it and verifies', () => {
      const m = decodeMacaroon(s.v2_file_value);
      expectDecodedLike(m, s.decoded);
      const json = JSON.parse(s.v2j_json) as { l: string; i: string; c: { i: string }[]; s64: string };
      expect(m.location).toBe(json.l);
      expect(m.identifier.toString()).toBe(json.i);
      expect(m.caveats.map((c) => c.identifier.toString())).toEqual(json.c.map((c) => c.i));
      expect(m.signature.toString('base64url')).toBe(json.s64);
      expect(encodeMacaroon(m).toString('hex')).toBe(s.v2_binary_hex);
      expect(verifyMacaroonSignature(m, deriveMacaroonKey(Buffer.from(s.root_key_utf8_assumed)))).toBe(true);
    });
  });

  it('builds caveat_v2_4 byte for byte with createMacaroon and addFirstPartyCaveat', () => {
    const v = vectors.find((x) => x.id === 'libmacaroons/caveat_v2_4')!;
    let m = createMacaroon({
      rootKey: Buffer.from(v.root_key_utf8),
      identifier: 'keyid',
      location: 'http://example.org/',
    });
    m = addFirstPartyCaveat(m, 'account = 3735928559');
    m = addFirstPartyCaveat(m, 'user = alice');
    expect(serializeMacaroon(m)).toBe(v.serialized_b64url);
  });
});

// ─── base64 text forms ───────────────────────────────────────────────────────────────────────────────

describe('text forms', () => {
  const v = vectors.find((x) => x.id === 'libmacaroons/caveat_v2_1')!;
  const bytes = Buffer.from(v.binary_hex, 'hex');

  it('accepts url-safe and standard base64, with or without padding', () => {
    for (const text of [
      bytes.toString('base64url'),
      bytes.toString('base64'),
      bytes.toString('base64').replace(/=+$/, ''),
      bytes.toString('base64url') + '='.repeat((4 - (bytes.toString('base64url').length % 4)) % 4),
    ]) {
      expect(decodeMacaroonText(text).equals(bytes)).toBe(true);
    }
  });

  it.each([
    ['a space inside', (t: string) => `${t.slice(0, 10)} ${t.slice(10)}`],
    ['a newline at the end', (t: string) => `${t}\n`],
    ['a character outside base64', (t: string) => `${t.slice(0, 10)}!${t.slice(11)}`],
    ['padding in the middle', (t: string) => `${t.slice(0, 8)}==${t.slice(8)}`],
    ['too much padding', (t: string) => `${t}===`],
    ['a dangling character', (t: string) => `${t.slice(0, t.length - (t.length % 4))}A`],
    ['nothing', () => ''],
  ])('refuses %s', (_name, mangle) => {
    const err = catchError(() => decodeMacaroonText(mangle(bytes.toString('base64url'))));
    expect(err).toBeInstanceOf(MacaroonError);
    expect((err as MacaroonError).code).toBe('token_malformed');
  });

  it('refuses text longer than the bound before decoding it', () => {
    const err = catchError(() => decodeMacaroonText('A'.repeat(30_000)));
    expect((err as MacaroonError).code).toBe('token_too_large');
  });
});

// ─── bad binary input ────────────────────────────────────────────────────────────────────────────────

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  return undefined;
}

function codeOf(input: string | Uint8Array): string | undefined {
  const err = catchError(() => decodeMacaroon(input));
  if (err === undefined) return undefined;
  if (!(err instanceof MacaroonError)) throw new Error(`not a MacaroonError: ${String(err)}`);
  return err.code;
}

describe('bounded, typed decoding', () => {
  const thirdParty = Buffer.from(vectors.find((x) => x.third_party_caveat_key_utf8)!.binary_hex, 'hex');

  it('refuses every truncation of a valid macaroon with token_malformed', () => {
    for (let n = 0; n < thirdParty.length; n++) {
      expect(codeOf(thirdParty.subarray(0, n))).toBe('token_malformed');
      if (n > 0) expect(codeOf(thirdParty.subarray(0, n).toString('base64url'))).toBe('token_malformed');
    }
  });

  it('never throws anything but MacaroonError on random bytes or random mutations', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        codeOf(bytes);
        codeOf(Buffer.from([2, ...bytes]));
      }),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.nat(thirdParty.length - 1), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const copy = Buffer.from(thirdParty);
        copy[at] = byte;
        codeOf(copy);
      }),
      { numRuns: 3000 },
    );
  });

  it.each([
    ['a v1 (hex text) macaroon', '303032316c6f636174696f6e'],
    ['a wrong version byte', '03'],
    ['bytes after the signature', `${thirdParty.toString('hex')}00`],
    ['a 31-byte signature', '0202016b00000' + '61f' + '00'.repeat(31)],
    ['an unknown field type', '0202016b0003016100000620' + '00'.repeat(32)],
    ['a length varint that is not minimal', '020281006b0000' + '0620' + '00'.repeat(32)],
    ['a length past the end', '02027f6b'],
    ['no identifier', '0200000620' + '00'.repeat(32)],
    ['a caveat without identifier', '0202016b00000000' + '0620' + '00'.repeat(32)],
    ['a location that is not UTF-8', '0101ff02016b00000620' + '00'.repeat(32)],
  ])('refuses %s with token_malformed', (_name, hex) => {
    expect(codeOf(Buffer.from(hex, 'hex'))).toBe('token_malformed');
  });

  it('refuses more than MAX_CAVEATS caveats and more than MAX_MACAROON_BYTES with token_too_large', () => {
    const many = {
      location: undefined,
      identifier: Buffer.from('id'),
      caveats: Array.from({ length: MAX_CAVEATS + 1 }, () => ({
        identifier: Buffer.from('c'),
        location: undefined,
        vid: undefined,
      })),
      signature: Buffer.alloc(32),
    };
    expect((catchError(() => encodeMacaroon(many)) as MacaroonError).code).toBe('token_too_large');
    const hand = Buffer.concat([
      Buffer.from('0202026964 00'.replace(' ', ''), 'hex'),
      Buffer.from('020163 00'.replace(' ', '').repeat(MAX_CAVEATS + 1), 'hex'),
      Buffer.from(`000620${'00'.repeat(32)}`, 'hex'),
    ]);
    expect(codeOf(hand)).toBe('token_too_large');
    expect(codeOf(Buffer.alloc(MAX_MACAROON_BYTES + 1, 2))).toBe('token_too_large');
    const big = {
      ...many,
      caveats: [{ identifier: Buffer.alloc(MAX_MACAROON_BYTES), location: undefined, vid: undefined }],
    };
    expect((catchError(() => encodeMacaroon(big)) as MacaroonError).code).toBe('token_too_large');
    let m = createMacaroon({ rootKey: Buffer.from('k'), identifier: 'id' });
    for (let i = 0; i < MAX_CAVEATS; i++) m = addFirstPartyCaveat(m, `c${i}`);
    expect(decodeMacaroon(serializeMacaroon(m)).caveats).toHaveLength(MAX_CAVEATS);
    expect((catchError(() => addFirstPartyCaveat(m, 'one more')) as MacaroonError).code).toBe(
      'token_too_large',
    );
  });

  it('round-trips arbitrary macaroons, keeping present-but-empty locations', () => {
    const bytes = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b));
    const caveat = fc.record({
      identifier: bytes,
      location: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
      vid: fc.option(bytes, { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.record({
          location: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
          identifier: bytes,
          caveats: fc.array(caveat, { maxLength: 8 }),
          signature: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b)),
        }),
        (m) => {
          const encoded = encodeMacaroon(m);
          const back = decodeMacaroon(encoded.toString('base64url'));
          expect(back.location).toBe(m.location);
          expect(back.caveats.map((c) => c.location)).toEqual(m.caveats.map((c) => c.location));
          expect(encodeMacaroon(back).equals(encoded)).toBe(true);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('signatures', () => {
  it('changes with every byte of the identifier, caveats and signature (tampering is detected)', () => {
    const rootKey = Buffer.from('this is the key');
    const key = deriveMacaroonKey(rootKey);
    const m = addFirstPartyCaveat(
      addFirstPartyCaveat(createMacaroon({ rootKey, identifier: 'keyid' }), 'account = 3735928559'),
      'user = alice',
    );
    const encoded = encodeMacaroon(m);
    let decodedTampers = 0;
    for (let at = 0; at < encoded.length; at++) {
      for (const flip of [0x01, 0x80]) {
        const copy = Buffer.from(encoded);
        copy[at] = copy[at]! ^ flip;
        let tampered: Macaroon;
        try {
          tampered = decodeMacaroon(copy);
        } catch (err) {
          expect(err).toBeInstanceOf(MacaroonError);
          continue;
        }
        decodedTampers++;
        expect(verifyMacaroonSignature(tampered, key)).toBe(false);
      }
    }
    expect(decodedTampers).toBeGreaterThan(60);
  });

  it('does not sign the location (a macaroon property, so Warden never decides anything on it)', () => {
    const rootKey = Buffer.from('this is the key');
    const m = createMacaroon({ rootKey, identifier: 'keyid', location: 'https://a.example' });
    const moved = decodeMacaroon(serializeMacaroon({ ...m, location: 'https://b.example' }));
    expect(verifyMacaroonSignature(moved, deriveMacaroonKey(rootKey))).toBe(true);
  });

  it('treats a caveat with a vid as third-party in the chain', () => {
    const rootKey = Buffer.from('k');
    const base = createMacaroon({ rootKey, identifier: 'id' });
    const vid = Buffer.alloc(72, 7);
    const m: Macaroon = {
      ...base,
      caveats: [{ identifier: Buffer.from('tp'), location: 'https://tp', vid }],
    };
    const withVid = computeMacaroonSignature(deriveMacaroonKey(rootKey), m);
    const firstParty = addFirstPartyCaveat(base, 'tp').signature;
    expect(withVid.equals(firstParty)).toBe(false);
  });
});

// ─── the npm `macaroon` package reads what we write and we read what it writes ──────────────────────

interface NpmMacaroon {
  addFirstPartyCaveat(id: string | Uint8Array): void;
  addThirdPartyCaveat(rootKey: Uint8Array, id: string | Uint8Array, location: string): void;
  verify(rootKey: Uint8Array, check: (cond: string) => string | null, discharges?: NpmMacaroon[]): void;
  exportBinary(): Uint8Array;
  exportJSON(): NpmJsonV2;
  readonly signature: Uint8Array;
}
interface NpmJsonV2 {
  v: 2;
  l?: string;
  i?: string;
  i64?: string;
  s64: string;
  c?: { i?: string; i64?: string; l?: string; v?: string; v64?: string }[];
}
const npm = createRequire(import.meta.url)('macaroon') as {
  newMacaroon(p: {
    identifier: string | Uint8Array;
    location?: string;
    rootKey: Uint8Array;
    version?: number;
  }): NpmMacaroon;
  importMacaroon(text: string | Uint8Array): NpmMacaroon;
};

/**
 * The package's v2 JSON export, field for field (libmacaroons doc/format.txt names). Needed because its
 * binary exporter (3.0.4) doubles its buffer on every field it appends, so it can only export macaroons
 * of about twenty fields; past that it throws a RangeError.
 */
function fromNpmJson(j: NpmJsonV2): Macaroon {
  const bytes = (text: string | undefined, b64: string | undefined): Buffer =>
    text !== undefined ? Buffer.from(text, 'utf8') : Buffer.from(b64 ?? '', 'base64');
  return {
    location: j.l || undefined,
    identifier: bytes(j.i, j.i64),
    caveats: (j.c ?? []).map((c) => ({
      identifier: bytes(c.i, c.i64),
      location: c.l || undefined,
      vid: c.v === undefined && c.v64 === undefined ? undefined : bytes(c.v, c.v64),
    })),
    signature: Buffer.from(j.s64, 'base64'),
  };
}

describe('interop with the npm macaroon package (raw macaroons)', () => {
  it('imports ours and verifies it with the same root key', () => {
    const rootKey = Buffer.from('a root key of thirty-two bytes!!');
    let m = createMacaroon({ rootKey, identifier: 'id-1', location: 'https://warden.example' });
    for (const c of ['account = 1', 'user = alice', 'a = 1', 'b = 2', 'c = 3', 'd = 4'])
      m = addFirstPartyCaveat(m, c);
    const theirs = npm.importMacaroon(serializeMacaroon(m));
    const seen: string[] = [];
    theirs.verify(rootKey, (cond) => {
      seen.push(cond);
      return null;
    });
    expect(seen).toEqual(['account = 1', 'user = alice', 'a = 1', 'b = 2', 'c = 3', 'd = 4']);
    expect(() => theirs.verify(Buffer.from('another key'), () => null)).toThrow();
  });

  it('reads their binary export byte for byte and verifies it', () => {
    const rootKey = Buffer.from('their root key');
    const theirs = npm.newMacaroon({ identifier: 'id-2', rootKey, version: 2 });
    theirs.addFirstPartyCaveat('account = 2');
    theirs.addFirstPartyCaveat('user = bob');
    const binary = Buffer.from(theirs.exportBinary());
    const m = decodeMacaroon(binary.toString('base64'));
    expect(m.caveats.map((c) => c.identifier.toString())).toEqual(['account = 2', 'user = bob']);
    expect(verifyMacaroonSignature(m, deriveMacaroonKey(rootKey))).toBe(true);
    expect(encodeMacaroon(m).equals(binary)).toBe(true);
  });

  it('reads theirs with a third-party caveat and reproduces the signature', () => {
    const rootKey = Buffer.from('their root key');
    const theirs = npm.newMacaroon({ identifier: 'id-3', location: 'https://svc', rootKey, version: 2 });
    theirs.addFirstPartyCaveat('account = 2');
    theirs.addThirdPartyCaveat(Buffer.from('caveat key'), 'tp id', 'https://auth');
    theirs.addFirstPartyCaveat('user = bob');
    const m = fromNpmJson(theirs.exportJSON());
    const again = decodeMacaroon(serializeMacaroon(m));
    expect(again.caveats.map((c) => c.vid !== undefined)).toEqual([false, true, false]);
    expect(again.caveats[1]!.location).toBe('https://auth');
    expect(again.caveats[1]!.vid).toHaveLength(72);
    expect(verifyMacaroonSignature(again, deriveMacaroonKey(rootKey))).toBe(true);
    expect(Buffer.from(theirs.signature).equals(again.signature)).toBe(true);
  });
});
