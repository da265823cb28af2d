/**
 * RFC 6962 / RFC 9162 Merkle tree hashing, proofs and verification for the audit log.
 *
 * Everything here is pure: no I/O, no clocks. The audit store persists the hash of every complete
 * subtree, addressed `(level, index)` = the subtree of 2^level leaves starting at leaf
 * `index * 2^level` (level 0 holds the leaf hashes). Any root or proof then needs only O(log n)
 * of those hashes, so each operation is split in two:
 *
 * 1. plan: `rootKeys`, `inclusionProofKeys`, `consistencyProofKeys` list the keys to fetch, so the
 *    store can read them all in one query;
 * 2. assemble: `rootFromHashes`, `inclusionProofFromHashes`, `consistencyProofFromHashes` build the
 *    result from the fetched hashes.
 *
 * `rootAt`, `inclusionProof` and `consistencyProof` do both against a `SubtreeHashSource`.
 *
 * Sizes and indexes are plain numbers up to 2^53 - 1. JavaScript's bitwise operators work on
 * 32 bits only and a busy tenant log passes 2^32 leaves, so bit arithmetic below goes through
 * the 53-bit helpers instead of `>>`, `&` and `^`.
 */
import { createHash, hash as oneShotHash } from 'node:crypto';

/** Size in bytes of every hash in the tree (SHA-256). */
export const HASH_SIZE = 32;

/** Address of a complete subtree: 2^level leaves starting at leaf `index * 2^level`. */
export interface SubtreeKey {
  readonly level: number;
  readonly index: number;
}

/** A complete subtree and its hash, as the store persists it. */
export interface SubtreeNode extends SubtreeKey {
  readonly hash: Buffer;
}

/** Hashes fetched from the store, keyed by `subtreeKeyId(key)`. */
export type SubtreeHashes = ReadonlyMap<string, Uint8Array>;

/**
 * Where the async wrappers read complete-subtree hashes from (the audit store, or memory).
 *
 * `getMany`, when present, is called once per operation with every key the operation needs and
 * must return the hashes in the same order; without it, `get` is called once per key.
 */
export interface SubtreeHashSource {
  get(level: number, index: number): Promise<Uint8Array | undefined> | Uint8Array | undefined;
  getMany?(
    keys: readonly SubtreeKey[],
  ): Promise<ReadonlyArray<Uint8Array | undefined>> | ReadonlyArray<Uint8Array | undefined>;
}

/** Why a Merkle operation could not run: bad arguments or a store that lacks a hash it must have. */
export class MerkleError extends Error {
  override readonly name = 'MerkleError';
  constructor(
    readonly code: 'invalid_argument' | 'missing_hash' | 'bad_hash_length',
    message: string,
  ) {
    super(message);
  }
}

/** Why a proof was refused; `detail` says it for humans. */
export type VerifyFailureReason =
  | 'invalid_argument'
  | 'index_out_of_range'
  | 'size_order'
  | 'empty_tree'
  | 'bad_hash_length'
  | 'wrong_proof_length'
  | 'root_mismatch';

/** Outcome of a proof check. */
export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailureReason; detail: string };

// ---------------------------------------------------------------------------------------------
// Hashing

const LEAF_PREFIX = Buffer.from([0x00]);
// nodeHash is the hot path of appending (about two calls per leaf). One reusable input buffer and
// the one-shot `crypto.hash` cost about half of a createHash/update/digest chain; the buffer is
// safe to share because hashing is synchronous.
const nodeInput = Buffer.alloc(1 + 2 * HASH_SIZE);
nodeInput[0] = 0x01;

/**
 * RFC 6962 leaf hash: SHA-256(0x00 ‖ data).
 *
 * @example
 * leafHash(Buffer.from('')).toString('hex'); // '6e340b9c…a01d'
 */
export function leafHash(data: Uint8Array): Buffer {
  return oneShotHash('sha256', Buffer.concat([LEAF_PREFIX, data]), 'buffer');
}

