/**
 * Signed tree heads for the per-tenant audit logs.
 *
 * One deployment Ed25519 key signs the heads of every tenant's log, so the signed bytes must name
 * the log: otherwise a head signed for tenant A would verify as a head of tenant B. The signed
 * bytes are the RFC 6962 §3.5 TreeHeadSignature structure followed by the log id:
 *
 *   offset  size  field
 *   0       1     version            0 (v1)
 *   1       1     signature_type     1 (tree_hash)
 *   2       8     timestamp          uint64 big-endian, milliseconds since the Unix epoch
 *   10      8     tree_size          uint64 big-endian
 *   18      32    sha256_root_hash
 *   50      2     log_id length      uint16 big-endian, in bytes
 *   52      n     log_id             UTF-8 (the tenant id)
 *
 * docs/audit-verification.md spells this out for outside verifiers with a worked example.
 */
import { type KeyObject, sign, verify } from 'node:crypto';

const VERSION_V1 = 0;
const SIGNATURE_TYPE_TREE_HASH = 1;
const ROOT_HASH_SIZE = 32;
const ED25519_SIGNATURE_SIZE = 64;
const MAX_LOG_ID_BYTES = 0xffff;
const FIXED_PART = 1 + 1 + 8 + 8 + ROOT_HASH_SIZE + 2;

/** The state of one tenant's log at a moment, as a signed tree head commits to it. */
export interface TreeHead {
  /** The log the head belongs to: the tenant id. */
  readonly logId: string;
  readonly treeSize: number;
  /** Milliseconds since the Unix epoch (UTC). */
  readonly timestamp: number;
  /** RFC 6962 root hash of the first `treeSize` leaves (32 bytes). */
  readonly rootHash: Uint8Array;
}

/**
 * RFC 6962 §4.3 get-sth response shape, plus `log_id`. `tree_head_signature` is the base64 of the
 * raw 64-byte Ed25519 signature (not wrapped in RFC 6962's DigitallySigned structure).
 */
export interface SignedTreeHeadJson {
  log_id: string;
  tree_size: number;
  timestamp: number;
  sha256_root_hash: string;
  tree_head_signature: string;
}

/** A tree head or signed tree head that is malformed. */
export class TreeHeadError extends TypeError {
  override readonly name = 'TreeHeadError';
}

/** Why a signed tree head was refused. */
export type TreeHeadVerifyResult =
  | { ok: true }
  | { ok: false; reason: 'malformed_tree_head' | 'wrong_key_type' | 'bad_signature'; detail: string };

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function requireUint(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new TreeHeadError(`${name} must be an integer from 0 to 2^53-1, got ${String(value)}`);
  }
}

function logIdBytes(logId: unknown): Buffer {
  if (typeof logId !== 'string' || logId.length === 0) {
    throw new TreeHeadError('logId must be a non-empty string');
  }
  // TextEncoder would turn an unpaired surrogate into U+FFFD, letting two ids sign the same bytes.
  if (LONE_SURROGATE.test(logId)) throw new TreeHeadError('logId must not contain unpaired surrogates');
  const bytes = Buffer.from(logId, 'utf8');
  if (bytes.length > MAX_LOG_ID_BYTES) {
    throw new TreeHeadError(`logId must be at most ${MAX_LOG_ID_BYTES} bytes of UTF-8, got ${bytes.length}`);
  }
  return bytes;
}

/**
 * The exact bytes a tree head signature covers (see the file comment for the layout).
 * Throws `TreeHeadError` for a malformed head.
 *
 * @example
 * treeHeadSignedBytes({ logId: 'tenant-1', treeSize: 7, timestamp: 1735689600000, rootHash }).length; // 60
 */
export function treeHeadSignedBytes(head: TreeHead): Buffer {
  requireUint('treeSize', head.treeSize);
  requireUint('timestamp', head.timestamp);
  if (!(head.rootHash instanceof Uint8Array) || head.rootHash.length !== ROOT_HASH_SIZE) {
    throw new TreeHeadError(`rootHash must be ${ROOT_HASH_SIZE} bytes`);
  }
  const id = logIdBytes(head.logId);
  const out = Buffer.alloc(FIXED_PART + id.length);
  let at = out.writeUInt8(VERSION_V1, 0);
  at = out.writeUInt8(SIGNATURE_TYPE_TREE_HASH, at);
  at = out.writeBigUInt64BE(BigInt(head.timestamp), at);
  at = out.writeBigUInt64BE(BigInt(head.treeSize), at);
  out.set(head.rootHash, at);
  at = out.writeUInt16BE(id.length, at + ROOT_HASH_SIZE);
  id.copy(out, at);
  return out;
}

