/**
 * Evidence packages and their verification: pure code, no database, shared by the server's
 * `POST /v1/audit/verify` and the offline `warden audit verify`.
 *
 * A package holds a stretch of one tenant's log: its records (exact leaf bytes), the signed tree
 * heads over that stretch, a consistency proof between each two successive heads, an inclusion
 * proof of every record against the last head, and the public key. Verification trusts nothing in
 * it but the key (pinned with `--key`): it recomputes every leaf hash, walks every proof up to a
 * signed root, checks every signature, and when the package starts at leaf 0 and ends at the last
 * head, recomputes the whole tree and every head's root from the leaves alone. It stops at the
 * first problem and names it: the record (leaf index and id) or the tree head (size), and why.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import { leafHash, MerkleAppender, verifyConsistency, verifyInclusion } from './merkle.js';
import { type SignedTreeHeadJson, treeHeadFromJson, verifyTreeHead } from './tree-head.js';

export const EVIDENCE_FORMAT = 'warden.audit.evidence/v1';

export interface EvidenceRecord {
  leaf_index: number;
  record_id: string;
  status: 'active' | 'expired';
  /** base64 of the exact leaf bytes; null once expired. */
  canonical: string | null;
  /** base64 of the stored leaf hash (what the log says this leaf hashes to). */
  leaf_hash: string | null;
  /** Inclusion proof against the last tree head; null if the log could not produce one. */
  audit_path: string[] | null;
}

export interface EvidencePackage {
  format: typeof EVIDENCE_FORMAT;
  manifest: {
    tenant_id: string;
    exported_at: string;
    /** Leaf range [from_index, to_index) the package covers. */
    from_index: number;
    to_index: number;
    from: string | null;
    to: string | null;
    record_count: number;
    tree_head_count: number;
    /** Heads were thinned to stay bounded (consistency still chains through the kept ones). */
    tree_heads_thinned: boolean;
    /** A page of a longer export: where the whole range ends (absent in single packages). */
    range_to_index?: number;
    /** The next page of the export (GET /v1/audit/export?cursor=…); null on the last page. */
    next_cursor?: string | null;
  };
  public_key: { algorithm: 'Ed25519'; key_id: string; spki_der: string };
  /** Ascending by size; the last is the head every inclusion proof is against. */
  tree_heads: SignedTreeHeadJson[];
  /** One per successive pair of heads (`first` > 0); `proof` null if the log could not produce one. */
  consistency: { first: number; second: number; proof: string[] | null }[];
  records: EvidenceRecord[];
}

export type VerifyReason =
  | 'malformed_package'
  | 'key_mismatch'
  | 'malformed_tree_head'
  | 'bad_signature'
  | 'inconsistent_tree_heads'
  | 'record_missing'
  | 'record_inserted'
  | 'record_reordered'
  | 'payload_altered'
  | 'record_fields_altered'
  | 'not_in_tree'
  | 'root_mismatch'
  | 'log_truncated';

export interface VerifyFailure {
  reason: VerifyReason;
  detail: string;
  leaf_index?: number;
  record_id?: string;
  tree_size?: number;
}

export interface VerifyReport {
  ok: boolean;
  tenant_id: string;
  tree_size: number;
  checked: { records: number; tree_heads: number; consistency_proofs: number; full_root_recomputed: boolean };
  failure?: VerifyFailure;
  warnings: string[];
}

export interface VerifyOptions {
  /** The key the verifier trusts; without it the package's own key is used (and a warning given). */
  publicKey?: KeyObject | undefined;
  /** Extra per-record check (the server compares its query columns with the hashed record). */
  checkRecord?: (record: EvidenceRecord, parsed: Record<string, unknown>) => VerifyFailure | undefined;
  onProgress?: (done: number, total: number, label: string) => void;
  /** Receives the leaf hashes of the records inside the signed tree, in leaf order, once all verify. */
  onLeafHashes?: (fromIndex: number, hashes: readonly Buffer[]) => void;
}

