import { createPrivateKey, createPublicKey, generateKeyPairSync, sign } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type SignedTreeHeadJson,
  signTreeHead,
  type TreeHead,
  TreeHeadError,
  treeHeadFromJson,
  treeHeadSignedBytes,
  treeHeadToJson,
  verifyTreeHead,
} from './tree-head.js';

// RFC 8032 §7.1 TEST 1 key pair.
const SEED = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const PUBLIC = Buffer.from('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'hex');
const privateKey = createPrivateKey({
  key: { kty: 'OKP', crv: 'Ed25519', d: SEED.toString('base64url'), x: PUBLIC.toString('base64url') },
  format: 'jwk',
});
const publicKey = createPublicKey(privateKey);

// The root of the first seven leaves of test/vectors/merkle/tree.json.
const ROOT7 = Buffer.from('ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c', 'hex');
const head: TreeHead = { logId: 'tenant-a', treeSize: 7, timestamp: 1_735_689_600_000, rootHash: ROOT7 };

// The worked example of docs/audit-verification.md; also checked with `openssl pkeyutl -verify`.
const SIGNED_BYTES_HEX =
  '00' + // version v1
  '01' + // signature_type tree_hash
  '000001941f297c00' + // timestamp 2025-01-01T00:00:00Z in ms
  '0000000000000007' + // tree_size
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c' + // sha256_root_hash
  '0008' + // log id length
  '74656e616e742d61'; // 'tenant-a'
const SIGNATURE_HEX =
  '2a883c46ebdd6889cf912b3638a0e216c69432c11745242a5522525dc6ec90e1' +
  '18a58a51d166f0c4a886264f35541bf316ee18c8cb2289cf59cda796c672660a';

describe('tree head signed bytes', () => {
  it('imports the RFC 8032 key correctly (TEST 1 signature of the empty message)', () => {
    expect(sign(null, Buffer.alloc(0), privateKey).toString('hex')).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('lays out the RFC 6962 TreeHeadSignature then the length-prefixed log id', () => {
    expect(treeHeadSignedBytes(head).toString('hex')).toBe(SIGNED_BYTES_HEX);
  });

  it('signs the documented example deterministically', () => {
    expect(signTreeHead(privateKey, head).toString('hex')).toBe(SIGNATURE_HEX);
  });

  it('encodes sizes and timestamps above 2^32 as full uint64 and log ids as UTF-8 bytes', () => {
    const bytes = treeHeadSignedBytes({
      logId: 'tenant-é',
      treeSize: 2 ** 53 - 1,
      timestamp: 2 ** 40 + 1,
      rootHash: ROOT7,
    });
    expect(bytes.readBigUInt64BE(2)).toBe(2n ** 40n + 1n);
    expect(bytes.readBigUInt64BE(10)).toBe(2n ** 53n - 1n);
    expect(bytes.readUInt16BE(50)).toBe(9);
    expect(bytes.subarray(52).toString('utf8')).toBe('tenant-é');
  });

  it.each([
    { what: 'an empty log id', change: { logId: '' }, message: /logId must be a non-empty string/ },
    { what: 'an unpaired surrogate', change: { logId: 'a\uD800' }, message: /unpaired surrogates/ },
    { what: 'a log id over 65535 bytes', change: { logId: 'x'.repeat(65_536) }, message: /at most 65535/ },
    { what: 'a negative size', change: { treeSize: -1 }, message: /treeSize must be an integer/ },
    { what: 'a fractional timestamp', change: { timestamp: 1.5 }, message: /timestamp must be an integer/ },
    { what: 'an unsafe size', change: { treeSize: 2 ** 53 }, message: /treeSize must be an integer/ },
    {
      what: 'a short root hash',
      change: { rootHash: ROOT7.subarray(1) },
      message: /rootHash must be 32 bytes/,
    },
  ])('refuses $what', ({ change, message }) => {
    expect(() => treeHeadSignedBytes({ ...head, ...change })).toThrow(TreeHeadError);
    expect(() => treeHeadSignedBytes({ ...head, ...change })).toThrow(message);
  });
});

describe('signing and verifying', () => {
  const signature = signTreeHead(privateKey, head);

  it('verifies a head it signed', () => {
    expect(verifyTreeHead(publicKey, head, signature)).toEqual({ ok: true });
  });

  it.each([
    { field: 'logId', change: { logId: 'tenant-b' } },
    { field: 'treeSize', change: { treeSize: 8 } },
    { field: 'timestamp', change: { timestamp: head.timestamp + 1 } },
    { field: 'rootHash', change: { rootHash: Buffer.concat([ROOT7.subarray(0, 31), Buffer.from([0x8d])]) } },
  ])('refuses the signature when $field changes', ({ change }) => {
    expect(verifyTreeHead(publicKey, { ...head, ...change }, signature)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses any flipped bit of the signature', () => {
    fc.assert(
      fc.property(fc.nat({ max: 63 }), fc.nat({ max: 7 }), (byte, bit) => {
        const mutated = Buffer.from(signature);
        mutated[byte]! ^= 1 << bit;
        expect(verifyTreeHead(publicKey, head, mutated).ok).toBe(false);
      }),
    );
  });

  it('refuses a head of one tenant presented as another tenant’s, even with look-alike ids', () => {
    const a = { ...head, logId: 'tenant-1' };
    const sigA = signTreeHead(privateKey, a);
    for (const logId of ['tenant-10', 'tenant-', 'Tenant-1', 'tenant-1\u0000', 'tenant-1 ']) {
      expect(verifyTreeHead(publicKey, { ...a, logId }, sigA).ok).toBe(false);
    }
  });

  it('refuses another key, a private key in place of the public one, and a short signature', () => {
    const other = generateKeyPairSync('ed25519');
    expect(verifyTreeHead(other.publicKey, head, signature)).toMatchObject({ reason: 'bad_signature' });
    expect(verifyTreeHead(privateKey, head, signature)).toMatchObject({ reason: 'wrong_key_type' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => signTreeHead(rsa.privateKey, head)).toThrow(/Ed25519 private key/);
    expect(verifyTreeHead(publicKey, head, signature.subarray(1))).toMatchObject({
      reason: 'malformed_tree_head',
    });
    expect(verifyTreeHead(publicKey, { ...head, treeSize: -1 }, signature)).toMatchObject({
      reason: 'malformed_tree_head',
    });
  });
});

describe('JSON form', () => {
  const signature = signTreeHead(privateKey, head);
  const json = treeHeadToJson(head, signature);

  it('uses the RFC 6962 §4.3 field names plus log_id', () => {
    expect(json).toEqual({
      log_id: 'tenant-a',
      tree_size: 7,
      timestamp: 1_735_689_600_000,
      sha256_root_hash: ROOT7.toString('base64'),
      tree_head_signature: Buffer.from(SIGNATURE_HEX, 'hex').toString('base64'),
    });
  });

  it('round-trips through JSON text and still verifies', () => {
    const parsed = treeHeadFromJson(JSON.parse(JSON.stringify(json)));
    expect(verifyTreeHead(publicKey, parsed.head, parsed.signature)).toEqual({ ok: true });
  });

  it.each([
    { what: 'a non-object', input: [] as unknown, message: /must be a JSON object/ },
    { what: 'a missing log_id', input: { ...json, log_id: undefined }, message: /log_id must be a string/ },
    { what: 'a string size', input: { ...json, tree_size: '7' }, message: /tree_size must be an integer/ },
    {
      what: 'a root hash with junk characters',
      input: { ...json, sha256_root_hash: `!${json.sha256_root_hash}` },
      message: /sha256_root_hash must be the standard base64 of 32 bytes/,
    },
    {
      what: 'a url-safe base64 signature',
      input: { ...json, tree_head_signature: Buffer.from(SIGNATURE_HEX, 'hex').toString('base64url') },
      message: /tree_head_signature must be the standard base64 of 64 bytes/,
    },
  ])('refuses $what', ({ input, message }) => {
    expect(() => treeHeadFromJson(input as SignedTreeHeadJson)).toThrow(message);
  });
});
