/**
 * SQL for the audit schema only. Writes of the log (records, tiles, log state) take the caller's
 * transaction; batches go in one statement each through `unnest` arrays, whatever their size.
 * Bytes cross as base64 text: both drivers (pg and PGlite) pass text arrays the same way.
 */
import { sql } from 'kysely';
import type { Executor, Tx } from '../../platform/db/database.js';
import { PREPARED } from '../../platform/db/prepared.js';
import type { SubtreeKey } from './merkle.js';
import {
  hashesFromTiles,
  TILE_HEIGHT,
  type TileCache,
  type TileKey,
  type TileWrite,
  tilesFor,
} from './tiles.js';

export const buf = (b: Uint8Array): Buffer =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

export interface LogState {
  tenant_id: string;
  tree_size: number;
  frontier: Buffer;
  signed_size: number;
}

export interface RecordRow {
  tenant_id: string;
  leaf_index: number;
  record_id: string;
  product: string;
  event_type: string;
  actor: string | null;
  resource_id: string | null;
  action: string | null;
  outcome: string | null;
  occurred_at: Date;
  canonical: Buffer | null;
  expired_at: Date | null;
}

export interface NewRecordRow {
  tenantId: string;
  leafIndex: number;
  recordId: string;
  product: string;
  eventType: string;
  actor: string;
  resourceId: string | null;
  action: string;
  outcome: string;
  occurredAt: string;
  canonical: Buffer;
}

export interface TreeHeadRow {
  tenant_id: string;
  tree_size: number;
  signed_at_ms: number;
  root_hash: Buffer;
  signature: Buffer;
  key_id: string;
}

function toRecordRow(r: RecordRow): RecordRow {
  return {
    ...r,
    leaf_index: Number(r.leaf_index),
    occurred_at: new Date(r.occurred_at),
    canonical: r.canonical === null ? null : buf(r.canonical),
  };
}

function toHeadRow(r: TreeHeadRow): TreeHeadRow {
  return {
    ...r,
    tree_size: Number(r.tree_size),
    signed_at_ms: Number(r.signed_at_ms),
    root_hash: buf(r.root_hash),
    signature: buf(r.signature),
  };
}

/** Locks the logs of `tenantIds` (creating missing ones), in id order so two batches never deadlock. */
export async function lockLogs(trx: Tx, tenantIds: string[]): Promise<Map<string, LogState>> {
  const ids = [...new Set(tenantIds)].sort();
  await sql`insert into audit.logs (tenant_id) select unnest(${ids}::uuid[]) order by 1 on conflict do nothing`.execute(
    trx,
  );
  const res = await sql<LogState>`select tenant_id, tree_size, frontier, signed_size from audit.logs
    where tenant_id = any(${ids}::uuid[]) order by tenant_id for update`.execute(trx);
  return new Map(
    res.rows.map((r) => [
      r.tenant_id,
      { ...r, tree_size: Number(r.tree_size), signed_size: Number(r.signed_size), frontier: buf(r.frontier) },
    ]),
  );
}

/**
 * Inserts a batch of records in one statement. The canonical bytes of the whole batch travel as
 * one binary bytea parameter cut into rows by offset and length: node-postgres sends a Buffer
 * parameter as raw bytes, where a bytea[] or base64 text[] parameter would be encoded, escaped as
 * an array literal, parsed and decoded again (~1/10 of a record's append CPU, and as much garbage
 * as the record itself).
 */
