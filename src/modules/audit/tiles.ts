/**
 * Subtree hashes stored as tiles, as transparency-dev's Tessera stores them: a tile of height 4
 * holds the hashes of up to 16 consecutive nodes of one level that is a multiple of 4 (tile
 * level `t` holds tree level `4t`), concatenated in one bytea. The 3 levels between are not
 * stored: a node there is the Merkle root of 2, 4 or 8 consecutive hashes of its tile, recomputed
 * on read (at most 15 hashes per tile).
 *
 * So a batch writes one tile row per tile it touches (the leaf hashes of 16 leaves are one row,
 * not 16 + 15) and a proof on a log of a million leaves reads 5 rows on its path (one per tile
 * level) plus the right edge's. Height 4 rather than Tessera's 8: a 512-byte tile stays inline in
 * its heap row (no TOAST) and a proof hashes ~11 nodes per tile instead of ~250; measured, the
 * 8 KiB tiles made the proof route slower than one row per node.
 * Tiles only grow at their end (a batch appends the hashes it created to the tile's bytes), so a
 * tile of n bytes is the prefix of that tile forever after: that is what makes `TileCache` safe.
 */
import {
  HASH_SIZE,
  MerkleError,
  nodeHash,
  type SubtreeKey,
  type SubtreeNode,
  subtreeKeyId,
} from './merkle.js';

/** Tree levels per tile. */
export const TILE_HEIGHT = 4;
/** Hashes in a full tile. */
export const TILE_WIDTH = 2 ** TILE_HEIGHT;

/** A tile's address: tile level `level` (tree level 4·level), the `index`-th run of 16 nodes. */
export interface TileKey {
  readonly level: number;
  readonly index: number;
}

/** What a batch writes to one tile: `hashes` go at node `offset` (= the tile's current count). */
export interface TileWrite extends TileKey {
  readonly offset: number;
  readonly hashes: Buffer;
}

export const tileKeyId = (k: TileKey): string => `${k.level}/${k.index}`;

/** The tile holding the stored row a node is computed from, and how many bytes of it are needed. */
function tileSpan(key: SubtreeKey): { tile: TileKey; start: number; count: number } {
  const sub = key.level % TILE_HEIGHT;
  const width = 2 ** sub;
  const first = key.index * width; // first node of the tile's level under `key`
  return {
    tile: { level: (key.level - sub) / TILE_HEIGHT, index: Math.floor(first / TILE_WIDTH) },
    start: first % TILE_WIDTH,
    count: width,
  };
}

/**
 * The tiles (with the bytes each must have at least) that the hashes of `keys` are computed from.
 *
 * @example
 *   const need = tilesFor(inclusionProofKeys(5, 7)); // [{ level: 0, index: 0, minBytes: 224 }]
 */
export function tilesFor(keys: readonly SubtreeKey[]): (TileKey & { minBytes: number })[] {
  const out = new Map<string, TileKey & { minBytes: number }>();
  for (const key of keys) {
    const { tile, start, count } = tileSpan(key);
    const id = tileKeyId(tile);
    const minBytes = (start + count) * HASH_SIZE;
    const had = out.get(id);
    if (!had || had.minBytes < minBytes) out.set(id, { ...tile, minBytes });
  }
  return [...out.values()];
}

/**
 * The hashes of `keys` from fetched tiles (keyed by `tileKeyId`); a key whose tile is missing or
 * too short is left out (the `*FromHashes` functions then report it missing).
 *
 * @example
 *   const hashes = hashesFromTiles(keys, await store.getTiles(ex, tenantId, tilesFor(keys)));
 *
 * `computed` (optional) holds node hashes computed by earlier reads of the same log, and receives
 * the ones this read computes.
 */
export function hashesFromTiles(
  keys: readonly SubtreeKey[],
  tiles: ReadonlyMap<string, Buffer>,
  computed?: Map<string, Buffer>,
): Map<string, Buffer> {
  const memo = new Map<string, Buffer | null>();
  const nodeAt = (level: number, index: number): Buffer | null => {
    const id = `${level}/${index}`;
    const known = memo.get(id) ?? computed?.get(id);
    if (known !== undefined) return known;
    let hash: Buffer | null;
    if (level % TILE_HEIGHT === 0) {
      const tile = tiles.get(
        tileKeyId({ level: level / TILE_HEIGHT, index: Math.floor(index / TILE_WIDTH) }),
      );
      const at = (index % TILE_WIDTH) * HASH_SIZE;
      hash = tile && tile.length >= at + HASH_SIZE ? tile.subarray(at, at + HASH_SIZE) : null;
    } else {
      const left = nodeAt(level - 1, 2 * index);
      const right = left && nodeAt(level - 1, 2 * index + 1);
      hash = left && right ? nodeHash(left, right) : null;
      // A complete subtree's hash never changes: worth keeping across reads (missing ones are not).
      if (hash && computed) computed.set(id, hash);
    }
    memo.set(id, hash);
    return hash;
  };
  const out = new Map<string, Buffer>();
  for (const key of keys) {
    const hash = nodeAt(key.level, key.index);
    if (hash) out.set(subtreeKeyId(key), hash);
  }
  return out;
}