function isEd25519(key: KeyObject, type: 'private' | 'public'): boolean {
  return key.asymmetricKeyType === 'ed25519' && key.type === type;
}

/**
 * Signs a tree head with the deployment's Ed25519 private key; returns the 64-byte signature.
 *
 * @example
 * const signature = signTreeHead(deploymentKey, { logId: tenantId, treeSize, timestamp: clock.now(), rootHash });
 */
export function signTreeHead(privateKey: KeyObject, head: TreeHead): Buffer {
  if (!isEd25519(privateKey, 'private')) {
    throw new TreeHeadError('tree heads are signed with an Ed25519 private key');
  }
  return sign(null, treeHeadSignedBytes(head), privateKey);
}

/**
 * Checks a tree head signature against the deployment's Ed25519 public key. Never throws: a
 * malformed head or signature is a refusal with a reason.
 *
 * @example
 * const result = verifyTreeHead(deploymentPublicKey, head, signature);
 * if (!result.ok) throw new Error(result.detail);
 */
export function verifyTreeHead(
  publicKey: KeyObject,
  head: TreeHead,
  signature: Uint8Array,
): TreeHeadVerifyResult {
  if (!isEd25519(publicKey, 'public')) {
    return {
      ok: false,
      reason: 'wrong_key_type',
      detail: 'tree heads are verified with an Ed25519 public key',
    };
  }
  let bytes: Buffer;
  try {
    bytes = treeHeadSignedBytes(head);
  } catch (error) {
    if (!(error instanceof TreeHeadError)) throw error;
    return { ok: false, reason: 'malformed_tree_head', detail: error.message };
  }
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_SIZE) {
    return {
      ok: false,
      reason: 'malformed_tree_head',
      detail: `signature must be ${ED25519_SIGNATURE_SIZE} bytes`,
    };
  }
  if (!verify(null, bytes, publicKey, signature)) {
    return {
      ok: false,
      reason: 'bad_signature',
      detail: 'the signature does not match this tree head and key',
    };
  }
  return { ok: true };
}

/**
 * The JSON form of a signed tree head (RFC 6962 §4.3 field names, base64 hashes, plus `log_id`).
 *
 * @example
 * reply.send(treeHeadToJson(head, signature));
 */
export function treeHeadToJson(head: TreeHead, signature: Uint8Array): SignedTreeHeadJson {
  treeHeadSignedBytes(head);
  return {
    log_id: head.logId,
    tree_size: head.treeSize,
    timestamp: head.timestamp,
    sha256_root_hash: Buffer.from(head.rootHash).toString('base64'),
    tree_head_signature: Buffer.from(signature).toString('base64'),
  };
}

function strictBase64(name: string, value: unknown, size: number): Buffer {
  if (typeof value !== 'string') throw new TreeHeadError(`${name} must be a base64 string`);
  const bytes = Buffer.from(value, 'base64');
  // Buffer's decoder skips junk characters; only the canonical encoding of `size` bytes is accepted.
  if (bytes.length !== size || bytes.toString('base64') !== value) {
    throw new TreeHeadError(`${name} must be the standard base64 of ${size} bytes`);
  }
  return bytes;
}

/**
 * Parses the JSON form of a signed tree head; throws `TreeHeadError` naming the first bad field.
 * Check the result with `verifyTreeHead`.
 *
 * @example
 * const { head, signature } = treeHeadFromJson(await response.json());
 */
export function treeHeadFromJson(json: unknown): { head: TreeHead; signature: Buffer } {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new TreeHeadError('a signed tree head must be a JSON object');
  }
  const fields = json as Record<string, unknown>;
  requireUint('tree_size', fields.tree_size);
  requireUint('timestamp', fields.timestamp);
  if (typeof fields.log_id !== 'string') throw new TreeHeadError('log_id must be a string');
  const head: TreeHead = {
    logId: fields.log_id,
    treeSize: fields.tree_size,
    timestamp: fields.timestamp,
    rootHash: strictBase64('sha256_root_hash', fields.sha256_root_hash, ROOT_HASH_SIZE),
  };
  logIdBytes(head.logId);
  const signature = strictBase64('tree_head_signature', fields.tree_head_signature, ED25519_SIGNATURE_SIZE);
  return { head, signature };
}