export async function insertRecords(trx: Tx, rows: NewRecordRow[]): Promise<void> {
  if (rows.length === 0) return;
  const starts = new Array<number>(rows.length);
  const lengths = new Array<number>(rows.length);
  let at = 1; // substring() counts from 1
  for (let i = 0; i < rows.length; i++) {
    const n = rows[i]!.canonical.length;
    starts[i] = at;
    lengths[i] = n;
    at += n;
  }
  const blob = Buffer.concat(
    rows.map((r) => r.canonical),
    at - 1,
  );
  await sql`insert into audit.records (tenant_id, leaf_index, record_id, product, event_type, actor, resource_id,
      action, outcome, occurred_at, canonical)
    select t, l, r, p, e, a, res, act, o, at, substring(${blob}::bytea from s for n)
    from unnest(${rows.map((r) => r.tenantId)}::uuid[], ${rows.map((r) => r.leafIndex)}::bigint[],
      ${rows.map((r) => r.recordId)}::uuid[], ${rows.map((r) => r.product)}::text[],
      ${rows.map((r) => r.eventType)}::text[], ${rows.map((r) => r.actor)}::text[],
      ${rows.map((r) => r.resourceId)}::text[], ${rows.map((r) => r.action)}::text[],
      ${rows.map((r) => r.outcome)}::text[], ${rows.map((r) => r.occurredAt)}::timestamptz[],
      ${starts}::int[], ${lengths}::int[])
      as u(t, l, r, p, e, a, res, act, o, at, s, n)`.execute(trx);
}

/**
 * Appends each write's hashes to its tile: a write at offset 0 creates the tile, any other
 * continues it and only applies when the tile holds exactly `offset` hashes. Anything else means
 * the stored tree and the log state disagree, and the batch fails rather than corrupt the tree.
 */
export async function appendTiles(trx: Tx, writes: { tenantId: string; tile: TileWrite }[]): Promise<void> {
  if (writes.length === 0) return;
  const res = await sql<{ updated: number; inserted: number; expected: number }>`
    with w as (
      select * from unnest(${writes.map((w) => w.tenantId)}::uuid[], ${writes.map((w) => w.tile.level)}::int[],
        ${writes.map((w) => w.tile.index)}::bigint[], ${writes.map((w) => w.tile.offset)}::int[],
        ${writes.map((w) => w.tile.hashes.toString('base64'))}::text[]) as u(t, l, i, o, h)),
    upd as (
      update audit.tiles x set hashes = x.hashes || decode(w.h, 'base64') from w
      where w.o > 0 and x.tenant_id = w.t and x.level = w.l and x.idx = w.i and octet_length(x.hashes) = w.o * 32
      returning 1),
    ins as (
      insert into audit.tiles (tenant_id, level, idx, hashes)
      select w.t, w.l, w.i, decode(w.h, 'base64') from w where w.o = 0
      returning 1)
    select (select count(*) from upd)::int as updated, (select count(*) from ins)::int as inserted,
      (select count(*) from w)::int as expected`.execute(trx);
  const r = res.rows[0]!;
  if (Number(r.updated) + Number(r.inserted) !== Number(r.expected))
    throw new Error(
      `audit tiles do not match the log state: ${Number(r.expected) - Number(r.updated) - Number(r.inserted)} tile(s) could not be continued`,
    );
}

export async function updateLogs(
  trx: Tx,
  states: { tenantId: string; treeSize: number; frontier: Buffer }[],
): Promise<void> {
  if (states.length === 0) return;
  await sql`update audit.logs l set tree_size = u.s, frontier = decode(u.f, 'base64'), updated_at = now()
    from unnest(${states.map((s) => s.tenantId)}::uuid[], ${states.map((s) => s.treeSize)}::bigint[],
      ${states.map((s) => s.frontier.toString('base64'))}::text[]) as u(t, s, f)
    where l.tenant_id = u.t`.execute(trx);
}

/** Record ids already in a tenant's log (the consumer's duplicate check). */
export async function existingRecordIds(trx: Tx, tenantId: string, ids: string[]): Promise<Set<string>> {
  const res = await sql<{ record_id: string }>`select record_id from audit.records
    where tenant_id = ${tenantId} and record_id = any(${ids}::uuid[])`.execute(trx);
  return new Set(res.rows.map((r) => r.record_id));
}

