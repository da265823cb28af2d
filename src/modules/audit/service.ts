/**
 * The audit module's operations, pure of HTTP: reading records with proofs, signing tree heads,
 * consistency proofs, evidence packages and their verification, settings and retention.
 *
 * Tenant reads run in `withTenant` (RLS confines them); signing and evidence building run as the
 * owner because they lock the tenant's log row and write tree heads.
 */
import { setImmediate } from 'node:timers/promises';
import type { Clock } from '../../platform/clock.js';
import type { Database, Executor, Tx } from '../../platform/db/database.js';
import { AuditProblems } from './errors.js';
import {
  EVIDENCE_FORMAT,
  type EvidencePackage,
  type EvidenceRecord,
  type VerifyFailure,
  type VerifyReport,
  verifyEvidenceAsync,
} from './evidence.js';
import {
  consistencyProofFromHashes,
  consistencyProofKeys,
  HASH_SIZE,
  inclusionProofFromHashes,
  inclusionProofKeys,
  MerkleAppender,
  MerkleError,
  type SubtreeKey,
  subtreeKeyId,
} from './merkle.js';
import { PII_KINDS } from './redaction/index.js';
import type { AuditSigningKey } from './signing-key.js';
import type { RecordRow, TreeHeadRow } from './store.js';
import * as store from './store.js';
import { TileCache } from './tiles.js';
import { type SignedTreeHeadJson, signTreeHead, treeHeadToJson } from './tree-head.js';
import type { AuditRecord, ListLogsQuery, SettingsBody } from './types.js';

/** Most records one evidence package (export or server-side verification) holds. */
export const MAX_EVIDENCE_RECORDS = 100_000;
/** Most tree heads one package holds; more are thinned evenly (first and last always kept). */
export const MAX_EVIDENCE_HEADS = 1000;
/** Records read, proved and serialized per step of an evidence package (the event loop is free between). */
const EVIDENCE_CHUNK = 500;

/** The value, or null when the log lacks a hash the proof needs (the verifier reports it). */
function orNull<T>(fn: () => T): T | null {
  try {
    return fn();
  } catch (err) {
    if (err instanceof MerkleError) return null;
    throw err;
  }
}

/** Payload retention in days per product (the defaults); other products: 7 years. */
export const DEFAULT_RETENTION_DAYS: Readonly<Record<string, number>> = {
  metering: 2557,
  oversight: 2557,
  runtime: 365,
  messaging: 90,
};
export const FALLBACK_RETENTION_DAYS = 2557;

export interface AuditServiceDeps {
  db: Database;
  clock: Clock;
  /** Resolved at start: the key is read from (or created in) the secrets store. */
  key: () => AuditSigningKey;
  /** A tenant's redaction settings changed on this node. */
  onSettingsChanged?: (tenantId: string) => void;
}

const iso = (d: Date) => new Date(d).toISOString();

function headJson(h: TreeHeadRow): SignedTreeHeadJson {
  return treeHeadToJson(
    { logId: h.tenant_id, treeSize: h.tree_size, timestamp: h.signed_at_ms, rootHash: h.root_hash },
    h.signature,
  );
}

/** The API form of a stored row: the hashed record while it lives, its skeleton once expired. */
export function toApiRecord(row: RecordRow): AuditRecord {
  if (row.canonical) {
    const r = parseHashed(row.canonical);
    if (r) return { ...r, leaf_index: row.leaf_index, status: 'active' };
  }
  // Expired, or bytes that are no longer a record (changed in the database: POST /verify says so);
  // either way the listing still reads, from the query columns.
  return {
    record_id: row.record_id,
    tenant_id: row.tenant_id,
    leaf_index: row.leaf_index,
    status: row.canonical ? 'active' : 'expired',
    product: row.product,
    event_type: row.event_type,
    actor: row.actor,
    resource_id: row.resource_id,
    action: row.action,
    outcome: row.outcome,
    timestamp: iso(row.occurred_at),
    metadata: null,
  };
}

function parseHashed(bytes: Buffer): AuditRecord | undefined {
  try {
    const r = JSON.parse(bytes.toString('utf8')) as unknown;
    return r !== null && typeof r === 'object' && !Array.isArray(r) ? (r as AuditRecord) : undefined;
  } catch {
    return undefined;
  }
}