/**
 * RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). Both children must be 32 bytes.
 *
 * @example
 * const parent = nodeHash(leafHash(a), leafHash(b));
 */
export function nodeHash(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    throw new MerkleError(
      'bad_hash_length',
      `node children must be ${HASH_SIZE}-byte hashes, got ${left.length} and ${right.length} bytes`,
    );
  }
  nodeInput.set(left, 1);
  nodeInput.set(right, 1 + HASH_SIZE);
  return oneShotHash('sha256', nodeInput, 'buffer');
}

/**
 * Root of the empty tree: SHA-256 of the empty string.
 *
 * @example
 * emptyRoot().toString('hex'); // 'e3b0c442…b855'
 */
export function emptyRoot(): Buffer {
  return createHash('sha256').digest();
}

/**
 * The Map key under which `*FromHashes` functions look a subtree hash up.
 *
 * @example
 * const hashes = new Map(rows.map((r) => [subtreeKeyId(r), r.hash]));
 */
export function subtreeKeyId(key: SubtreeKey): string {
  return `${key.level}/${key.index}`;
}

// ---------------------------------------------------------------------------------------------
// 53-bit integer helpers (see the file comment for why not `>>`, `&`, `^`)

const TWO_32 = 2 ** 32;

function isTreeInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

function requireTreeInt(name: string, x: number): void {
  if (!isTreeInt(x)) {
    throw new MerkleError('invalid_argument', `${name} must be an integer from 0 to 2^53-1, got ${x}`);
  }
}

function bitLength(x: number): number {
  if (x < TWO_32) return 32 - Math.clz32(x);
  return 64 - Math.clz32(Math.floor(x / TWO_32));
}

function popCount32(x: number): number {
  let v = x >>> 0;
  let count = 0;
  while (v !== 0) {
    v &= v - 1;
    count++;
  }
  return count;
}

function popCount(x: number): number {
  return popCount32(x % TWO_32) + popCount32(Math.floor(x / TWO_32));
}

function trailingZeros(x: number): number {
  // Callers pass x > 0.
  const lo = x % TWO_32;
  if (lo !== 0) return 31 - Math.clz32(lo & -lo);
  const hi = Math.floor(x / TWO_32);
  return 32 + 31 - Math.clz32(hi & -hi);
}

function xor(a: number, b: number): number {
  const hi = (Math.floor(a / TWO_32) ^ Math.floor(b / TWO_32)) >>> 0;
  const lo = ((a % TWO_32) ^ (b % TWO_32)) >>> 0;
  return hi * TWO_32 + lo;
}

function shiftRight(x: number, bits: number): number {
  return Math.floor(x / 2 ** bits);
}

// ---------------------------------------------------------------------------------------------
// Planning: which complete subtrees a root or proof is made of

/**
 * One element of a root or proof: either a stored complete subtree (one key) or an incomplete
 * subtree on the right edge of the tree, folded from its complete parts (several keys).
 */
type Step = readonly SubtreeKey[];

/** The complete subtrees covering leaves [begin, end), left to right, each as large as possible. */
function rangeKeys(begin: number, end: number): SubtreeKey[] {
  const keys: SubtreeKey[] = [];
  let at = begin;
  while (at < end) {
    const alignment = at === 0 ? Number.POSITIVE_INFINITY : trailingZeros(at);
    const level = Math.min(alignment, bitLength(end - at) - 1);
    const width = 2 ** level;
    keys.push({ level, index: at / width });
    at += width;
  }
  return keys;
}

/**
 * Sibling hashes from the complete subtree (level, index) up to the root of a tree of `treeSize`
 * leaves, bottom-up, as RFC 9162 §2.1.3.1 orders an audit path.
 *
 * Up to `inner` (the height at which the node's path and the last leaf's path meet), siblings are
 * complete subtrees, except the topmost which holds the last leaf and may be incomplete. Above
 * that the node is on the right edge: it has a left sibling exactly where its index bit is 1.
 */