export async function findRecord(
  ex: Executor,
  tenantId: string,
  recordId: string,
): Promise<RecordRow | undefined> {
  const res = await sql<RecordRow>`select * from audit.records
    where tenant_id = ${tenantId} and record_id = ${recordId}`.execute(ex);
  return res.rows[0] ? toRecordRow(res.rows[0]) : undefined;
}

/**
 * Tile levels of a leaf's path read with the record: the two lowest, which a proof on a large log
 * rarely finds in the tile cache (the upper ones are few and stay cached). Each level is one more
 * subplan to plan on every request, so not all 14.
 */
const PATH_TILE_LEVELS = [0, 1];

/**
 * A record, the tenant's latest head and the tiles on its leaf's path to the root (one per tile
 * level, keyed by `tileKeyId`), in one statement: the common proof read is then one round trip
 * inside its transaction.
 */
export async function findRecordForProof(
  ex: Executor,
  tenantId: string,
  recordId: string,
): Promise<{ row: RecordRow; head: TreeHeadRow | undefined; pathTiles: Map<string, Buffer> } | undefined> {
  const res = await sql<
    RecordRow & {
      h_tree_size: number | null;
      h_signed_at_ms: number;
      h_root_hash: Uint8Array;
      h_signature: Uint8Array;
      h_key_id: string;
      t_hashes: (string | null)[];
    }
  >`${PREPARED}select r.tenant_id, r.leaf_index, r.record_id, r.product, r.event_type, r.actor, r.resource_id,
      r.action, r.outcome, r.occurred_at, r.canonical, r.expired_at, h.tree_size as h_tree_size, h.signed_at_ms as h_signed_at_ms, h.root_hash as h_root_hash,
      h.signature as h_signature, h.key_id as h_key_id, array[${sql.join(
        PATH_TILE_LEVELS.map(
          (l) => sql`(select encode(t.hashes, 'base64') from audit.tiles t where t.tenant_id = r.tenant_id
            and t.level = ${sql.lit(l)} and t.idx = k.${sql.raw(`i${l}`)})`,
        ),
      )}] as t_hashes
    from audit.records r
    cross join lateral (select ${sql.join(
      PATH_TILE_LEVELS.map(
        (l) => sql`r.leaf_index >> ${sql.lit(TILE_HEIGHT * (l + 1))} as ${sql.raw(`i${l}`)}`,
      ),
    )} offset 0) k
    left join lateral (select * from audit.tree_heads where tenant_id = r.tenant_id
      order by tree_size desc limit 1) h on true
    where r.tenant_id = ${tenantId} and r.record_id = ${recordId}`.execute(ex);
  const r = res.rows[0];
  if (!r) return undefined;
  const { h_tree_size, h_signed_at_ms, h_root_hash, h_signature, h_key_id, t_hashes, ...row } = r;
  const pathTiles = new Map<string, Buffer>();
  const leaf = Number(row.leaf_index);
  t_hashes.forEach((hashes, level) => {
    // The tile indexes are computed in a fenced subquery (`offset 0`) so that each lookup compares
    // plain values: under RLS a condition holding a non-leakproof operator such as `>>` may not
    // become an index condition, and each lookup then scanned a whole level of the tenant's
    // tiles (15 ms a proof on a million leaves).
    if (hashes !== null)
      pathTiles.set(
        `${level}/${Math.floor(leaf / 2 ** (TILE_HEIGHT * (level + 1)))}`,
        Buffer.from(hashes, 'base64'),
      );
  });
  return {
    row: toRecordRow(row),
    head:
      h_tree_size === null
        ? undefined
        : toHeadRow({
            tenant_id: row.tenant_id,
            tree_size: h_tree_size,
            signed_at_ms: h_signed_at_ms,
            root_hash: buf(h_root_hash),
            signature: buf(h_signature),
            key_id: h_key_id,
          }),
    pathTiles,
  };
}