function encodeCursor(leafIndex: number): string {
  return Buffer.from(`L${leafIndex}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number {
  const m = /^L(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const n = m ? Number(m[1]) : Number.NaN;
  if (!Number.isSafeInteger(n))
    throw AuditProblems.invalidCursor.create('cursor is not a next_cursor of this list', {
      field: 'query.cursor',
    });
  return n;
}

/**
 * A stored row as an evidence package holds it: its exact leaf bytes, the leaf hash the log holds
 * for it and its inclusion proof in the tree of `size` leaves (both null without `hashes`, or when
 * the log lacks a hash they need).
 */
function evidenceRecord(r: RecordRow, size: number, hashes?: Map<string, Buffer>): EvidenceRecord {
  return {
    leaf_index: r.leaf_index,
    record_id: r.record_id,
    status: r.canonical ? 'active' : 'expired',
    canonical: r.canonical ? r.canonical.toString('base64') : null,
    leaf_hash: hashes?.get(`0/${r.leaf_index}`)?.toString('base64') ?? null,
    audit_path: hashes
      ? orNull(() => inclusionProofFromHashes(r.leaf_index, size, hashes).map((h) => h.toString('base64')))
      : null,
  };
}

/** Where the next page of a paged export starts: the pinned head, the next leaf, the range's end. */
interface ExportCursor {
  t: number;
  f: number;
  e: number;
  from?: string | undefined;
  to?: string | undefined;
}

function encodeExportCursor(c: ExportCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** A cursor is only a range: a forged one reads no more than from/to would (its tenant is the caller's). */
function decodeExportCursor(text: string): ExportCursor {
  let c: Partial<ExportCursor> | null = null;
  try {
    c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Partial<ExportCursor>;
  } catch {
    // reported below
  }
  const index = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const time = (v: unknown) => v === undefined || (typeof v === 'string' && !Number.isNaN(Date.parse(v)));
  if (
    c === null ||
    typeof c !== 'object' ||
    !index(c.t) ||
    !index(c.f) ||
    !index(c.e) ||
    c.f! > c.e! ||
    c.e! > c.t! ||
    !time(c.from) ||
    !time(c.to)
  )
    throw AuditProblems.invalidCursor.create('cursor is not a next_cursor of this export', {
      field: 'query.cursor',
    });
  return { t: c.t!, f: c.f!, e: c.e!, from: c.from, to: c.to };
}

/** Evenly thins a sorted list to at most `max` items, keeping the first and the last. */
function thin<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const out: T[] = [];
  const step = (items.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(items[Math.round(i * step)]!);
  return out;
}

export function createAuditService(deps: AuditServiceDeps) {
  const { db, clock } = deps;
  // Tiles the proof routes read (bounded; see TileCache for why a cached tile stays right).
  const tileCache = new TileCache();

  /** Signs a head over every leaf not yet covered, for the logs `logsToSign` returns. */
  async function signIn(trx: Tx, tenantId: string | undefined): Promise<number> {
    const key = deps.key();
    const logs = await store.logsToSign(trx, tenantId, 1000);
    for (const log of logs) {
      const frontier: Buffer[] = [];
      for (let at = 0; at < log.frontier.length; at += HASH_SIZE)
        frontier.push(log.frontier.subarray(at, at + HASH_SIZE));
      const root = MerkleAppender.fromFrontier(log.tree_size, frontier).root();
      const head = { logId: log.tenant_id, treeSize: log.tree_size, timestamp: clock.now(), rootHash: root };
      await store.insertHead(trx, {
        tenant_id: log.tenant_id,
        tree_size: log.tree_size,
        signed_at_ms: head.timestamp,
        root_hash: root,
        signature: signTreeHead(key.privateKey, head),
        key_id: key.keyId,
      });
    }
    return logs.length;
  }

  /** Signs heads for every log with new leaves (the recurring job); returns how many. */
  async function signPending(): Promise<number> {
    return db.transaction((trx) => signIn(trx, undefined));
  }

  /** The latest head of a tenant, signing one first when leaves are not yet covered (or none exists). */
  async function currentHead(tenantId: string): Promise<TreeHeadRow> {
    return db.transaction(async (trx) => {
      await store.lockLogs(trx, [tenantId]);
      await signIn(trx, tenantId);
      return (await store.latestHead(trx, tenantId))!;
    });
  }

  async function nodes(ex: Executor, tenantId: string, keys: SubtreeKey[]) {
    return store.getNodes(ex, tenantId, keys, tileCache);
  }

  async function listRecords(tenantId: string, q: ListLogsQuery) {
    const before = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
    if (q.from && q.to && Date.parse(q.from) > Date.parse(q.to))
      throw AuditProblems.invalidRange.create(`from (${q.from}) must not be after to (${q.to})`, {
        field: 'query.from',
      });
    const rows = await db.withTenant(tenantId, (trx) =>
      store.listRecords(
        trx,
        tenantId,
        {
          product: q.product,
          eventType: q.event_type,
          actor: q.actor,
          resource: q.resource,
          action: q.action,
          outcome: q.outcome,
          from: q.from,
          to: q.to,
        },
        before,
        q.limit + 1,
      ),
    );
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toApiRecord),
      next_cursor: rows.length > q.limit && last ? encodeCursor(last.leaf_index) : null,
    };
  }

  const proofKeys = (leafIndex: number, treeSize: number): SubtreeKey[] => [
    { level: 0, index: leafIndex },
    ...inclusionProofKeys(leafIndex, treeSize),
  ];

  async function getRecordWithProof(tenantId: string, recordId: string) {
    // One transaction on the common path, a proof being a hot read: record, head and the tiles on
    // the leaf's path in one statement; the right edge's tiles mostly come from the cache, else
    // from a second statement.
    const found = await db.withTenant(tenantId, async (trx) => {
      const hit = await store.findRecordForProof(trx, tenantId, recordId);
      if (!hit) return undefined;
      const { row, head, pathTiles } = hit;
      if (!head || head.tree_size <= row.leaf_index) return { row, head: undefined, hashes: undefined };
      tileCache.put(tenantId, pathTiles);
      return { row, head, hashes: await nodes(trx, tenantId, proofKeys(row.leaf_index, head.tree_size)) };
    });
    if (!found) throw AuditProblems.recordNotFound.create(`no audit record ${recordId} in this tenant’s log`);
    const { row } = found;
    let { head, hashes } = found;
    if (!head || !hashes) {
      // Appended since the last head: sign one now, so the proof is against a head that covers it.
      const signed = await currentHead(tenantId);
      head = signed;
      hashes = await db.withTenant(tenantId, (trx) =>
        nodes(trx, tenantId, proofKeys(row.leaf_index, signed.tree_size)),
      );
    }
    const leaf = hashes.get(subtreeKeyId({ level: 0, index: row.leaf_index }));
    if (!leaf) throw new MerkleError('missing_hash', `leaf hash of ${row.leaf_index} is missing`);
    return {
      record: toApiRecord(row),
      canonical: row.canonical ? row.canonical.toString('base64') : null,
      leaf_hash: leaf.toString('base64'),
      inclusion_proof: {
        leaf_index: row.leaf_index,
        tree_size: head.tree_size,
        audit_path: inclusionProofFromHashes(row.leaf_index, head.tree_size, hashes).map((h) =>
          h.toString('base64'),
        ),
      },
      tree_head: headJson(head),
    };
  }

  async function treeHead(tenantId: string, treeSize?: number): Promise<SignedTreeHeadJson> {
    if (treeSize === undefined) return headJson(await currentHead(tenantId));
    const [head, size] = await db.withTenant(tenantId, async (trx) => [
      await store.headAt(trx, tenantId, treeSize),
      await store.logSize(trx, tenantId),
    ]);
    if (head) return headJson(head);
    if (treeSize > size)
      throw AuditProblems.invalidRange.create(`tree_size ${treeSize} is past the log's size (${size})`, {
        field: 'query.tree_size',
      });
    throw AuditProblems.treeHeadNotFound.create(`no tree head was signed at size ${treeSize}`, {
      field: 'query.tree_size',
    });
  }

  async function consistency(tenantId: string, first: number, second: number) {
    if (first > second)
      throw AuditProblems.invalidRange.create(`first (${first}) must not exceed second (${second})`, {
        field: 'query.first',
      });
    const { size, hashes } = await db.withTenant(tenantId, async (trx) => {
      const latest = await store.latestHead(trx, tenantId);
      const signed = latest?.tree_size ?? 0;
      if (second > signed) return { size: signed, hashes: undefined };
      return { size: signed, hashes: await nodes(trx, tenantId, consistencyProofKeys(first, second)) };
    });
    if (!hashes)
      throw AuditProblems.invalidRange.create(
        `second (${second}) is past the latest signed tree head (size ${size})`,
        { field: 'query.second' },
      );
    return {
      first,
      second,
      consistency: consistencyProofFromHashes(first, second, hashes).map((h) => h.toString('base64')),
    };
  }

  interface EvidenceRange {
    /** One record (POST /verify {record_id}): a row past the signed tree is checked as an insertion. */
    recordIndex?: number | undefined;
    fromIndex?: number | undefined;
    toIndex?: number | undefined;
    from?: string | undefined;
    to?: string | undefined;
    /** The signed head every proof is against (a later page of an export); default the latest. */
    treeSize?: number | undefined;
    /** Records per package: a longer range is answered page by page (`next_cursor`). */
    limit?: number | undefined;
  }

  /** Everything of a package but its records: decided under the log's lock, in one transaction. */
  interface EvidencePlan {
    tenantId: string;
    /** Size of the signed head every proof is against. */
    size: number;
    fromIndex: number;
    /** End (exclusive) of this package's records. */
    partEnd: number;
    /** The head was the latest: rows past every signed head are looked for at the end (insertions). */
    latest: boolean;
    head: Omit<EvidencePackage, 'records' | 'manifest'>;
    manifest: Omit<EvidencePackage['manifest'], 'record_count'>;
  }

  /**
   * Plans an evidence package from the database as it is (tampered or not: the package carries
   * what the log says, the verifier decides). Signs a head over any uncovered leaf first, under the
   * log's row lock, so every legitimate record is covered; then the records are read a chunk at a
   * time by `evidenceRecords`.
   *
   * Paged (`limit`): every page of one export is proved against the same signed head, pinned in
   * the cursor, so the pages chain into one verifiable whole however the log grows meanwhile.
   */
  async function planEvidence(tenantId: string, range: EvidenceRange): Promise<EvidencePlan> {
    const key = deps.key();
    return db.transaction(async (trx) => {
      await store.lockLogs(trx, [tenantId]);
      await signIn(trx, tenantId);
      const latest = (await store.latestHead(trx, tenantId))!;
      const head =
        range.treeSize === undefined || range.treeSize === latest.tree_size
          ? latest
          : await store.headAt(trx, tenantId, range.treeSize);
      if (!head)
        throw AuditProblems.invalidRange.create(
          `the cursor names tree size ${range.treeSize}, which is not a signed tree head of this log`,
          { field: 'query.cursor' },
        );
      const size = head.tree_size;
      const byTime = range.from !== undefined || range.to !== undefined;
      let fromIndex = range.fromIndex ?? 0;
      let toIndex = range.toIndex ?? size;
      if (range.recordIndex !== undefined) {
        fromIndex = Math.min(range.recordIndex, size);
        toIndex = Math.min(range.recordIndex + 1, size);
      } else if (byTime && range.fromIndex === undefined) {
        const found = await store.leafRangeForTime(trx, tenantId, range.from, range.to);
        fromIndex = Math.min(found?.from ?? size, size);
        toIndex = Math.min(found?.to ?? size, size);
      } else {
        const field = (name: string) => (range.treeSize === undefined ? `body.${name}` : 'query.cursor');
        for (const [name, value] of [
          ['from_index', fromIndex],
          ['to_index', toIndex],
        ] as const) {
          if (value > size)
            throw AuditProblems.invalidRange.create(
              `${name} ${value} is past the end of the log (tree size ${size})`,
              { field: field(name) },
            );
        }
        if (fromIndex > toIndex)
          throw AuditProblems.invalidRange.create(`from_index ${fromIndex} is past to_index ${toIndex}`, {
            field: field('from_index'),
          });
      }
      let partEnd = toIndex;
      if (range.limit !== undefined) partEnd = Math.min(toIndex, fromIndex + range.limit);
      else if (toIndex - fromIndex > MAX_EVIDENCE_RECORDS)
        throw AuditProblems.tooLarge.create(
          `the range holds ${toIndex - fromIndex} records; at most ${MAX_EVIDENCE_RECORDS} per request (page with limit and cursor, or use warden audit export)`,
          { field: byTime ? 'query.to' : 'body.to_index' },
        );
      const headCount = await store.countHeadsBetween(trx, tenantId, Math.max(fromIndex, 1), size);
      let heads = await store.headsBetween(
        trx,
        tenantId,
        Math.max(fromIndex, 1),
        size,
        20 * MAX_EVIDENCE_HEADS,
      );
      if (heads.length === 0 || heads[heads.length - 1]!.tree_size !== size) heads.push(head);
      const thinned = headCount > MAX_EVIDENCE_HEADS || heads.length > MAX_EVIDENCE_HEADS;
      heads = thin(heads, MAX_EVIDENCE_HEADS);
      const keys: SubtreeKey[] = [];
      for (let i = 1; i < heads.length; i++) {
        if (heads[i - 1]!.tree_size > 0)
          for (const k of consistencyProofKeys(heads[i - 1]!.tree_size, heads[i]!.tree_size)) keys.push(k);
      }
      const hashes = await store.getNodes(trx, tenantId, keys);
      const consistency: EvidencePackage['consistency'] = [];
      for (let i = 1; i < heads.length; i++) {
        const a = heads[i - 1]!.tree_size;
        const b = heads[i]!.tree_size;
        if (a === 0) continue;
        consistency.push({
          first: a,
          second: b,
          proof: orNull(() => consistencyProofFromHashes(a, b, hashes).map((h) => h.toString('base64'))),
        });
      }
      return {
        tenantId,
        size,
        fromIndex,
        partEnd,
        latest: head === latest,
        head: {
          format: EVIDENCE_FORMAT,
          public_key: { algorithm: 'Ed25519', key_id: key.keyId, spki_der: key.publicDer.toString('base64') },
          tree_heads: heads.map(headJson),
          consistency,
        },
        manifest: {
          tenant_id: tenantId,
          exported_at: new Date(clock.now()).toISOString(),
          from_index: fromIndex,
          to_index: partEnd,
          from: range.from ?? null,
          to: range.to ?? null,
          tree_head_count: heads.length,
          tree_heads_thinned: thinned,
          range_to_index: toIndex,
          next_cursor:
            partEnd < toIndex
              ? encodeExportCursor({ t: size, f: partEnd, e: toIndex, from: range.from, to: range.to })
              : null,
        },
      };
    });
  }

  /**
   * A plan's records in leaf order, a chunk at a time: each chunk is read, proved and built in its
   * own short step with the event loop free in between, so a long package never holds the node
   * (measured: bench/audit-proofs.ts --export). Ends with the rows past every signed head, if any
   * (insertions), looked for after signing once more under the lock, so that a record appended
   * while the package was read is covered and not mistaken for one.
   */
  async function* evidenceRecords(
    plan: EvidencePlan,
  ): AsyncGenerator<{ records: EvidenceRecord[]; rows: RecordRow[] }> {
    const { tenantId, size } = plan;
    for (let a = plan.fromIndex; a < plan.partEnd; a += EVIDENCE_CHUNK) {
      const b = Math.min(plan.partEnd, a + EVIDENCE_CHUNK);
      const { rows, hashes } = await db.withTenant(tenantId, async (trx) => {
        const rows = await store.recordsInRange(trx, tenantId, a, b, EVIDENCE_CHUNK);
        const keys: SubtreeKey[] = [];
        for (const r of rows) {
          keys.push({ level: 0, index: r.leaf_index });
          for (const k of inclusionProofKeys(r.leaf_index, size)) keys.push(k);
        }
        return { rows, hashes: await store.getNodes(trx, tenantId, keys) };
      });
      yield { records: rows.map((r) => evidenceRecord(r, size, hashes)), rows };
      await setImmediate();
    }
    if (plan.latest && plan.partEnd === size) {
      const beyond = await db.transaction(async (trx) => {
        await store.lockLogs(trx, [tenantId]);
        await signIn(trx, tenantId);
        const now = (await store.latestHead(trx, tenantId))!;
        return store.recordsFrom(trx, tenantId, now.tree_size, 1000);
      });
      // Past every signed head: no logged leaf hash, no proof.
      if (beyond.length > 0) yield { rows: beyond, records: beyond.map((r) => evidenceRecord(r, size)) };
    }
  }

  /** A whole package in memory (server-side verification; bounded by MAX_EVIDENCE_RECORDS). */
  async function buildEvidence(
    tenantId: string,
    range: EvidenceRange,
  ): Promise<{ pkg: EvidencePackage; rows: Map<number, RecordRow> }> {
    const plan = await planEvidence(tenantId, range);
    const records: EvidenceRecord[] = [];
    const rows = new Map<number, RecordRow>();
    for await (const chunk of evidenceRecords(plan)) {
      for (const r of chunk.records) records.push(r);
      for (const r of chunk.rows) rows.set(r.leaf_index, r);
    }
    const pkg: EvidencePackage = {
      format: plan.head.format,
      manifest: { ...plan.manifest, record_count: records.length },
      public_key: plan.head.public_key,
      tree_heads: plan.head.tree_heads,
      consistency: plan.head.consistency,
      records,
    };
    return { pkg, rows };
  }

  /** The query columns must say what the hashed record says (else filters could hide a record). */
  function columnsCheck(rows: Map<number, RecordRow>) {
    return (r: EvidenceRecord, parsed: Record<string, unknown>): VerifyFailure | undefined => {
      const row = rows.get(r.leaf_index);
      if (!row) return undefined;
      const pairs: [string, unknown, unknown][] = [
        ['product', row.product, parsed.product],
        ['event_type', row.event_type, parsed.event_type],
        ['actor', row.actor, parsed.actor],
        ['resource_id', row.resource_id, parsed.resource_id],
        ['action', row.action, parsed.action],
        ['outcome', row.outcome, parsed.outcome],
        ['timestamp', iso(row.occurred_at), parsed.timestamp],
      ];
      for (const [name, column, hashed] of pairs) {
        if (column !== hashed)
          return {
            reason: 'record_fields_altered',
            detail: `the stored ${name} (${JSON.stringify(column)}) differs from the hashed record (${JSON.stringify(hashed)})`,
          };
      }
      return undefined;
    };
  }

  /**
   * Server-side verification of one record, a leaf range, or the whole log (up to
   * MAX_EVIDENCE_RECORDS): the same checks as the offline verifier, against this node's key.
   */
  async function verify(
    tenantId: string,
    body: { record_id?: string | undefined; from_index?: number | undefined; to_index?: number | undefined },
  ): Promise<VerifyReport> {
    let range: EvidenceRange = { fromIndex: body.from_index, toIndex: body.to_index };
    if (body.record_id) {
      const row = await db.withTenant(tenantId, (trx) => store.findRecord(trx, tenantId, body.record_id!));
      if (!row)
        throw AuditProblems.recordNotFound.create(`no audit record ${body.record_id} in this tenant’s log`);
      range = { recordIndex: row.leaf_index };
    } else if (
      body.from_index !== undefined &&
      body.to_index !== undefined &&
      body.from_index > body.to_index
    ) {
      throw AuditProblems.invalidRange.create(
        `from_index (${body.from_index}) must not exceed to_index (${body.to_index})`,
        { field: 'body.from_index' },
      );
    }
    const { pkg, rows } = await buildEvidence(tenantId, range);
    return verifyEvidenceAsync(pkg, { publicKey: deps.key().publicKey, checkRecord: columnsCheck(rows) });
  }

  /**
   * An export's package as JSON text, produced a chunk of records at a time (the route streams it).
   * Range problems are thrown before the first byte, so they still answer as problems.
   *
   * @example
   *   reply.type('application/json').send(Readable.from(await service.exportEvidence(tenantId, query)));
   */
  async function exportEvidence(
    tenantId: string,
    query: { from?: string; to?: string; limit?: number; cursor?: string },
  ): Promise<AsyncGenerator<string>> {
    let range: EvidenceRange;
    if (query.cursor !== undefined) {
      if (query.from !== undefined || query.to !== undefined)
        throw AuditProblems.invalidRange.create('a cursor carries its range: send it without from and to', {
          field: 'query.cursor',
        });
      const c = decodeExportCursor(query.cursor);
      range = {
        treeSize: c.t,
        fromIndex: c.f,
        toIndex: c.e,
        from: c.from,
        to: c.to,
        limit: query.limit ?? MAX_EVIDENCE_RECORDS,
      };
    } else {
      if (query.from && query.to && Date.parse(query.from) > Date.parse(query.to))
        throw AuditProblems.invalidRange.create(`from (${query.from}) must not be after to (${query.to})`, {
          field: 'query.from',
        });
      range = { from: query.from, to: query.to, limit: query.limit };
    }
    return evidenceJson(await planEvidence(tenantId, range));
  }

  /** The members in the order of EvidencePackage; the manifest, which counts the records, last. */
  async function* evidenceJson(plan: EvidencePlan): AsyncGenerator<string> {
    const h = plan.head;
    yield `{"format":${JSON.stringify(h.format)},"public_key":${JSON.stringify(h.public_key)},"tree_heads":${JSON.stringify(h.tree_heads)},"consistency":${JSON.stringify(h.consistency)},"records":[`;
    let count = 0;
    for await (const chunk of evidenceRecords(plan)) {
      if (chunk.records.length === 0) continue;
      yield `${count > 0 ? ',' : ''}${chunk.records.map((r) => JSON.stringify(r)).join(',')}`;
      count += chunk.records.length;
    }
    yield `],"manifest":${JSON.stringify({ ...plan.manifest, record_count: count })}}`;
  }

  async function getSettings(tenantId: string) {
    const row = (await db.withTenant(tenantId, (trx) => store.getSettings(trx, [tenantId]))).get(tenantId);
    return {
      redaction_kinds: row?.redaction_kinds ?? null,
      retention_days: { ...DEFAULT_RETENTION_DAYS, ...(row?.retention_days ?? {}) },
      default_retention_days: FALLBACK_RETENTION_DAYS,
    };
  }

  async function putSettings(tenantId: string, body: SettingsBody) {
    const kinds = body.redaction_kinds;
    if (kinds) {
      const unknown = kinds.find((k) => !(PII_KINDS as readonly string[]).includes(k));
      if (unknown !== undefined)
        throw AuditProblems.invalidSettings.create(
          `unknown redaction kind ${JSON.stringify(unknown)}; known: ${PII_KINDS.join(', ')}`,
          { field: 'body.redaction_kinds' },
        );
    }
    await db.withTenant(tenantId, async (trx) => {
      const current = (await store.getSettings(trx, [tenantId])).get(tenantId);
      await store.putSettings(trx, {
        tenant_id: tenantId,
        redaction_kinds: kinds === undefined ? (current?.redaction_kinds ?? null) : kinds,
        retention_days: body.retention_days ?? current?.retention_days ?? {},
      });
    });
    deps.onSettingsChanged?.(tenantId);
    return getSettings(tenantId);
  }

  /** Expires payloads past retention, in batches; returns how many records it expired. */
  async function expireDue(batch = 5000, maxBatches = 200): Promise<number> {
    let total = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await db.transaction((trx) =>
        store.expireRecords(
          trx,
          DEFAULT_RETENTION_DAYS,
          FALLBACK_RETENTION_DAYS,
          new Date(clock.now()).toISOString(),
          batch,
        ),
      );
      total += n;
      if (n < batch) break;
    }
    return total;
  }

  /** Counts of the period's records among the first `treeSize` leaves (those a signed head covers). */
  async function periodStats(tenantId: string, from: string, to: string, treeSize: number) {
    return db.withTenant(tenantId, (trx) => store.periodStats(trx, tenantId, from, to, treeSize));
  }

  async function approvalStats(tenantId: string, from: string, to: string, treeSize: number, asOf: Date) {
    return db.withTenant(tenantId, (trx) => store.approvalStats(trx, tenantId, from, to, treeSize, asOf));
  }

  return {
    signPending,
    currentHead: async (tenantId: string) => headJson(await currentHead(tenantId)),
    listRecords,
    getRecordWithProof,
    treeHead,
    consistency,
    buildEvidence,
    exportEvidence,
    verify,
    getSettings,
    putSettings,
    expireDue,
    periodStats,
    approvalStats,
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
