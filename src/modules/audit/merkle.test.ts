import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  consistencyProofKeys,
  emptyRoot,
  fetchSubtreeHashes,
  inclusionProof,
  inclusionProofKeys,
  leafHash,
  MerkleAppender,
  MerkleError,
  nodeHash,
  rootAt,
  rootKeys,
  type SubtreeHashSource,
  type SubtreeKey,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';

const VECTORS = new URL('../../../test/vectors/merkle/', import.meta.url);

// ---------------------------------------------------------------------------------------------
// Oracles written straight from the RFC 9162 §2.1 recursive definitions, independent of the
// subtree-key planning under test.

function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function naiveRoot(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return emptyRoot();
  if (leaves.length === 1) return leaves[0]!;
  const k = largestPowerOfTwoBelow(leaves.length);
  return nodeHash(naiveRoot(leaves.slice(0, k)), naiveRoot(leaves.slice(k)));
}

/** PATH(m, D[n]) from RFC 9162 §2.1.3.1. */
function naivePath(m: number, leaves: readonly Buffer[]): Buffer[] {
  if (leaves.length <= 1) return [];
  const k = largestPowerOfTwoBelow(leaves.length);
  if (m < k) return [...naivePath(m, leaves.slice(0, k)), naiveRoot(leaves.slice(k))];
  return [...naivePath(m - k, leaves.slice(k)), naiveRoot(leaves.slice(0, k))];
}

/** SUBPROOF(m, D[n], b) from RFC 9162 §2.1.4.1. */
function naiveSubproof(m: number, leaves: readonly Buffer[], b: boolean): Buffer[] {
  const n = leaves.length;
  if (m === n) return b ? [] : [naiveRoot(leaves)];
  const k = largestPowerOfTwoBelow(n);
  if (m <= k) return [...naiveSubproof(m, leaves.slice(0, k), b), naiveRoot(leaves.slice(k))];
  return [...naiveSubproof(m - k, leaves.slice(k), false), naiveRoot(leaves.slice(0, k))];
}

/**
 * The shape of PATH(m, D[n]): on which side each sibling sits, bottom-up. Two (index, size)
 * pairs with the same shape hash a proof identically, so a verifier cannot tell them apart.
 */
function pathShape(m: number, n: number): string {
  if (n <= 1) return '';
  const k = largestPowerOfTwoBelow(n);
  return m < k ? `${pathShape(m, k)}R` : `${pathShape(m - k, n - k)}L`;
}

/** The shape of SUBPROOF(m, D[n], b): the same, plus whether the starting node is sent. */
function subproofShape(m: number, n: number, b: boolean): string {
  if (m === n) return b ? '.' : '*';
  const k = largestPowerOfTwoBelow(n);
  return m <= k ? `${subproofShape(m, k, b)}R` : `${subproofShape(m - k, n - k, false)}L`;
}

function leavesFor(count: number, seed = 0): Buffer[] {
  return Array.from({ length: count }, (_, i) => leafHash(Buffer.from(`leaf ${seed} ${i}`)));
}

/** An in-memory store: every complete subtree the appender emitted. */
class MemoryStore implements SubtreeHashSource {
  readonly hashes = new Map<string, Buffer>();
  lookups = 0;
  batches = 0;
  add(nodes: readonly { level: number; index: number; hash: Buffer }[]): void {
    for (const n of nodes) this.hashes.set(`${n.level}/${n.index}`, n.hash);
  }
  get(level: number, index: number): Buffer | undefined {
    this.lookups++;
    return this.hashes.get(`${level}/${index}`);
  }
  getMany(keys: readonly SubtreeKey[]): (Buffer | undefined)[] {
    this.batches++;
    this.lookups += keys.length;
    return keys.map((k) => this.hashes.get(`${k.level}/${k.index}`));
  }
}

function buildStore(leaves: readonly Buffer[]): { store: MemoryStore; appender: MerkleAppender } {
  const store = new MemoryStore();
  const { appender, nodes } = MerkleAppender.empty().append(leaves);
  store.add(nodes);
  return { store, appender };
}

function flipByte(proof: readonly Buffer[], item: number, byte: number): Buffer[] {
  return proof.map((p, i) => {
    if (i !== item) return p;
    const copy = Buffer.from(p);
    copy[byte]! ^= 0x01;
    return copy;
  });
}