export interface RecordFilter {
  product?: string | undefined;
  eventType?: string | undefined;
  actor?: string | undefined;
  resource?: string | undefined;
  action?: string | undefined;
  outcome?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
}

/** Newest first; `before` is the leaf index the previous page ended at. */
export async function listRecords(
  ex: Executor,
  tenantId: string,
  f: RecordFilter,
  before: number | undefined,
  limit: number,
): Promise<RecordRow[]> {
  const n = <T>(v: T | undefined) => v ?? null;
  const res = await sql<RecordRow>`select * from audit.records
    where tenant_id = ${tenantId}
      and (${n(before)}::bigint is null or leaf_index < ${n(before)}::bigint)
      and (${n(f.product)}::text is null or product = ${n(f.product)}::text)
      and (${n(f.eventType)}::text is null or event_type = ${n(f.eventType)}::text)
      and (${n(f.actor)}::text is null or actor = ${n(f.actor)}::text)
      and (${n(f.resource)}::text is null or resource_id = ${n(f.resource)}::text)
      and (${n(f.action)}::text is null or action = ${n(f.action)}::text)
      and (${n(f.outcome)}::text is null or outcome = ${n(f.outcome)}::text)
      and (${n(f.from)}::timestamptz is null or occurred_at >= ${n(f.from)}::timestamptz)
      and (${n(f.to)}::timestamptz is null or occurred_at < ${n(f.to)}::timestamptz)
    order by leaf_index desc limit ${limit}`.execute(ex);
  return res.rows.map(toRecordRow);
}

/** Records with leaf index in [from, to) — and any row at or past `to` when `includeBeyond`. */
export async function recordsInRange(
  ex: Executor,
  tenantId: string,
  from: number,
  to: number,
  limit: number,
): Promise<RecordRow[]> {
  const res = await sql<RecordRow>`select * from audit.records
    where tenant_id = ${tenantId} and leaf_index >= ${from} and leaf_index < ${to}
    order by leaf_index limit ${limit}`.execute(ex);
  return res.rows.map(toRecordRow);
}

/** Rows at or past a leaf index (rows past the log's size are insertions). */
export async function recordsFrom(
  ex: Executor,
  tenantId: string,
  from: number,
  limit: number,
): Promise<RecordRow[]> {
  const res = await sql<RecordRow>`select * from audit.records
    where tenant_id = ${tenantId} and leaf_index >= ${from} order by leaf_index limit ${limit}`.execute(ex);
  return res.rows.map(toRecordRow);
}

/** Leaf-index bounds of the records in a time range: [first, last + 1), or undefined when none. */
export async function leafRangeForTime(
  ex: Executor,
  tenantId: string,
  from: string | undefined,
  to: string | undefined,
): Promise<{ from: number; to: number } | undefined> {
  const res = await sql<{ lo: number | null; hi: number | null }>`
    select min(leaf_index) as lo, max(leaf_index) as hi from audit.records
    where tenant_id = ${tenantId}
      and (${from ?? null}::timestamptz is null or occurred_at >= ${from ?? null}::timestamptz)
      and (${to ?? null}::timestamptz is null or occurred_at < ${to ?? null}::timestamptz)`.execute(ex);
  const r = res.rows[0];
  if (!r || r.lo === null || r.hi === null) return undefined;
  return { from: Number(r.lo), to: Number(r.hi) + 1 };
}

/** Tiles by key (absent ones are missing from the map), keyed by `tileKeyId`, one query per 10k. */
export async function getTiles(
  ex: Executor,
  tenantId: string,
  keys: readonly TileKey[],
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (let at = 0; at < keys.length; at += 10_000) {
    const chunk = keys.slice(at, at + 10_000);
    const res = await sql<{ level: number; idx: number; hashes: Uint8Array }>`${PREPARED}
      select t.level, t.idx, t.hashes from audit.tiles t
      join unnest(${chunk.map((k) => k.level)}::int[], ${chunk.map((k) => k.index)}::bigint[]) as u(l, i)
        on t.level = u.l and t.idx = u.i
      where t.tenant_id = ${tenantId}`.execute(ex);
    for (const r of res.rows) out.set(`${r.level}/${Number(r.idx)}`, buf(r.hashes));
  }
  return out;
}