function nodePathSteps(level: number, index: number, treeSize: number): Step[] {
  const lastNode = shiftRight(treeSize - 1, level);
  const inner = bitLength(xor(index, lastNode));
  const steps: Step[] = [];
  for (let h = 0; h < inner; h++) {
    const sibling = xor(shiftRight(index, h), 1);
    if (h < inner - 1) {
      steps.push([{ level: level + h, index: sibling }]);
    } else {
      steps.push(rangeKeys(sibling * 2 ** (level + h), treeSize));
    }
  }
  for (let h = inner, node = shiftRight(index, inner); node > 0; h++, node = Math.floor(node / 2)) {
    if (node % 2 === 1) steps.push([{ level: level + h, index: node - 1 }]);
  }
  return steps;
}

function inclusionSteps(leafIndex: number, treeSize: number): Step[] {
  requireTreeInt('leafIndex', leafIndex);
  requireTreeInt('treeSize', treeSize);
  if (leafIndex >= treeSize) {
    throw new MerkleError(
      'invalid_argument',
      `leafIndex must be less than treeSize, got leafIndex ${leafIndex} and treeSize ${treeSize}`,
    );
  }
  return nodePathSteps(0, leafIndex, treeSize);
}

/**
 * RFC 9162 §2.1.4.1 SUBPROOF, expressed on stored subtrees: the proof starts at the largest
 * complete subtree ending at size1 (omitted when size1 is a power of two, since then it is the old
 * root the verifier already has), followed by that subtree's path to the new root.
 */
function consistencySteps(size1: number, size2: number): Step[] {
  requireTreeInt('size1', size1);
  requireTreeInt('size2', size2);
  if (size1 > size2) {
    throw new MerkleError('invalid_argument', `size1 must not exceed size2, got ${size1} > ${size2}`);
  }
  if (size1 === 0) {
    throw new MerkleError(
      'invalid_argument',
      'size1 must be at least 1: the empty tree has no consistency proof',
    );
  }
  if (size1 === size2) return [];
  const level = trailingZeros(size1);
  const index = shiftRight(size1 - 1, level);
  const path = nodePathSteps(level, index, size2);
  return index === 0 ? path : [[{ level, index }], ...path];
}

function flatten(steps: readonly Step[]): SubtreeKey[] {
  const keys: SubtreeKey[] = [];
  for (const step of steps) for (const key of step) keys.push(key);
  return keys;
}

/**
 * Keys of the complete subtrees whose hashes make the root of a tree of `treeSize` leaves: the
 * right-edge decomposition of the size into powers of two, largest first (at most log2(n) + 1).
 * These are also the appender's frontier.
 *
 * @example
 * rootKeys(7); // [{level: 2, index: 0}, {level: 1, index: 2}, {level: 0, index: 6}]
 */
export function rootKeys(treeSize: number): SubtreeKey[] {
  requireTreeInt('treeSize', treeSize);
  return rangeKeys(0, treeSize);
}

/**
 * Keys needed for the inclusion proof of leaf `leafIndex` in a tree of `treeSize` leaves.
 *
 * @example
 * const keys = inclusionProofKeys(5, 7); // fetch these, then inclusionProofFromHashes(5, 7, map)
 */
export function inclusionProofKeys(leafIndex: number, treeSize: number): SubtreeKey[] {
  return flatten(inclusionSteps(leafIndex, treeSize));
}

/**
 * Keys needed for the consistency proof from size1 to size2 (1 ≤ size1 ≤ size2).
 *
 * @example
 * const keys = consistencyProofKeys(3, 7); // fetch, then consistencyProofFromHashes(3, 7, map)
 */
export function consistencyProofKeys(size1: number, size2: number): SubtreeKey[] {
  return flatten(consistencySteps(size1, size2));
}

// ---------------------------------------------------------------------------------------------
// Assembling from fetched hashes

