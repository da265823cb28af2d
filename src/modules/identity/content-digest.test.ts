import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ContentDigestError,
  createContentDigest,
  parseContentDigest,
  verifyContentDigest,
} from './content-digest.js';

const VECTORS = new URL('../../../test/vectors/rfc9530/', import.meta.url);
const read = (name: string) => JSON.parse(readFileSync(new URL(name, VECTORS), 'utf8'));

interface SimpleVector {
  body_hex: string;
  source: string;
  content_digest_sha256: string | null;
  content_digest_sha512: string | null;
}

interface ExampleMember {
  alg: string;
  value_b64: string;
  strict_base64_ok: boolean;
  matches?: boolean;
}

interface Example {
  id: string;
  field: string;
  published_field_value: string;
  field_value_sf_serialized: string;
  /** Absent for the illustrative §2/§3 dictionaries, which digest no single content. */
  digest_input_hex?: string;
  members: ExampleMember[];
}

const simple: SimpleVector[] = read('content-digest.json').vectors;
const examples: Example[] = read('rfc9530-examples.json').examples;
const appendixD = read('rfc9530-examples.json').appendix_d_sample_digest_values as {
  input_hex: string;
  values: Array<{ alg: string; sf_byte_sequence: string }>;
};

describe('RFC 9530 vectors: body → Content-Digest', () => {
  for (const v of simple) {
    const body = Buffer.from(v.body_hex, 'hex');
    for (const [alg, expected] of [
      ['sha-256', v.content_digest_sha256],
      ['sha-512', v.content_digest_sha512],
    ] as const) {
      if (expected === null) continue;
      it(`${alg} of ${JSON.stringify(body.toString('utf8'))} (${v.source})`, () => {
        expect(createContentDigest(body, alg)).toBe(expected);
        expect(verifyContentDigest(expected, body)).toEqual({ ok: true, algorithms: [alg] });
      });
    }
  }

  it('hashes a string body as its UTF-8 bytes and defaults to sha-256', () => {
    expect(createContentDigest('{"hello": "world"}')).toBe(simple[0]!.content_digest_sha256);
    expect(createContentDigest('é')).toBe(createContentDigest(Buffer.from('é', 'utf8')));
  });
});

describe('RFC 9530 vectors: every Content-Digest and Repr-Digest field in §2–3 and Appendices B–C', () => {
  for (const ex of examples) {
    const input = Buffer.from(ex.digest_input_hex ?? '', 'hex');
    const strict = ex.members.every((m) => m.strict_base64_ok);
    const allMatch = ex.members.every((m) => m.matches === true);

    if (!strict) {
      // Documented defect: over-padded base64 (B.5, B.6, B.11, C.1). Our policy is RFC 8941's: reject.
      it(`${ex.id}: rejects the over-padded published value as malformed`, () => {
        expect(() => parseContentDigest(ex.published_field_value)).toThrow(ContentDigestError);
        expect(verifyContentDigest(ex.published_field_value, input)).toMatchObject({
          ok: false,
          code: 'content_digest_invalid',
        });
        // The digest bytes themselves are right: correctly padded, the same field verifies.
        const fixed = ex.published_field_value.replace('FabDg==:', 'FabDg=:');
        expect(verifyContentDigest(fixed, input)).toMatchObject({ ok: true });
      });
      continue;
    }

    if (allMatch) {
      // For B.4/B.6 the JSON holds the corrected brotli bytes (the RFC prints two wrong bytes).
      it(`${ex.id}: ${ex.field} verifies against its content (published and re-serialised forms)`, () => {
        const algs = ex.members.map((m) => m.alg);
        expect(verifyContentDigest(ex.published_field_value, input)).toEqual({ ok: true, algorithms: algs });
        expect(verifyContentDigest(ex.field_value_sf_serialized, input)).toEqual({
          ok: true,
          algorithms: algs,
        });
        const parsed = parseContentDigest(ex.published_field_value);
        for (const m of ex.members) {
          expect(Buffer.from(parsed.get(m.alg)!).toString('base64')).toBe(m.value_b64);
        }
      });
      continue;
    }

    // §2 and §3 two-member examples: the sha-256 member digests the brotli form, the sha-512 member the
    // identity form, so no single content satisfies both, and we check every member we understand.
    it(`${ex.id}: illustrative mixed dictionary parses but fails verification against either content`, () => {
      const parsed = parseContentDigest(ex.published_field_value);
      expect([...parsed.keys()]).toEqual(['sha-256', 'sha-512']);
      const identity = Buffer.from('{"hello": "world"}\n');
      const brotli = Buffer.from(
        examples.find((e) => e.id === 'B.4-response-repr-digest-br')!.digest_input_hex!,
        'hex',
      );
      for (const content of [identity, brotli]) {
        expect(verifyContentDigest(ex.published_field_value, content)).toMatchObject({
          ok: false,
          code: 'content_digest_mismatch',
        });
      }
      expect(verifyContentDigest(ex.published_field_value.split(',')[0]!, brotli)).toMatchObject({
        ok: true,
      });
      const sha512Only = ex.published_field_value.split(',')[1]!;
      expect(verifyContentDigest(sha512Only, identity)).toMatchObject({ ok: true });
    });
  }
});