/**
 * The hashes of `keys` (complete subtrees), computed from the O(log n) tiles they live in; absent
 * ones are missing from the map. `cache` (proof routes only) saves re-reading tiles.
 */
export async function getNodes(
  ex: Executor,
  tenantId: string,
  keys: readonly SubtreeKey[],
  cache?: TileCache,
): Promise<Map<string, Buffer>> {
  const need = tilesFor(keys);
  let tiles: Map<string, Buffer>;
  if (cache) {
    const { hit, missing } = cache.take(tenantId, need);
    tiles = hit;
    if (missing.length > 0) {
      const fetched = await getTiles(ex, tenantId, missing);
      cache.put(tenantId, fetched);
      for (const [k, v] of fetched) tiles.set(k, v);
    }
  } else tiles = await getTiles(ex, tenantId, need);
  return hashesFromTiles(keys, tiles, cache?.computed(tenantId));
}

export async function latestHead(ex: Executor, tenantId: string): Promise<TreeHeadRow | undefined> {
  const res =
    await sql<TreeHeadRow>`${PREPARED}select tenant_id, tree_size, signed_at_ms, root_hash, signature, key_id
    from audit.tree_heads where tenant_id = ${tenantId} order by tree_size desc limit 1`.execute(ex);
  return res.rows[0] ? toHeadRow(res.rows[0]) : undefined;
}

export async function headAt(
  ex: Executor,
  tenantId: string,
  treeSize: number,
): Promise<TreeHeadRow | undefined> {
  const res = await sql<TreeHeadRow>`select * from audit.tree_heads
    where tenant_id = ${tenantId} and tree_size = ${treeSize}`.execute(ex);
  return res.rows[0] ? toHeadRow(res.rows[0]) : undefined;
}

/** Heads with size in [from, to], ascending, at most `limit`. */
export async function headsBetween(
  ex: Executor,
  tenantId: string,
  from: number,
  to: number,
  limit: number,
): Promise<TreeHeadRow[]> {
  const res = await sql<TreeHeadRow>`select * from audit.tree_heads
    where tenant_id = ${tenantId} and tree_size >= ${from} and tree_size <= ${to}
    order by tree_size limit ${limit}`.execute(ex);
  return res.rows.map(toHeadRow);
}

export async function countHeadsBetween(
  ex: Executor,
  tenantId: string,
  from: number,
  to: number,
): Promise<number> {
  const res = await sql<{ n: number }>`select count(*)::int as n from audit.tree_heads
    where tenant_id = ${tenantId} and tree_size >= ${from} and tree_size <= ${to}`.execute(ex);
  return Number(res.rows[0]?.n ?? 0);
}

/** Logs with leaves no head covers yet (or no head at all), locked; skips logs another node holds. */
export async function logsToSign(trx: Tx, tenantId: string | undefined, limit: number): Promise<LogState[]> {
  const res = tenantId
    ? await sql<LogState>`select tenant_id, tree_size, frontier, signed_size from audit.logs
        where tenant_id = ${tenantId} and tree_size > signed_size for update`.execute(trx)
    : await sql<LogState>`select tenant_id, tree_size, frontier, signed_size from audit.logs
        where tree_size > signed_size order by tenant_id limit ${limit} for update skip locked`.execute(trx);
  return res.rows.map((r) => ({
    ...r,
    tree_size: Number(r.tree_size),
    signed_size: Number(r.signed_size),
    frontier: buf(r.frontier),
  }));
}