class Stop extends Error {
  constructor(readonly failure: VerifyFailure) {
    super(failure.detail);
  }
}

function b64(value: unknown, what: string, size?: number): Buffer {
  if (typeof value !== 'string')
    throw new Stop({ reason: 'malformed_package', detail: `${what} is not base64 text` });
  const bytes = Buffer.from(value, 'base64');
  if (bytes.toString('base64') !== value || (size !== undefined && bytes.length !== size))
    throw new Stop({
      reason: 'malformed_package',
      detail: `${what} is not the standard base64${size ? ` of ${size} bytes` : ''}`,
    });
  return bytes;
}

/** Parses a public key given as PEM, base64 SPKI DER, or the package/API JSON form. */
export function parsePublicKey(text: string): KeyObject {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const json = JSON.parse(trimmed) as { public_key?: string; spki_der?: string };
    return parsePublicKey(json.public_key ?? json.spki_der ?? '');
  }
  const key = trimmed.startsWith('-----BEGIN')
    ? createPublicKey(trimmed)
    : createPublicKey({ key: Buffer.from(trimmed, 'base64'), format: 'der', type: 'spki' });
  if (key.asymmetricKeyType !== 'ed25519') throw new TypeError('the audit log key is an Ed25519 public key');
  return key;
}

/**
 * Verifies an evidence package; never throws for a bad package, it reports it.
 *
 * @example
 *   const report = verifyEvidence(JSON.parse(readFileSync(file, 'utf8')), { publicKey: pinned });
 *   if (!report.ok) console.error(report.failure);
 */
export function verifyEvidence(input: unknown, options: VerifyOptions = {}): VerifyReport {
  const steps = verification(input, options);
  let step = steps.next();
  while (!step.done) step = steps.next();
  return step.value;
}

/**
 * The same, giving the event loop back every few hundred records (a server verifying a long range
 * must not hold every other request meanwhile).
 */
export async function verifyEvidenceAsync(
  input: unknown,
  options: VerifyOptions = {},
): Promise<VerifyReport> {
  const steps = verification(input, options);
  let step = steps.next();
  while (!step.done) {
    await setImmediate();
    step = steps.next();
  }
  return step.value;
}

/** Items (heads, proofs, records) checked between two yields of a verification. */
const STEP = 256;

function* verification(input: unknown, options: VerifyOptions): Generator<void, VerifyReport> {
  const pkg = input as EvidencePackage;
  const report: VerifyReport = {
    ok: false,
    tenant_id: typeof pkg?.manifest?.tenant_id === 'string' ? pkg.manifest.tenant_id : '',
    tree_size: 0,
    checked: { records: 0, tree_heads: 0, consistency_proofs: 0, full_root_recomputed: false },
    warnings: [],
  };
  try {
    const leaves = yield* run(pkg, options, report);
    report.ok = true;
    options.onLeafHashes?.(pkg.manifest.from_index, leaves);
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    report.failure = err.failure;
  }
  return report;
}