function lookup(hashes: SubtreeHashes, key: SubtreeKey): Buffer {
  const found = hashes.get(subtreeKeyId(key));
  if (found === undefined) {
    throw new MerkleError('missing_hash', `subtree hash (level ${key.level}, index ${key.index}) is missing`);
  }
  if (found.length !== HASH_SIZE) {
    throw new MerkleError(
      'bad_hash_length',
      `subtree hash (level ${key.level}, index ${key.index}) has ${found.length} bytes, expected ${HASH_SIZE}`,
    );
  }
  return Buffer.isBuffer(found) ? found : Buffer.from(found.buffer, found.byteOffset, found.byteLength);
}

/** RFC 9162 §2.1.1: an incomplete subtree is its complete parts folded from the right. */
function foldRight(parts: readonly Buffer[]): Buffer {
  let acc = parts[parts.length - 1]!;
  for (let i = parts.length - 2; i >= 0; i--) acc = nodeHash(parts[i]!, acc);
  return acc;
}

function assemble(steps: readonly Step[], hashes: SubtreeHashes): Buffer[] {
  return steps.map((step) => foldRight(step.map((key) => lookup(hashes, key))));
}

/**
 * Root of a tree of `treeSize` leaves from the hashes of `rootKeys(treeSize)`.
 *
 * @example
 * const root = rootFromHashes(7, await store.hashes(rootKeys(7)));
 */
export function rootFromHashes(treeSize: number, hashes: SubtreeHashes): Buffer {
  const keys = rootKeys(treeSize);
  if (keys.length === 0) return emptyRoot();
  return foldRight(keys.map((key) => lookup(hashes, key)));
}

/**
 * RFC 9162 §2.1.3.1 audit path of leaf `leafIndex` from the hashes of `inclusionProofKeys`.
 *
 * @example
 * const path = inclusionProofFromHashes(5, 7, hashes); // 3 hashes, leaf sibling first
 */
export function inclusionProofFromHashes(
  leafIndex: number,
  treeSize: number,
  hashes: SubtreeHashes,
): Buffer[] {
  return assemble(inclusionSteps(leafIndex, treeSize), hashes);
}

/**
 * RFC 9162 §2.1.4.1 consistency proof from the hashes of `consistencyProofKeys`.
 *
 * @example
 * const proof = consistencyProofFromHashes(3, 7, hashes);
 */
export function consistencyProofFromHashes(size1: number, size2: number, hashes: SubtreeHashes): Buffer[] {
  return assemble(consistencySteps(size1, size2), hashes);
}

// ---------------------------------------------------------------------------------------------
// Async wrappers over a SubtreeHashSource

/**
 * Reads `keys` from `source` (one `getMany` call when the source has it) into a Map for the
 * `*FromHashes` functions. Throws `MerkleError('missing_hash')` if the source lacks one.
 *
 * @example
 * const hashes = await fetchSubtreeHashes(store, inclusionProofKeys(5, 7));
 */
export async function fetchSubtreeHashes(
  source: SubtreeHashSource,
  keys: readonly SubtreeKey[],
): Promise<Map<string, Uint8Array>> {
  const hashes = new Map<string, Uint8Array>();
  let values: ReadonlyArray<Uint8Array | undefined>;
  if (source.getMany) {
    values = await source.getMany(keys);
    if (values.length !== keys.length) {
      throw new MerkleError(
        'missing_hash',
        `getMany returned ${values.length} hashes for ${keys.length} keys`,
      );
    }
  } else {
    values = await Promise.all(keys.map((key) => source.get(key.level, key.index)));
  }
  keys.forEach((key, i) => {
    const value = values[i];
    if (value !== undefined) hashes.set(subtreeKeyId(key), value);
  });
  return hashes;
}

/**
 * Root of the tree of `treeSize` leaves, from O(log n) stored subtree hashes.
 *
 * @example
 * const root = await rootAt(store, 1_000_000);
 */
export async function rootAt(source: SubtreeHashSource, treeSize: number): Promise<Buffer> {
  return rootFromHashes(treeSize, await fetchSubtreeHashes(source, rootKeys(treeSize)));
}