function ceilLog2(n: number): number {
  return n <= 1 ? 0 : Math.ceil(Math.log2(n));
}

// ---------------------------------------------------------------------------------------------
// Outside vectors (transparency-dev/merkle)

interface InclusionCase {
  leafIdx: number;
  treeSize: number;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

interface ConsistencyCase {
  size1: number;
  size2: number;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

function vectorFiles(folder: string): { name: string; data: unknown }[] {
  const dir = new URL(`${folder}/`, VECTORS);
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((name) => ({
      name: `${folder}/${name}`,
      data: JSON.parse(readFileSync(new URL(name, dir), 'utf8')),
    }));
}

const b64 = (s: string): Buffer => Buffer.from(s, 'base64');
const treeJson = JSON.parse(readFileSync(new URL('tree.json', VECTORS), 'utf8')) as {
  leaf_inputs_hex: string[];
  root_hash_by_tree_size_hex: string[];
};
const vectorLeaves = treeJson.leaf_inputs_hex.map((hex) => leafHash(Buffer.from(hex, 'hex')));
const inclusionCases = vectorFiles('inclusion') as { name: string; data: InclusionCase }[];
const consistencyCases = vectorFiles('consistency') as { name: string; data: ConsistencyCase }[];

describe('transparency-dev vectors', () => {
  it('holds the number of cases the README announces', () => {
    expect(inclusionCases.length + consistencyCases.length).toBe(196);
    expect(treeJson.root_hash_by_tree_size_hex).toHaveLength(9);
  });

  it.each(treeJson.root_hash_by_tree_size_hex.map((hex, size) => ({ size, hex })))(
    'tree.json: root of the first $size leaves',
    ({ size, hex }) => {
      const { root } = MerkleAppender.empty().append(vectorLeaves.slice(0, size));
      expect(root.toString('hex')).toBe(hex);
      expect(naiveRoot(vectorLeaves.slice(0, size)).toString('hex')).toBe(hex);
    },
  );

  it.each(inclusionCases)('$name', ({ data }) => {
    const result = verifyInclusion(
      data.leafIdx,
      data.treeSize,
      b64(data.leafHash),
      (data.proof ?? []).map(b64),
      b64(data.root),
    );
    expect(result.ok, `${data.desc}: ${JSON.stringify(result)}`).toBe(!data.wantErr);
  });

  it.each(consistencyCases)('$name', ({ data }) => {
    const result = verifyConsistency(
      data.size1,
      data.size2,
      (data.proof ?? []).map(b64),
      b64(data.root1),
      b64(data.root2),
    );
    expect(result.ok, `${data.desc}: ${JSON.stringify(result)}`).toBe(!data.wantErr);
  });

  it('generates the same proofs as the valid vectors over the tree.json leaves', async () => {
    const { store } = buildStore(vectorLeaves);
    const roots = treeJson.root_hash_by_tree_size_hex;
    let compared = 0;
    for (const { data } of inclusionCases) {
      if (data.wantErr || roots[data.treeSize] !== b64(data.root).toString('hex')) continue;
      const proof = await inclusionProof(store, data.leafIdx, data.treeSize);
      expect(proof.map((p) => p.toString('base64'))).toEqual(data.proof ?? []);
      compared++;
    }
    for (const { data } of consistencyCases) {
      if (data.wantErr || data.size1 === data.size2) continue;
      const proof = await consistencyProof(store, data.size1, data.size2);
      expect(proof.map((p) => p.toString('base64'))).toEqual(data.proof ?? []);
      compared++;
    }
    expect(compared).toBeGreaterThan(5);
  });
});

// ---------------------------------------------------------------------------------------------
// RFC 9162 §2.1.5 example: the tree of seven leaves d0…d6

describe('RFC 9162 §2.1.5 seven-leaf example', () => {
  const d = Array.from({ length: 7 }, (_, i) => leafHash(Buffer.from(`d${i}`)));
  const [a, b, c, dd, e, f, j] = d as [Buffer, Buffer, Buffer, Buffer, Buffer, Buffer, Buffer];
  const g = nodeHash(a, b);
  const h = nodeHash(c, dd);
  const i = nodeHash(e, f);
  const k = nodeHash(g, h);
  const l = nodeHash(i, j);
  const root = nodeHash(k, l);
  const { store, appender } = buildStore(d);

  it('has the root the figure describes', () => {
    expect(appender.root()).toEqual(root);
  });

  it('gives the audit paths the RFC lists', async () => {
    expect(await inclusionProof(store, 0, 7)).toEqual([b, h, l]);
    expect(await inclusionProof(store, 3, 7)).toEqual([c, g, l]);
    expect(await inclusionProof(store, 4, 7)).toEqual([f, j, k]);
    expect(await inclusionProof(store, 6, 7)).toEqual([i, k]);
  });

  it('gives the consistency proofs the RFC lists', async () => {
    expect(await consistencyProof(store, 3, 7)).toEqual([c, dd, g, l]);
    expect(await consistencyProof(store, 4, 7)).toEqual([l]);
    expect(await consistencyProof(store, 6, 7)).toEqual([i, j, k]);
  });

  it('proves every leaf in every tree size up to 7, matching PATH(m, D[n])', async () => {
    for (let n = 1; n <= 7; n++) {
      const r = naiveRoot(d.slice(0, n));
      for (let m = 0; m < n; m++) {
        const proof = await inclusionProof(store, m, n);
        expect(proof).toEqual(naivePath(m, d.slice(0, n)));
        expect(verifyInclusion(m, n, d[m]!, proof, r)).toEqual({ ok: true });
      }
    }
  });

  it('proves every pair of sizes up to 7, matching SUBPROOF(m, D[n], true)', async () => {
    for (let n = 1; n <= 7; n++) {
      for (let m = 1; m <= n; m++) {
        const proof = await consistencyProof(store, m, n);
        expect(proof).toEqual(naiveSubproof(m, d.slice(0, n), true));
        const ok = verifyConsistency(m, n, proof, naiveRoot(d.slice(0, m)), naiveRoot(d.slice(0, n)));
        expect(ok).toEqual({ ok: true });
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Appender

describe('MerkleAppender', () => {
  it('matches the recursive MTH at every size from 0 to 600', () => {
    const leaves = leavesFor(600);
    let appender = MerkleAppender.empty();
    expect(appender.root()).toEqual(emptyRoot());
    for (let n = 1; n <= 600; n++) {
      appender = appender.append([leaves[n - 1]!]).appender;
      expect(appender.root(), `size ${n}`).toEqual(naiveRoot(leaves.slice(0, n)));
    }
  });

  it('gives the same roots for any split into batches, and emits every complete subtree once', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 600 }),
        fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 40 }),
        fc.integer(),
        (size, batchSizes, seed) => {
          const leaves = leavesFor(size, seed);
          const store = new MemoryStore();
          let appender = MerkleAppender.empty();
          let emitted = 0;
          for (let at = 0, b = 0; at < size; b++) {
            const take = Math.min(batchSizes[b % batchSizes.length]!, size - at);
            const result = appender.append(leaves.slice(at, at + take));
            at += take;
            expect(result.treeSize).toBe(at);
            expect(result.root).toEqual(naiveRoot(leaves.slice(0, at)));
            store.add(result.nodes);
            emitted += result.nodes.length;
            appender = result.appender;
          }
          // A tree of n leaves has 2n - popcount(n) complete subtrees.
          const popcount = size.toString(2).replace(/0/g, '').length;
          expect(emitted).toBe(2 * size - popcount);
          expect(store.hashes.size).toBe(emitted);
          for (const [id, hash] of store.hashes) {
            const [level, index] = id.split('/').map(Number) as [number, number];
            const width = 2 ** level;
            expect(hash).toEqual(naiveRoot(leaves.slice(index * width, (index + 1) * width)));
          }
        },
      ),
      { numRuns: 40 },
    );
  });

  it('leaves the original appender unchanged so a failed write needs no rollback', () => {
    const leaves = leavesFor(10);
    const before = MerkleAppender.empty().append(leaves.slice(0, 5)).appender;
    const rootBefore = Buffer.from(before.root());
    before.append(leaves.slice(5));
    expect(before.treeSize).toBe(5);
    expect(before.root()).toEqual(rootBefore);
    expect(before.append([]).nodes).toEqual([]);
  });

  it('restores from a persisted frontier or from the store and continues identically', async () => {
    const leaves = leavesFor(300, 7);
    for (const cut of [0, 1, 2, 3, 64, 127, 128, 129, 255, 299]) {
      const { store, appender } = buildStore(leaves.slice(0, cut));
      const frontier = appender.frontier();
      expect(frontier.map(({ level, index }) => ({ level, index }))).toEqual(rootKeys(cut));
      const fromFrontier = MerkleAppender.fromFrontier(
        cut,
        frontier.map((node) => node.hash),
      );
      const fromStore = await MerkleAppender.fromSource(store, cut);
      const expected = appender.append(leaves.slice(cut));
      for (const restored of [fromFrontier, fromStore]) {
        const continued = restored.append(leaves.slice(cut));
        expect(continued.root).toEqual(expected.root);
        expect(continued.nodes).toEqual(expected.nodes);
      }
      expect(await rootAt(store, cut)).toEqual(naiveRoot(leaves.slice(0, cut)));
    }
  });

  it('refuses a frontier of the wrong length, and leaf hashes that are not 32 bytes', () => {
    expect(() => MerkleAppender.fromFrontier(3, [Buffer.alloc(32)])).toThrow(/frontier of 2 hashes, got 1/);
    expect(() => MerkleAppender.empty().append([Buffer.alloc(31)])).toThrow(MerkleError);
  });

  it('appends 50k leaves well within a second', () => {
    const leaves = leavesFor(50_000);
    const started = performance.now();
    const { nodes } = MerkleAppender.empty().append(leaves);
    const elapsed = performance.now() - started;
    expect(nodes).toHaveLength(2 * 50_000 - 6);
    // Generous bound for slow CI machines; locally this is ~60 ms.
    expect(elapsed).toBeLessThan(1_000);
  });
});

// ---------------------------------------------------------------------------------------------
// Proofs from planned keys: properties

describe('proofs from planned keys', () => {
  const sizeAndIndex = fc
    .integer({ min: 1, max: 600 })
    .chain((n) =>
      fc.record({ n: fc.constant(n), m: fc.integer({ min: 0, max: n - 1 }), seed: fc.integer() }),
    );

  it('every inclusion proof verifies, equals PATH(m, D[n]) and reads its keys in one query', async () => {
    await fc.assert(
      fc.asyncProperty(sizeAndIndex, async ({ n, m, seed }) => {
        const leaves = leavesFor(n, seed);
        const { store, appender } = buildStore(leaves);
        const keys = inclusionProofKeys(m, n);
        expect(keys.length).toBeLessThanOrEqual(2 * ceilLog2(n) + 2);
        store.batches = 0;
        const proof = await inclusionProof(store, m, n);
        expect(store.batches).toBe(1);
        expect(proof).toEqual(naivePath(m, leaves));
        expect(verifyInclusion(m, n, leaves[m]!, proof, appender.root())).toEqual({ ok: true });
      }),
      { numRuns: 150 },
    );
  });

  it('every consistency proof for m ≤ n verifies and equals SUBPROOF(m, D[n], true)', async () => {
    await fc.assert(
      fc.asyncProperty(sizeAndIndex, async ({ n, m: m0, seed }) => {
        const m = m0 + 1;
        const leaves = leavesFor(n, seed);
        const { store, appender } = buildStore(leaves);
        const keys = consistencyProofKeys(m, n);
        expect(keys.length).toBeLessThanOrEqual(2 * ceilLog2(n) + 2);
        const proof = await consistencyProof(store, m, n);
        expect(proof).toEqual(naiveSubproof(m, leaves, true));
        const root1 = naiveRoot(leaves.slice(0, m));
        expect(verifyConsistency(m, n, proof, root1, appender.root())).toEqual({ ok: true });
      }),
      { numRuns: 150 },
    );
  });

  it('plans at most 2*ceil(log2 n)+2 keys for every proof up to n = 300', () => {
    for (let n = 1; n <= 300; n++) {
      const bound = 2 * ceilLog2(n) + 2;
      expect(rootKeys(n).length).toBeLessThanOrEqual(ceilLog2(n) + 1);
      for (let m = 0; m < n; m++) expect(inclusionProofKeys(m, n).length).toBeLessThanOrEqual(bound);
      for (let m = 1; m <= n; m++) expect(consistencyProofKeys(m, n).length).toBeLessThanOrEqual(bound);
    }
  });

  it('rejects an inclusion proof with any flipped byte, or another index or size', () => {
    fc.assert(
      fc.property(
        sizeAndIndex,
        fc.nat(),
        fc.nat({ max: 31 }),
        fc.integer({ min: 0, max: 700 }),
        ({ n, m, seed }, item, byte, other) => {
          const leaves = leavesFor(n, seed);
          const root = naiveRoot(leaves);
          const proof = naivePath(m, leaves);
          const shape = pathShape(m, n);
          const leaf = leaves[m]!;
          if (proof.length > 0) {
            const mutated = flipByte(proof, item % proof.length, byte);
            expect(verifyInclusion(m, n, leaf, mutated, root).ok).toBe(false);
          }
          const flippedLeaf = flipByte([leaf], 0, byte)[0]!;
          expect(verifyInclusion(m, n, flippedLeaf, proof, root).ok).toBe(false);
          expect(verifyInclusion(m, n, leaf, [...proof, root], root).ok).toBe(false);
          expect(verifyInclusion(m, n, leaf, [root, ...proof], root).ok).toBe(false);
          // The hashes commit to the shape of the path, not to the size itself (that binding
          // comes from the signed tree head), so another index or size must fail exactly when
          // its path has a different shape.
          if (other !== m && other < n) {
            const sameShape = pathShape(other, n) === shape;
            expect(verifyInclusion(other, n, leaf, proof, root).ok).toBe(sameShape);
          }
          if (other !== n && other > m) {
            const sameShape = pathShape(m, other) === shape;
            expect(verifyInclusion(m, other, leaf, proof, root).ok).toBe(sameShape);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('rejects a consistency proof with any flipped byte, or other sizes', () => {
    fc.assert(
      fc.property(
        sizeAndIndex,
        fc.nat(),
        fc.nat({ max: 31 }),
        fc.integer({ min: 0, max: 700 }),
        ({ n, m: m0, seed }, item, byte, other) => {
          const m = m0 + 1;
          const leaves = leavesFor(n, seed);
          const root1 = naiveRoot(leaves.slice(0, m));
          const root2 = naiveRoot(leaves);
          const proof = naiveSubproof(m, leaves, true);
          const shape = subproofShape(m, n, true);
          if (proof.length > 0) {
            const mutated = flipByte(proof, item % proof.length, byte);
            expect(verifyConsistency(m, n, mutated, root1, root2).ok).toBe(false);
            expect(verifyConsistency(m, n, proof.slice(1), root1, root2).ok).toBe(false);
          }
          expect(verifyConsistency(m, n, [...proof, root2], root1, root2).ok).toBe(false);
          expect(verifyConsistency(m, n, [root1, ...proof], root1, root2).ok).toBe(false);
          expect(verifyConsistency(m, n, proof, flipByte([root1], 0, byte)[0]!, root2).ok).toBe(false);
          expect(verifyConsistency(m, n, proof, root1, flipByte([root2], 0, byte)[0]!).ok).toBe(false);
          if (other !== m && other >= 1 && other <= n) {
            const sameShape = subproofShape(other, n, true) === shape;
            expect(verifyConsistency(other, n, proof, root1, root2).ok).toBe(sameShape);
          }
          if (other !== n && other >= m) {
            const sameShape = subproofShape(m, other, true) === shape;
            expect(verifyConsistency(m, other, proof, root1, root2).ok).toBe(sameShape);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Sizes beyond 32 bits, where JavaScript's bitwise operators would silently wrap

describe('trees larger than 2^32 leaves', () => {
  // With every leaf equal, a complete subtree's hash depends only on its level, so a source can
  // serve a consistent tree of any size without storing it.
  const byLevel: Buffer[] = [leafHash(Buffer.from('same'))];
  for (let level = 1; level <= 53; level++) byLevel.push(nodeHash(byLevel[level - 1]!, byLevel[level - 1]!));
  const source: SubtreeHashSource = { get: (level) => byLevel[level] };

  it.each([
    { m: 2 ** 32 - 1, n: 2 ** 32 + 1 },
    { m: 2 ** 33 + 12_345, n: 2 ** 40 + 987_654_321 },
    { m: 3, n: 2 ** 52 + 5 },
    { m: 2 ** 45, n: 2 ** 53 - 1 },
  ])('proves inclusion of leaf $m and consistency from $m in a tree of $n', async ({ m, n }) => {
    const root = await rootAt(source, n);
    const path = await inclusionProof(source, m, n);
    expect(path.length).toBeLessThanOrEqual(54);
    expect(verifyInclusion(m, n, byLevel[0]!, path, root)).toEqual({ ok: true });
    const proof = await consistencyProof(source, m, n);
    expect(verifyConsistency(m, n, proof, await rootAt(source, m), root)).toEqual({ ok: true });
    for (const key of [...inclusionProofKeys(m, n), ...consistencyProofKeys(m, n)]) {
      expect(Number.isSafeInteger(key.index) && key.index >= 0).toBe(true);
      expect((key.index + 1) * 2 ** key.level).toBeLessThanOrEqual(2 ** 53);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Errors

describe('errors', () => {
  it('names the reason a proof is refused', () => {
    const leaves = leavesFor(5);
    const root = naiveRoot(leaves);
    const proof = naivePath(2, leaves);
    expect(verifyInclusion(5, 5, leaves[2]!, proof, root)).toMatchObject({ reason: 'index_out_of_range' });
    expect(verifyInclusion(-1, 5, leaves[2]!, proof, root)).toMatchObject({ reason: 'invalid_argument' });
    expect(verifyInclusion(2.5, 5, leaves[2]!, proof, root)).toMatchObject({ reason: 'invalid_argument' });
    expect(verifyInclusion(2, 5, leaves[2]!, proof.slice(1), root)).toMatchObject({
      reason: 'wrong_proof_length',
    });
    expect(verifyInclusion(2, 5, leaves[2]!, proof, root.subarray(1))).toMatchObject({
      reason: 'bad_hash_length',
    });
    expect(verifyInclusion(2, 5, leaves[3]!, proof, root)).toMatchObject({ reason: 'root_mismatch' });
    expect(verifyConsistency(3, 2, [], root, root)).toMatchObject({ reason: 'size_order' });
    expect(verifyConsistency(0, 2, [], root, root)).toMatchObject({ reason: 'empty_tree' });
  });

  it('refuses impossible requests and reports hashes missing from the store', async () => {
    const { store } = buildStore(leavesFor(4));
    expect(() => inclusionProofKeys(4, 4)).toThrow(/leafIndex must be less than treeSize/);
    expect(() => consistencyProofKeys(5, 4)).toThrow(/size1 must not exceed size2/);
    expect(() => consistencyProofKeys(0, 4)).toThrow(/empty tree/);
    expect(() => rootKeys(2 ** 53)).toThrow(/integer from 0 to 2\^53-1/);
    expect(consistencyProofKeys(4, 4)).toEqual([]);
    await expect(inclusionProof(store, 0, 5)).rejects.toMatchObject({ code: 'missing_hash' });
    const withoutBatch: SubtreeHashSource = { get: (level, index) => store.get(level, index) };
    const hashes = await fetchSubtreeHashes(withoutBatch, rootKeys(3));
    expect(hashes.size).toBe(2);
  });
});

describe('docs/audit-verification.md worked examples', () => {
  it('gives the documented inclusion and consistency proofs over the tree.json leaves', async () => {
    const { store } = buildStore(vectorLeaves.slice(0, 7));
    const hex = (hashes: Buffer[]) => hashes.map((h) => h.toString('hex'));
    expect(hex(await inclusionProof(store, 5, 7))).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(nodeHash(vectorLeaves[4]!, vectorLeaves[5]!).toString('hex')).toBe(
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
    );
    expect(hex(await consistencyProof(store, 3, 7))).toEqual([
      '0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7',
      '07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7',
      'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
      '837dbb152e9b079010717e84e865da4ebc0fa198a806d59d31bf15accef22d0e',
    ]);
  });
});