/**
 * The tile writes for the nodes one append created (`MerkleAppender.append(...).nodes`): those
 * at levels 4t, grouped per tile in index order. Nodes of one level come out of the appender in
 * index order and without gaps, so each group is the run that continues its tile.
 *
 * @example
 *   tileWrites(MerkleAppender.empty().append(leaves).nodes); // [{ level: 0, index: 0, offset: 0, … }]
 */
export function tileWrites(nodes: readonly SubtreeNode[]): TileWrite[] {
  const groups = new Map<string, { key: TileKey; offset: number; next: number; parts: Buffer[] }>();
  for (const node of nodes) {
    if (node.level % TILE_HEIGHT !== 0) continue;
    const key = { level: node.level / TILE_HEIGHT, index: Math.floor(node.index / TILE_WIDTH) };
    const id = tileKeyId(key);
    const at = node.index % TILE_WIDTH;
    let g = groups.get(id);
    if (!g) {
      g = { key, offset: at, next: at, parts: [] };
      groups.set(id, g);
    }
    if (at !== g.next)
      throw new MerkleError('invalid_argument', `tile ${id} would get node ${at} after node ${g.next - 1}`);
    g.parts.push(node.hash);
    g.next++;
  }
  return [...groups.values()].map((g) => ({ ...g.key, offset: g.offset, hashes: Buffer.concat(g.parts) }));
}

/**
 * Tiles read on the proof routes, kept in memory (least recently used out). A tile only grows, so
 * a cached tile answers any read needing no more bytes than it holds; a read needing more
 * fetches it again. Server-side verification and evidence never use it: they read the database as
 * it is, so tampering there is seen.
 *
 * @example
 *   const cache = new TileCache(16_384);
 *   const { hit, missing } = cache.take(tenantId, tilesFor(keys));
 */
export class TileCache {
  private readonly entries = new Map<string, Buffer>();
  private readonly computedByTenant = new Map<string, Map<string, Buffer>>();

  constructor(
    private readonly maxTiles = 16_384,
    private readonly maxComputed = 65_536,
  ) {}

  /**
   * Node hashes computed from this tenant's tiles (levels between the tiled ones). Upper levels are
   * shared by every proof, so after the first few reads a proof hashes only inside its leaf tile.
   * Bounded: a tenant's map is dropped when full, and at most 64 tenants are kept.
   */
  computed(tenantId: string): Map<string, Buffer> {
    let m = this.computedByTenant.get(tenantId);
    if (m && m.size > this.maxComputed) {
      this.computedByTenant.delete(tenantId);
      m = undefined;
    }
    if (!m) {
      m = new Map();
      if (this.computedByTenant.size >= 64)
        this.computedByTenant.delete(this.computedByTenant.keys().next().value!);
    } else this.computedByTenant.delete(tenantId); // refresh its LRU place
    this.computedByTenant.set(tenantId, m);
    return m;
  }

  /** Cached tiles long enough for `need`, and the keys still to fetch. */
  take(
    tenantId: string,
    need: readonly (TileKey & { minBytes: number })[],
  ): { hit: Map<string, Buffer>; missing: TileKey[] } {
    const hit = new Map<string, Buffer>();
    const missing: TileKey[] = [];
    for (const t of need) {
      const id = `${tenantId}/${tileKeyId(t)}`;
      const tile = this.entries.get(id);
      if (tile && tile.length >= t.minBytes) {
        this.entries.delete(id); // refresh its place in the LRU order
        this.entries.set(id, tile);
        hit.set(tileKeyId(t), tile);
      } else missing.push(t);
    }
    return { hit, missing };
  }

  put(tenantId: string, tiles: ReadonlyMap<string, Buffer>): void {
    for (const [key, tile] of tiles) {
      const id = `${tenantId}/${key}`;
      this.entries.delete(id);
      this.entries.set(id, tile);
    }
    while (this.entries.size > this.maxTiles) this.entries.delete(this.entries.keys().next().value!);
  }
}