/** Returns the verified leaf hashes of the records inside the signed tree, in leaf order. */
function* run(pkg: EvidencePackage, options: VerifyOptions, report: VerifyReport): Generator<void, Buffer[]> {
  if (
    !pkg ||
    pkg.format !== EVIDENCE_FORMAT ||
    !pkg.manifest ||
    !Array.isArray(pkg.tree_heads) ||
    !Array.isArray(pkg.records) ||
    !Array.isArray(pkg.consistency) ||
    !pkg.public_key
  )
    throw new Stop({ reason: 'malformed_package', detail: `not a ${EVIDENCE_FORMAT} evidence package` });
  const tenantId = pkg.manifest.tenant_id;
  const { from_index: fromIndex, to_index: toIndex } = pkg.manifest;
  if (
    !Number.isSafeInteger(fromIndex) ||
    !Number.isSafeInteger(toIndex) ||
    fromIndex < 0 ||
    toIndex < fromIndex
  )
    throw new Stop({
      reason: 'malformed_package',
      detail: 'manifest from_index/to_index are not a leaf range',
    });

  // 1. The key.
  let packaged: KeyObject;
  try {
    packaged = parsePublicKey(pkg.public_key.spki_der);
  } catch {
    throw new Stop({
      reason: 'malformed_package',
      detail: 'public_key.spki_der is not an Ed25519 public key',
    });
  }
  const key = options.publicKey ?? packaged;
  if (!options.publicKey) {
    report.warnings.push(
      'no --key given: signatures were checked against the key inside the package; pin the deployment key (GET /v1/audit/key) to trust the result',
    );
  } else if (
    !options.publicKey
      .export({ type: 'spki', format: 'der' })
      .equals(packaged.export({ type: 'spki', format: 'der' }))
  ) {
    throw new Stop({
      reason: 'key_mismatch',
      detail: 'the package names a different key than the one given',
    });
  }

  // 2. Tree heads: well formed, this tenant's, ascending, signed.
  const heads: { size: number; root: Buffer; timestamp: number }[] = [];
  const total = pkg.tree_heads.length + pkg.consistency.length + pkg.records.length;
  let done = 0;
  for (const json of pkg.tree_heads) {
    const size = (json as { tree_size?: number })?.tree_size;
    let parsed: ReturnType<typeof treeHeadFromJson>;
    try {
      parsed = treeHeadFromJson(json);
    } catch (err) {
      throw new Stop({ reason: 'malformed_tree_head', detail: (err as Error).message, tree_size: size });
    }
    const { head, signature } = parsed;
    if (head.logId !== tenantId)
      throw new Stop({
        reason: 'malformed_tree_head',
        detail: `the head is for log ${head.logId}, not ${tenantId}`,
        tree_size: head.treeSize,
      });
    const prev = heads[heads.length - 1];
    if (prev && head.treeSize <= prev.size)
      throw new Stop({
        reason: 'malformed_tree_head',
        detail: `heads must ascend by size: ${head.treeSize} after ${prev.size}`,
        tree_size: head.treeSize,
      });
    const v = verifyTreeHead(key, head, signature);
    if (!v.ok)
      throw new Stop({
        reason: v.reason === 'bad_signature' ? 'bad_signature' : 'malformed_tree_head',
        detail: `tree head of size ${head.treeSize}: ${v.detail}`,
        tree_size: head.treeSize,
      });
    heads.push({ size: head.treeSize, root: Buffer.from(head.rootHash), timestamp: head.timestamp });
    report.checked.tree_heads++;
    options.onProgress?.(++done, total, 'tree heads');
    if (done % STEP === 0) yield;
  }
  const last = heads[heads.length - 1];
  if (!last) throw new Stop({ reason: 'malformed_package', detail: 'the package holds no tree head' });
  report.tree_size = last.size;

  // 3. Consistency between successive heads.
  const proofs = new Map(pkg.consistency.map((c) => [`${c.first}/${c.second}`, c.proof]));
  for (let i = 1; i < heads.length; i++) {
    const a = heads[i - 1]!;
    const b = heads[i]!;
    if (a.size === 0) continue; // every tree extends the empty one
    const proof = proofs.get(`${a.size}/${b.size}`);
    if (!proof)
      throw new Stop({
        reason: 'inconsistent_tree_heads',
        detail: `no consistency proof from size ${a.size} to ${b.size}: the log could not produce one`,
        tree_size: b.size,
      });
    const path = proof.map((p, k) => b64(p, `consistency ${a.size}→${b.size} [${k}]`, 32));
    const v = verifyConsistency(a.size, b.size, path, a.root, b.root);
    if (!v.ok)
      throw new Stop({
        reason: 'inconsistent_tree_heads',
        detail: `the head of size ${b.size} does not extend the head of size ${a.size}: ${v.detail}`,
        tree_size: b.size,
      });
    report.checked.consistency_proofs++;
    options.onProgress?.(++done, total, 'consistency');
    if (done % STEP === 0) yield;
  }

  // 4. Structure of the records: well formed, contiguous leaf indexes from the range's start. Rows
  // past the signed tree are set aside: they are insertions, reported once the rows inside the
  // tree are checked (so a record slipped into the middle is named, not the one pushed off the end).
  const records = pkg.records;
  const expectedEnd = Math.min(toIndex, last.size);
  const within: EvidenceRecord[] = [];
  let beyond: EvidenceRecord | undefined;
  for (let k = 0; k < records.length; k++) {
    const r = records[k]!;
    const shapeError = recordShapeError(r);
    if (shapeError) throw new Stop({ reason: 'malformed_package', detail: `records[${k}]: ${shapeError}` });
    if (r.leaf_index >= last.size) {
      if (!beyond || r.leaf_index < beyond.leaf_index) beyond = r;
      continue;
    }
    const expected = fromIndex + within.length;
    if (r.leaf_index > expected)
      throw new Stop({
        reason: 'record_missing',
        detail: `no record at leaf ${expected} (the next is at ${r.leaf_index}): it was deleted`,
        leaf_index: expected,
      });
    if (r.leaf_index < expected)
      throw new Stop({
        reason: 'record_reordered',
        detail: `record ${r.record_id} at position ${k} says leaf ${r.leaf_index}, expected ${expected}`,
        leaf_index: expected,
        record_id: r.record_id,
      });
    within.push(r);
  }
  const lastIndex = fromIndex + within.length;
  if (lastIndex < expectedEnd) {
    const tail = expectedEnd === last.size;
    throw new Stop({
      reason: tail ? 'log_truncated' : 'record_missing',
      detail: tail
        ? `the signed tree has ${last.size} leaves but records end at leaf ${lastIndex}: the log was truncated`
        : `records end at leaf ${lastIndex}, the package covers up to ${expectedEnd}`,
      leaf_index: lastIndex,
      tree_size: last.size,
    });
  }

  // 5. Every record: its bytes hash to the logged leaf, name themselves, and prove into the head.
  const storedIndex = new Map<string, number>();
  for (const r of within) if (typeof r.leaf_hash === 'string') storedIndex.set(r.leaf_hash, r.leaf_index);
  const leaves: Buffer[] = [];
  for (let k = 0; k < within.length; k++) {
    const r = within[k]!;
    const at = { leaf_index: r.leaf_index, record_id: r.record_id };
    let hash: Buffer;
    if (r.canonical !== null) {
      const bytes = b64(r.canonical, `record ${r.leaf_index} canonical`);
      hash = leafHash(bytes);
      const stored =
        r.leaf_hash === null ? undefined : b64(r.leaf_hash, `record ${r.leaf_index} leaf_hash`, 32);
      if (stored && !stored.equals(hash))
        throw new Stop({ ...at, ...mismatch(r, hash, stored, within[k + 1], storedIndex) });
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
      } catch {
        throw new Stop({ ...at, reason: 'payload_altered', detail: 'the record bytes are not JSON' });
      }
      if (
        parsed === null ||
        typeof parsed !== 'object' ||
        parsed.record_id !== r.record_id ||
        parsed.tenant_id !== tenantId
      )
        throw new Stop({
          ...at,
          reason: 'record_fields_altered',
          detail: `the hashed record names record ${String(parsed?.record_id)} of tenant ${String(parsed?.tenant_id)}`,
        });
      const extra = options.checkRecord?.(r, parsed);
      if (extra) throw new Stop({ ...at, ...extra });
    } else {
      if (r.status !== 'expired' || r.leaf_hash === null)
        throw new Stop({
          ...at,
          reason: 'payload_altered',
          detail: 'the record has no bytes but is not expired',
        });
      hash = b64(r.leaf_hash, `record ${r.leaf_index} leaf_hash`, 32);
    }
    if (!r.audit_path)
      throw new Stop({
        ...at,
        reason: 'not_in_tree',
        detail: `the log holds no inclusion proof for leaf ${r.leaf_index} in the tree of size ${last.size}`,
        tree_size: last.size,
      });
    const path = r.audit_path.map((p, i) => b64(p, `record ${r.leaf_index} audit_path[${i}]`, 32));
    const v = verifyInclusion(r.leaf_index, last.size, hash, path, last.root);
    if (!v.ok)
      throw new Stop({
        ...at,
        reason: 'not_in_tree',
        detail: `leaf ${r.leaf_index} does not prove into the signed head of size ${last.size} (${v.detail}): the hash of this leaf or of one on its audit path is not what was signed; look first at leaves ${r.leaf_index - (r.leaf_index % 2)}–${Math.min(r.leaf_index - (r.leaf_index % 2) + 1, last.size - 1)}`,
        tree_size: last.size,
      });
    leaves.push(hash);
    report.checked.records++;
    options.onProgress?.(++done, total, 'records');
    if (done % STEP === 0) yield;
  }
  if (beyond)
    throw new Stop({
      reason: 'record_inserted',
      detail: `record at leaf ${beyond.leaf_index} is past the signed tree (size ${last.size}): it was added outside the log`,
      leaf_index: beyond.leaf_index,
      record_id: beyond.record_id,
      tree_size: last.size,
    });

  // 6. A package from leaf 0 to the last head: every head's root from the leaves alone.
  if (fromIndex === 0 && within.length >= last.size) {
    let appender = MerkleAppender.empty();
    let at = 0;
    for (const h of heads) {
      while (at < h.size) {
        const end = Math.min(h.size, at + 16 * STEP);
        appender = appender.append(leaves.slice(at, end)).appender;
        at = end;
        yield;
      }
      if (!appender.root().equals(h.root))
        throw new Stop({
          reason: 'root_mismatch',
          detail: `the first ${h.size} records do not produce the root signed at size ${h.size}`,
          tree_size: h.size,
        });
    }
    report.checked.full_root_recomputed = true;
  }
  return leaves;
}