/**
 * RFC 9162 inclusion proof (audit path) of leaf `leafIndex` in the tree of `treeSize` leaves.
 *
 * @example
 * const path = await inclusionProof(store, 41, 1000);
 * verifyInclusion(41, 1000, leaf, path, root); // { ok: true }
 */
export async function inclusionProof(
  source: SubtreeHashSource,
  leafIndex: number,
  treeSize: number,
): Promise<Buffer[]> {
  const keys = inclusionProofKeys(leafIndex, treeSize);
  return inclusionProofFromHashes(leafIndex, treeSize, await fetchSubtreeHashes(source, keys));
}

/**
 * RFC 9162 consistency proof between the trees of `size1` and `size2` leaves.
 *
 * @example
 * const proof = await consistencyProof(store, 500, 1000);
 * verifyConsistency(500, 1000, proof, root500, root1000); // { ok: true }
 */
export async function consistencyProof(
  source: SubtreeHashSource,
  size1: number,
  size2: number,
): Promise<Buffer[]> {
  const keys = consistencyProofKeys(size1, size2);
  return consistencyProofFromHashes(size1, size2, await fetchSubtreeHashes(source, keys));
}

// ---------------------------------------------------------------------------------------------
// Appending

/** What one `MerkleAppender.append` produced. */
export interface AppendResult {
  /** The state after the batch; the appender `append` was called on is unchanged. */
  readonly appender: MerkleAppender;
  readonly treeSize: number;
  readonly root: Buffer;
  /**
   * Every complete subtree the batch created, leaves (level 0) included, in creation order:
   * each leaf is followed by the parents it completes.
   */
  readonly nodes: SubtreeNode[];
}