export async function insertHead(trx: Tx, head: TreeHeadRow): Promise<void> {
  await sql`insert into audit.tree_heads (tenant_id, tree_size, signed_at_ms, root_hash, signature, key_id)
    values (${head.tenant_id}, ${head.tree_size}, ${head.signed_at_ms}, ${head.root_hash}, ${head.signature}, ${head.key_id})
    on conflict do nothing`.execute(trx);
  await sql`update audit.logs set signed_size = greatest(signed_size, ${head.tree_size})
    where tenant_id = ${head.tenant_id}`.execute(trx);
}

export async function logSize(ex: Executor, tenantId: string): Promise<number> {
  const res = await sql<{
    tree_size: number;
  }>`select tree_size from audit.logs where tenant_id = ${tenantId}`.execute(ex);
  return Number(res.rows[0]?.tree_size ?? 0);
}

export interface SettingsRow {
  tenant_id: string;
  redaction_kinds: string[] | null;
  retention_days: Record<string, number>;
}

export async function getSettings(ex: Executor, tenantIds: string[]): Promise<Map<string, SettingsRow>> {
  const res = await sql<SettingsRow>`select tenant_id, redaction_kinds, retention_days from audit.settings
    where tenant_id = any(${tenantIds}::uuid[])`.execute(ex);
  return new Map(res.rows.map((r) => [r.tenant_id, r]));
}

export async function putSettings(ex: Executor, row: SettingsRow): Promise<void> {
  await sql`insert into audit.settings (tenant_id, redaction_kinds, retention_days)
    values (${row.tenant_id}, ${row.redaction_kinds}::text[], ${JSON.stringify(row.retention_days)}::jsonb)
    on conflict (tenant_id) do update set redaction_kinds = excluded.redaction_kinds,
      retention_days = excluded.retention_days, updated_at = now()`.execute(ex);
}

/**
 * Expires up to `limit` records past their retention: deletes the payload and the personal
 * columns, never the leaf hash (audit.tiles). `defaults` is days per product; `fallbackDays` for
 * the rest; a tenant's `retention_days` overrides both. Returns how many rows it expired.
 */
export async function expireRecords(
  trx: Tx,
  defaults: Record<string, number>,
  fallbackDays: number,
  nowIso: string,
  limit: number,
): Promise<number> {
  const res = await sql`update audit.records r set canonical = null, actor = null, resource_id = null,
      expired_at = ${nowIso}::timestamptz
    where (r.tenant_id, r.leaf_index) in (
      select x.tenant_id, x.leaf_index from audit.records x
      left join audit.settings s on s.tenant_id = x.tenant_id
      where x.canonical is not null
        and x.occurred_at < ${nowIso}::timestamptz - make_interval(days => coalesce(
          (s.retention_days ->> x.product)::int,
          (${JSON.stringify(defaults)}::jsonb ->> x.product)::int,
          ${fallbackDays}::int))
      limit ${limit} for update of x skip locked)`.execute(trx);
  return Number(res.numAffectedRows ?? 0);
}

/** Counts for the compliance report, in one pass over the period, of the first `treeSize` leaves. */
export async function periodStats(
  ex: Executor,
  tenantId: string,
  from: string,
  to: string,
  treeSize: number,
): Promise<{ product: string; event_type: string; outcome: string | null; n: number; expired: number }[]> {
  const res = await sql<{
    product: string;
    event_type: string;
    outcome: string | null;
    n: number;
    expired: number;
  }>`
    select product, event_type, outcome, count(*)::int as n, count(expired_at)::int as expired
    from audit.records where tenant_id = ${tenantId} and leaf_index < ${treeSize}
      and occurred_at >= ${from}::timestamptz and occurred_at < ${to}::timestamptz
    group by product, event_type, outcome order by product, event_type, outcome limit 10000`.execute(ex);
  return res.rows.map((r) => ({ ...r, n: Number(r.n), expired: Number(r.expired) }));
}