function recordShapeError(r: unknown): string | undefined {
  if (r === null || typeof r !== 'object') return 'not an object';
  const x = r as Record<string, unknown>;
  if (!Number.isSafeInteger(x.leaf_index) || (x.leaf_index as number) < 0)
    return 'leaf_index is not a leaf index';
  if (typeof x.record_id !== 'string') return 'record_id is not a string';
  if (x.canonical !== null && typeof x.canonical !== 'string') return 'canonical is not base64 text or null';
  if (x.leaf_hash !== null && typeof x.leaf_hash !== 'string') return 'leaf_hash is not base64 text or null';
  if (
    x.audit_path !== null &&
    !(Array.isArray(x.audit_path) && x.audit_path.every((p) => typeof p === 'string'))
  )
    return 'audit_path is not a list of base64 hashes or null';
  return undefined;
}

/**
 * Why a record's bytes do not hash to the leaf the log holds at its index: it is the record of
 * another leaf (reordered), a record that was slipped in (the next record is the one this leaf
 * logged), or its bytes were changed.
 */
function mismatch(
  r: EvidenceRecord,
  hash: Buffer,
  stored: Buffer,
  next: EvidenceRecord | undefined,
  storedIndex: Map<string, number>,
): Pick<VerifyFailure, 'reason' | 'detail'> {
  const other = storedIndex.get(hash.toString('base64'));
  if (other !== undefined)
    return {
      reason: 'record_reordered',
      detail: `the record at leaf ${r.leaf_index} is the one logged at leaf ${other}`,
    };
  if (next?.canonical) {
    const nextHash = leafHash(Buffer.from(next.canonical, 'base64'));
    if (nextHash.equals(stored))
      return {
        reason: 'record_inserted',
        detail: `the record at leaf ${r.leaf_index} was never logged: it was inserted, and the records after it were shifted by one`,
      };
  }
  return {
    reason: 'payload_altered',
    detail: `the record at leaf ${r.leaf_index} does not hash to its logged leaf hash: its bytes were changed`,
  };
}
