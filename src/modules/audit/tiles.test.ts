import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  consistencyProofFromHashes,
  consistencyProofKeys,
  inclusionProofFromHashes,
  inclusionProofKeys,
  MerkleAppender,
  rootFromHashes,
  rootKeys,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
import { hashesFromTiles, TILE_WIDTH, TileCache, tileKeyId, tilesFor, tileWrites } from './tiles.js';

const leaf = (i: number) => createHash('sha256').update(`leaf ${i}`).digest();

/** Builds the tiles of a tree the way the writer does: batch by batch, appending at each tile's end. */
function build(batches: number[]): { tiles: Map<string, Buffer>; appender: MerkleAppender; roots: Buffer[] } {
  const tiles = new Map<string, Buffer>();
  let appender = MerkleAppender.empty();
  const roots: Buffer[] = [];
  for (const n of batches) {
    const result = appender.append(Array.from({ length: n }, (_, k) => leaf(appender.treeSize + k)));
    for (const w of tileWrites(result.nodes)) {
      const id = tileKeyId(w);
      const had = tiles.get(id) ?? Buffer.alloc(0);
      expect(had.length).toBe(w.offset * 32); // a write always continues its tile exactly
      tiles.set(id, Buffer.concat([had, w.hashes]));
    }
    appender = result.appender;
    for (let s = roots.length + 1; s <= appender.treeSize; s++) roots.push(Buffer.alloc(0));
    roots[appender.treeSize - 1] = result.root;
  }
  return { tiles, appender, roots };
}

describe('tiles', () => {
  it('serve every root, inclusion and consistency proof of trees built in random batches', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 6 }),
        fc.nat(),
        fc.nat(),
        (batches, a, b) => {
          const { tiles, appender } = build(batches);
          const size = appender.treeSize;
          const root = appender.root();
          const rk = rootKeys(size);
          expect(rootFromHashes(size, hashesFromTiles(rk, tiles))).toEqual(root);
          const i = a % size;
          const ik = [{ level: 0, index: i }, ...inclusionProofKeys(i, size)];
          const ih = hashesFromTiles(ik, tiles);
          const path = inclusionProofFromHashes(i, size, ih);
          expect(verifyInclusion(i, size, leaf(i), path, root)).toEqual({ ok: true });
          const first = 1 + (b % size);
          const oldRoot = rootFromHashes(first, hashesFromTiles(rootKeys(first), tiles));
          const proof = consistencyProofFromHashes(
            first,
            size,
            hashesFromTiles(consistencyProofKeys(first, size), tiles),
          );
          expect(verifyConsistency(first, size, proof, oldRoot, root)).toEqual({ ok: true });
          // Only the tiles the keys name are needed.
          const need = tilesFor(ik);
          expect(need.length).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size + 1) / 4));
        },
      ),
      { numRuns: 60 },
    );
  });

  it("reads at most 2 tiles per tile level for a proof in a tree of a million leaves (the leaf's and the right edge's)", () => {
    const keys = [{ level: 0, index: 123_456 }, ...inclusionProofKeys(123_456, 1_000_000)];
    expect(tilesFor(keys).map(tileKeyId).sort()).toEqual([
      '0/7716',
      '1/3906',
      '1/482',
      '2/244',
      '2/30',
      '3/1',
      '3/15',
      '4/0',
    ]);
  });

  it('leaves out a hash whose tile is missing or too short, so the proof reports it missing', () => {
    const { tiles } = build([300]);
    const short = new Map(tiles);
    short.set('0/1', tiles.get('0/1')!.subarray(0, 32 * 10)); // leaves 16..25 only
    const got = hashesFromTiles(
      [
        { level: 0, index: 27 },
        { level: 3, index: 3 },
        { level: 0, index: 3 },
      ],
      short,
    );
    expect([...got.keys()]).toEqual(['0/3']);
  });

  it('refuses nodes that would leave a gap in a tile', () => {
    const nodes = MerkleAppender.empty()
      .append([leaf(0), leaf(1), leaf(2)])
      .nodes.filter((n) => n.index !== 1);
    expect(() => tileWrites(nodes)).toThrow(/tile 0\/0/);
  });

  it('caches tiles by their length: a longer need fetches again, the oldest go first', () => {
    const cache = new TileCache(2);
    const t = 'tenant';
    cache.put(t, new Map([['0/0', Buffer.alloc(64)]]));
    expect(cache.take(t, [{ level: 0, index: 0, minBytes: 64 }]).missing).toEqual([]);
    expect(cache.take(t, [{ level: 0, index: 0, minBytes: 96 }]).missing).toEqual([
      { level: 0, index: 0, minBytes: 96 },
    ]);
    cache.put(t, new Map([['0/1', Buffer.alloc(32 * TILE_WIDTH)]]));
    cache.put(t, new Map([['0/2', Buffer.alloc(32)]]));
    expect(cache.take(t, [{ level: 0, index: 0, minBytes: 32 }]).missing).toHaveLength(1);
    expect(cache.take('other', [{ level: 0, index: 1, minBytes: 32 }]).missing).toHaveLength(1);
  });
});