/** Approval figures for the compliance report (compliance.ts documents the events they come from). */
export interface ApprovalStatsRow {
  requested: number;
  approved: number;
  rejected: number;
  expired: number;
  cancelled: number;
  escalated: number;
  open: number;
  with_sla: number;
  sla_met: number;
  sla_breached: number;
  decision_p50: number | null;
  decision_p90: number | null;
  decision_max: number | null;
}

/**
 * The approvals requested in [from, to) and what became of them among the first `treeSize` leaves
 * (a decision after the period still counts for its request), paired by approval id (the records'
 * `resource_id`). An SLA is read from the request's `metadata.sla_seconds`; `asOf` (the head's
 * time) decides whether a request still open has run past it.
 */
export async function approvalStats(
  ex: Executor,
  tenantId: string,
  from: string,
  to: string,
  treeSize: number,
  asOf: Date,
): Promise<ApprovalStatsRow> {
  const res = await sql<Record<keyof ApprovalStatsRow, string | number | null>>`
    with req as (
      select resource_id as id, min(occurred_at) as requested_at,
        max(case when s ~ '^[0-9]{1,9}(\.[0-9]{1,6})?$' then s::numeric end) as sla
      from (select resource_id, occurred_at,
              case when canonical is null then null
                   else convert_from(canonical, 'UTF8')::jsonb #>> '{metadata,sla_seconds}' end as s
            from audit.records
            where tenant_id = ${tenantId} and leaf_index < ${treeSize} and event_type = 'approval.requested'
              and resource_id is not null
              and occurred_at >= ${from}::timestamptz and occurred_at < ${to}::timestamptz) x
      group by resource_id
    ),
    outcome as (
      select req.id, req.requested_at, req.sla,
        min(r.occurred_at) filter (where r.event_type in ('approval.approved', 'approval.rejected')) as decided_at,
        min(r.occurred_at) filter (where r.event_type in ('approval.approved', 'approval.rejected',
          'approval.expired', 'approval.cancelled')) as closed_at,
        bool_or(r.event_type = 'approval.approved') as approved,
        bool_or(r.event_type = 'approval.rejected') as rejected,
        bool_or(r.event_type = 'approval.expired') as expired,
        bool_or(r.event_type = 'approval.cancelled') as cancelled,
        bool_or(r.event_type = 'approval.escalated') as escalated
      from req left join audit.records r
        on r.tenant_id = ${tenantId} and r.resource_id = req.id and r.leaf_index < ${treeSize}
          and r.event_type in ('approval.approved', 'approval.rejected', 'approval.expired',
            'approval.cancelled', 'approval.escalated')
      group by req.id, req.requested_at, req.sla
    ),
    o as (
      select *, extract(epoch from decided_at - requested_at)::float8 as took,
        extract(epoch from coalesce(closed_at, ${asOf.toISOString()}::timestamptz) - requested_at)::float8 as age
      from outcome
    )
    select count(*)::int as requested,
      count(*) filter (where approved and not rejected)::int as approved,
      count(*) filter (where rejected)::int as rejected,
      count(*) filter (where expired and decided_at is null)::int as expired,
      count(*) filter (where cancelled and decided_at is null and not expired)::int as cancelled,
      count(*) filter (where escalated)::int as escalated,
      count(*) filter (where closed_at is null)::int as open,
      count(sla)::int as with_sla,
      count(*) filter (where sla is not null and decided_at is not null and took <= sla)::int as sla_met,
      count(*) filter (where sla is not null and (
        (decided_at is not null and took > sla) or (decided_at is null and (expired or age > sla))))::int as sla_breached,
      percentile_cont(0.5) within group (order by took) as decision_p50,
      percentile_cont(0.9) within group (order by took) as decision_p90,
      max(took) as decision_max
    from o`.execute(ex);
  // Counts come back as numbers, percentiles as numbers or null (none decided); pg may send text.
  return Object.fromEntries(
    Object.entries(res.rows[0]!).map(([k, v]) => [k, v === null ? null : Number(v)]),
  ) as unknown as ApprovalStatsRow;
}