describe('RFC 9530 Appendix D: sample digest values', () => {
  const input = Buffer.from(appendixD.input_hex, 'hex');
  const all = appendixD.values.map((v) => `${v.alg}=${v.sf_byte_sequence}`).join(', ');

  it('verifies through the active algorithms and ignores the deprecated ones', () => {
    expect(appendixD.values.map((v) => v.alg)).toEqual([
      'sha-512',
      'sha-256',
      'md5',
      'sha',
      'unixsum',
      'unixcksum',
      'adler',
      'crc32c',
    ]);
    expect(verifyContentDigest(all, input)).toEqual({ ok: true, algorithms: ['sha-256', 'sha-512'] });
    expect(parseContentDigest(all).size).toBe(8);
  });

  it('rejects a field that carries only deprecated algorithms', () => {
    const legacy = appendixD.values
      .filter((v) => v.alg !== 'sha-256' && v.alg !== 'sha-512')
      .map((v) => `${v.alg}=${v.sf_byte_sequence}`)
      .join(', ');
    expect(verifyContentDigest(legacy, input)).toMatchObject({
      ok: false,
      code: 'content_digest_unsupported',
    });
  });

  it('reproduces each active value', () => {
    for (const v of appendixD.values.filter((x) => x.alg === 'sha-256' || x.alg === 'sha-512')) {
      expect(createContentDigest(input, v.alg as 'sha-256' | 'sha-512')).toBe(
        `${v.alg}=${v.sf_byte_sequence}`,
      );
    }
  });
});

describe('verification failures', () => {
  const body = Buffer.from('{"hello": "world"}');
  const good = createContentDigest(body);

  it('reports a missing field', () => {
    expect(verifyContentDigest(undefined, body)).toMatchObject({ ok: false, code: 'content_digest_missing' });
    expect(verifyContentDigest([], body)).toMatchObject({ ok: false, code: 'content_digest_missing' });
  });

  it('reports a digest over different content', () => {
    expect(verifyContentDigest(good, Buffer.from('{"hello": "World"}'))).toMatchObject({
      ok: false,
      code: 'content_digest_mismatch',
    });
  });

  it('rejects the field when any understood member is wrong, even if another matches', () => {
    const wrong512 = createContentDigest('something else', 'sha-512');
    expect(verifyContentDigest(`${good}, ${wrong512}`, body)).toMatchObject({
      ok: false,
      code: 'content_digest_mismatch',
    });
  });

  it('treats a missing body as empty content (so a forgotten body cannot pass a non-empty digest)', () => {
    expect(verifyContentDigest(good, undefined)).toMatchObject({
      ok: false,
      code: 'content_digest_mismatch',
    });
    expect(verifyContentDigest(createContentDigest(''), undefined)).toMatchObject({ ok: true });
  });

  it('joins several field lines', () => {
    const other = createContentDigest(body, 'sha-512');
    expect(verifyContentDigest([good, other], body)).toEqual({
      ok: true,
      algorithms: ['sha-256', 'sha-512'],
    });
  });

  it('ignores unknown algorithms whatever their value, but not malformed known ones', () => {
    expect(verifyContentDigest(`${good}, future-alg=token, x=(1 2)`, body)).toMatchObject({ ok: true });
    expect(verifyContentDigest('sha-256="not bytes"', body)).toMatchObject({
      ok: false,
      code: 'content_digest_invalid',
    });
    expect(verifyContentDigest('sha-256=:AAAA:', body)).toMatchObject({
      ok: false,
      code: 'content_digest_invalid',
    });
    expect(verifyContentDigest('SHA-256=:AAAA:', body)).toMatchObject({
      ok: false,
      code: 'content_digest_invalid',
    });
  });

  it('limits the size of the field and the number of members', () => {
    const long = `${good}, ${'x'.repeat(5000)}=:AAAA:`;
    expect(verifyContentDigest(long, body)).toMatchObject({ ok: false, code: 'content_digest_invalid' });
    expect(verifyContentDigest(good, body, { maxHeaderBytes: 10 })).toMatchObject({
      ok: false,
      code: 'content_digest_invalid',
    });
    const many = Array.from({ length: 20 }, (_, i) => `a${i}=:AAAA:`).join(', ');
    expect(verifyContentDigest(`${good}, ${many}`, body)).toMatchObject({
      ok: false,
      code: 'content_digest_invalid',
    });
  });

  it('refuses to create a digest with an unknown algorithm', () => {
    expect(() => createContentDigest(body, 'md5' as 'sha-256')).toThrow(TypeError);
  });
});

describe('properties', () => {
  it('a digest verifies its content and no other', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 2048 }),
        fc.constantFrom('sha-256' as const, 'sha-512' as const),
        fc.nat(),
        (bytes, alg, at) => {
          const header = createContentDigest(bytes, alg);
          expect(verifyContentDigest(header, bytes)).toEqual({ ok: true, algorithms: [alg] });
          const changed = Uint8Array.from(bytes);
          changed[at % changed.length]! ^= 1;
          expect(verifyContentDigest(header, changed)).toMatchObject({
            ok: false,
            code: 'content_digest_mismatch',
          });
        },
      ),
    );
  });
});