function asBuffer(bytes: Uint8Array, what: string): Buffer {
  if (bytes.length !== HASH_SIZE) {
    throw new MerkleError('bad_hash_length', `${what} must be ${HASH_SIZE} bytes, got ${bytes.length}`);
  }
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Appends leaf hashes to a tree, keeping only its frontier: the hashes of the complete subtrees on
 * the right edge (`rootKeys(treeSize)`, at most log2(n) + 1 of them).
 *
 * Immutable: `append` returns a new appender, so when the transaction that persists the new
 * nodes fails, the caller keeps the old one and there is nothing to roll back.
 *
 * @example
 * let log = MerkleAppender.empty();
 * const { appender, nodes, root } = log.append([leafHash(record1), leafHash(record2)]);
 * await store.insert(nodes); // (0,0), (0,1), (1,0)
 * log = appender;
 */
export class MerkleAppender {
  #root: Buffer | undefined;

  private constructor(
    /** Number of leaves in the tree. */
    readonly treeSize: number,
    // Hashes of rootKeys(treeSize), largest subtree first.
    private readonly stack: readonly Buffer[],
  ) {}

  /**
   * An appender for the empty tree.
   *
   * @example
   * MerkleAppender.empty().root().equals(emptyRoot()); // true
   */
  static empty(): MerkleAppender {
    return new MerkleAppender(0, []);
  }

  /**
   * Restores an appender from a persisted size and frontier (hashes of `rootKeys(treeSize)`, in
   * that order, as returned by `frontier()`).
   *
   * @example
   * const log = MerkleAppender.fromFrontier(row.size, row.frontier);
   */
  static fromFrontier(treeSize: number, frontier: readonly Uint8Array[]): MerkleAppender {
    requireTreeInt('treeSize', treeSize);
    const expected = popCount(treeSize);
    if (frontier.length !== expected) {
      throw new MerkleError(
        'invalid_argument',
        `a tree of ${treeSize} leaves has a frontier of ${expected} hashes, got ${frontier.length}`,
      );
    }
    return new MerkleAppender(
      treeSize,
      frontier.map((h, i) => asBuffer(h, `frontier hash ${i}`)),
    );
  }

  /**
   * Restores an appender from the stored subtree hashes of a tree of `treeSize` leaves.
   *
   * @example
   * const log = await MerkleAppender.fromSource(store, await store.size());
   */
  static async fromSource(source: SubtreeHashSource, treeSize: number): Promise<MerkleAppender> {
    const keys = rootKeys(treeSize);
    const hashes = await fetchSubtreeHashes(source, keys);
    return new MerkleAppender(
      treeSize,
      keys.map((key) => lookup(hashes, key)),
    );
  }

  /**
   * The frontier with its keys, largest subtree first; persist it to restore with `fromFrontier`.
   *
   * @example
   * MerkleAppender.fromFrontier(log.treeSize, log.frontier().map((n) => n.hash));
   */
  frontier(): SubtreeNode[] {
    const keys = rangeKeys(0, this.treeSize);
    return keys.map((key, i) => ({ level: key.level, index: key.index, hash: this.stack[i]! }));
  }

  /**
   * The current root (SHA-256("") for the empty tree).
   *
   * @example
   * log.root().toString('hex');
   */
  root(): Buffer {
    if (this.#root === undefined) {
      this.#root = this.stack.length === 0 ? emptyRoot() : foldRight(this.stack);
    }
    return this.#root;
  }

  /**
   * Appends a batch of 32-byte leaf hashes (see `leafHash`). The given buffers are kept by
   * reference (in `nodes` and the frontier), not copied: do not reuse their memory.
   *
   * @example
   * const { appender, nodes, root } = log.append(batch.map((r) => leafHash(canonicalBytes(r))));
   */
  append(leafHashes: readonly Uint8Array[]): AppendResult {
    if (leafHashes.length === 0) {
      return { appender: this, treeSize: this.treeSize, root: this.root(), nodes: [] };
    }
    const finalSize = this.treeSize + leafHashes.length;
    if (!Number.isSafeInteger(finalSize)) {
      throw new MerkleError(
        'invalid_argument',
        `a tree cannot grow past 2^53-1 leaves, asked for ${finalSize}`,
      );
    }
    // One working copy of the O(log n) frontier per batch; per leaf only push/pop on it.
    const stack = this.stack.slice();
    const nodes: SubtreeNode[] = [];
    let size = this.treeSize;
    for (let i = 0; i < leafHashes.length; i++) {
      let hash = asBuffer(leafHashes[i]!, `leaf hash ${i}`);
      let level = 0;
      let index = size;
      nodes.push({ level, index, hash });
      // The new leaf completes one parent per trailing 1 bit of its index.
      while (index % 2 === 1) {
        const left = stack.pop()!;
        hash = nodeHash(left, hash);
        level++;
        index = (index - 1) / 2;
        nodes.push({ level, index, hash });
      }
      stack.push(hash);
      size++;
    }
    const appender = new MerkleAppender(size, stack);
    return { appender, treeSize: size, root: appender.root(), nodes };
  }
}

// ---------------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2 and §2.1.4.2)

function fail(reason: VerifyFailureReason, detail: string): VerifyResult {
  return { ok: false, reason, detail };
}

const OK: VerifyResult = { ok: true };

function badHashLength(what: string, hashes: readonly Uint8Array[]): VerifyResult | undefined {
  for (let i = 0; i < hashes.length; i++) {
    const h = hashes[i]!;
    if (!(h instanceof Uint8Array) || h.length !== HASH_SIZE) {
      const len = h instanceof Uint8Array ? h.length : typeof h;
      return fail('bad_hash_length', `${what}[${i}] must be ${HASH_SIZE} bytes, got ${len}`);
    }
  }
  return undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

/** Length of the audit path of node `index` (at some level) in a tree of `lastNode + 1` nodes. */
function pathLength(index: number, lastNode: number): number {
  const inner = bitLength(xor(index, lastNode));
  return inner + popCount(shiftRight(index, inner));
}

/**
 * Checks an RFC 9162 inclusion proof. Strict: the audit path must have exactly the length the
 * index and size imply, and every hash must be 32 bytes.
 *
 * @example
 * const result = verifyInclusion(5, 7, leafHash(record), path, root);
 * if (!result.ok) console.log(result.reason, result.detail);
 */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leaf: Uint8Array,
  auditPath: readonly Uint8Array[],
  root: Uint8Array,
): VerifyResult {
  if (!isTreeInt(leafIndex) || !isTreeInt(treeSize)) {
    return fail('invalid_argument', `leafIndex and treeSize must be integers from 0 to 2^53-1`);
  }
  if (leafIndex >= treeSize) {
    return fail('index_out_of_range', `leafIndex ${leafIndex} is not in a tree of ${treeSize} leaves`);
  }
  const badLength =
    badHashLength('leafHash', [leaf]) ??
    badHashLength('root', [root]) ??
    badHashLength('auditPath', auditPath);
  if (badLength) return badLength;
  const expected = pathLength(leafIndex, treeSize - 1);
  if (auditPath.length !== expected) {
    return fail(
      'wrong_proof_length',
      `leaf ${leafIndex} of a tree of ${treeSize} needs an audit path of ${expected} hashes, got ${auditPath.length}`,
    );
  }

  let fn = leafIndex;
  let sn = treeSize - 1;
  let r: Buffer = Buffer.from(leaf);
  for (const p of auditPath) {
    if (sn === 0) return fail('wrong_proof_length', 'audit path is longer than the tree is high');
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return fail('wrong_proof_length', 'audit path is shorter than the tree is high');
  if (!sameBytes(r, root)) return fail('root_mismatch', 'the audit path does not lead to the given root');
  return OK;
}

/**
 * Checks an RFC 9162 consistency proof between tree heads (size1, root1) and (size2, root2).
 *
 * Refuses size1 = 0 (every tree extends the empty one, so such a proof proves nothing) and
 * size1 > size2. Equal sizes are consistent exactly when the proof is empty and the roots are
 * byte-identical. Otherwise the proof must have exactly the length the sizes imply.
 *
 * @example
 * const result = verifyConsistency(3, 7, proof, oldHead.root, newHead.root);
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): VerifyResult {
  if (!isTreeInt(size1) || !isTreeInt(size2)) {
    return fail('invalid_argument', 'size1 and size2 must be integers from 0 to 2^53-1');
  }
  if (size1 > size2) return fail('size_order', `size1 ${size1} is greater than size2 ${size2}`);
  if (size1 === 0) return fail('empty_tree', 'a consistency proof from the empty tree proves nothing');
  if (size1 === size2) {
    if (proof.length !== 0) {
      return fail('wrong_proof_length', `equal sizes need an empty proof, got ${proof.length} hashes`);
    }
    if (!sameBytes(root1, root2)) return fail('root_mismatch', 'equal sizes but different roots');
    return OK;
  }
  const badLength =
    badHashLength('root1', [root1]) ?? badHashLength('root2', [root2]) ?? badHashLength('proof', proof);
  if (badLength) return badLength;

  const level = trailingZeros(size1);
  const index = shiftRight(size1 - 1, level);
  const expected = (index === 0 ? 0 : 1) + pathLength(index, shiftRight(size2 - 1, level));
  if (proof.length !== expected) {
    return fail(
      'wrong_proof_length',
      `a consistency proof from ${size1} to ${size2} has ${expected} hashes, got ${proof.length}`,
    );
  }

  // When size1 is a power of two the old root is the proof's implicit first node.
  const path = index === 0 ? [root1, ...proof] : proof;
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = Buffer.from(path[0]!);
  let sr: Buffer = fr;
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return fail('wrong_proof_length', 'proof is longer than the new tree is high');
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return fail('wrong_proof_length', 'proof is shorter than the new tree is high');
  if (!sameBytes(fr, root1)) return fail('root_mismatch', 'the proof does not lead to root1');
  if (!sameBytes(sr, root2)) return fail('root_mismatch', 'the proof does not lead to root2');
  return OK;
}
