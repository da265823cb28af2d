/**
 * Writing leaves: preparing records (redaction, canonical bytes, leaf hash) and appending a batch
 * to the per-tenant trees inside one transaction, plus the in-memory buffer `append()` feeds.
 *
 * Leaf indexes are assigned under the row lock of each tenant's `audit.logs` row, so appends from
 * any number of nodes interleave into one gap-free order per tenant. A batch writes its records,
 * the tiles of the complete subtrees it creates (tiles.ts) and the new frontier in one transaction: a crash loses the
 * batch (the unflushed window) and never leaves a half-appended tree.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setImmediate } from 'node:timers/promises';
import type { Database, Executor, Tx } from '../../platform/db/database.js';
import { newId } from '../../platform/ids.js';
import { AuditProblems } from './errors.js';
import { HASH_SIZE, MerkleAppender } from './merkle.js';
import { type PreparedRecord, prepare, redactorFromKey } from './prepare.js';
import type { PreparePool } from './prepare-pool.js';
import { type AuditAppend, checkAppend, DEPLOYMENT_LOG_ID } from './record.js';
import type { Redactor } from './redaction/index.js';

export { type PreparedRecord, prepare } from './prepare.js';

import { appendTiles, getSettings, insertRecords, lockLogs, type NewRecordRow, updateLogs } from './store.js';
import { tileWrites } from './tiles.js';

/** Records prepared (redaction, canonical bytes, hash: ~25–35 µs each) between two turns of the event loop. */
const PREPARE_SLICE = 64;

export interface AppendedRecord {
  record_id: string;
  leaf_index: number;
  leaf_hash: string;
}

/** Redactors per tenant configuration; a redactor compiles its patterns once, so they are shared. */
export class RedactorCache {
  private readonly byKinds = new Map<string, Redactor | undefined>();
  private readonly byTenant = new Map<string, { key: string; at: number }>();

  constructor(
    private readonly now: () => number,
    private readonly ttlMs = 5000,
  ) {}

  /** Forget a tenant's configuration (it was just changed on this node). */
  invalidate(tenantId: string): void {
    this.byTenant.delete(tenantId);
  }

  /** The redactors of `tenantIds`, reading settings not cached (or stale) through `ex`. */
  async load(ex: Executor, tenantIds: string[]): Promise<Map<string, Redactor | undefined>> {
    const t = this.now();
    const stale = tenantIds.filter((id) => {
      const c = this.byTenant.get(id);
      return !c || t - c.at > this.ttlMs;
    });
    if (stale.length > 0) {
      const rows = await getSettings(ex, [...new Set(stale)]);
      for (const id of stale) {
        const kinds = rows.get(id)?.redaction_kinds ?? null;
        this.byTenant.set(id, { key: kinds === null ? '*' : [...kinds].sort().join(','), at: t });
      }
      if (this.byTenant.size > 100_000) this.byTenant.clear(); // bounded; reloads on demand
    }
    const out = new Map<string, Redactor | undefined>();
    for (const id of tenantIds) out.set(id, this.redactor(this.byTenant.get(id)!.key));
    return out;
  }

  /** The configuration keys (see `redactorFromKey`) of `tenantIds`, for a prepare pool. */
  async loadKeys(ex: Executor, tenantIds: string[]): Promise<Map<string, string>> {
    await this.load(ex, tenantIds);
    return new Map(tenantIds.map((id) => [id, this.byTenant.get(id)!.key]));
  }

  private redactor(key: string): Redactor | undefined {
    if (!this.byKinds.has(key)) this.byKinds.set(key, redactorFromKey(key));
    return this.byKinds.get(key);
  }
}

function splitFrontier(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += HASH_SIZE) out.push(bytes.subarray(at, at + HASH_SIZE));
  return out;
}

/**
 * Appends prepared records, in order, to their tenants' logs inside `trx`. Returns each record's
 * leaf index, in input order.
 */
export async function writeBatch(trx: Tx, batch: readonly PreparedRecord[]): Promise<number[]> {
  if (batch.length === 0) return [];
  const states = await lockLogs(
    trx,
    batch.map((p) => p.tenantId),
  );
  const byTenant = new Map<string, number[]>();
  batch.forEach((p, i) => {
    const list = byTenant.get(p.tenantId);
    if (list) list.push(i);
    else byTenant.set(p.tenantId, [i]);
  });
  const indexes = new Array<number>(batch.length);
  const rows: NewRecordRow[] = [];
  const tiles: Parameters<typeof appendTiles>[1] = [];
  const updates: Parameters<typeof updateLogs>[1] = [];
  for (const [tenantId, positions] of byTenant) {
    const state = states.get(tenantId)!;
    const appender = MerkleAppender.fromFrontier(state.tree_size, splitFrontier(state.frontier));
    const result = appender.append(positions.map((i) => batch[i]!.hash));
    positions.forEach((i, k) => {
      const p = batch[i]!;
      const r = p.record;
      indexes[i] = state.tree_size + k;
      rows.push({
        tenantId,
        leafIndex: state.tree_size + k,
        recordId: r.record_id,
        product: r.product,
        eventType: r.event_type,
        actor: r.actor,
        resourceId: r.resource_id,
        action: r.action,
        outcome: r.outcome,
        occurredAt: r.timestamp,
        canonical: p.canonical,
      });
    });
    for (const tile of tileWrites(result.nodes)) tiles.push({ tenantId, tile });
    updates.push({
      tenantId,
      treeSize: result.treeSize,
      frontier: Buffer.concat(result.appender.frontier().map((n) => n.hash)),
    });
  }
  await insertRecords(trx, rows);
  await appendTiles(trx, tiles);
  await updateLogs(trx, updates);
  return indexes;
}

const tenantOf = (p: Pending): string => p.input.tenant_id ?? DEPLOYMENT_LOG_ID;

interface Taken {
  batch: Pending[];
  prepared: PreparedRecord[];
  /** Taken in isolation mode (one tenant). */
  isolated: boolean;
}

interface Pending {
  seq: number;
  input: AuditAppend;
  recordId: string;
  timestampMs: number;
  durable?: { resolve: (r: AppendedRecord) => void; reject: (err: unknown) => void };
}

export interface AuditBufferOptions {
  db: Database;
  now: () => number;
  redactors: RedactorCache;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** The most records one transaction writes. */
  maxBatch?: number;
  /** How long a record may wait in memory: the window a crash can lose. */
  flushIntervalMs?: number;
  /** Records buffered before `append` refuses with 503 (the database is not keeping up). */
  maxBuffered?: number;
  /** Called after a batch commits, with its number of records (new leaves: the signer may run). */
  onCommitted?: (records: number) => void;
  /** Prepares batches on worker threads instead of this one (see prepare-pool.ts). */
  pool?: PreparePool | undefined;
}

/**
 * What the audit module appends through: an `AuditBuffer` on this thread, or the client of one on a
 * thread of its own (writer-thread.ts).
 */
export interface AuditWriter {
  /** Records accepted and not yet written. */
  readonly size: number;
  append(input: AuditAppend): string;
  appendDurable(input: AuditAppend): Promise<AppendedRecord>;
  flush(): Promise<void>;
  invalidate(tenantId: string): void;
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

/**
 * The buffer behind `audit.append`: validation now, everything else in batches.
 *
 * @example
 *   const buffer = new AuditBuffer({ db, now: clock.now, redactors, log });
 *   buffer.start();
 *   const id = buffer.append({ tenant_id, product: 'runtime', … }); // returns at once
 *   await buffer.flush();                                           // durable from here
 */
export class AuditBuffer implements AuditWriter {
  private queue: Pending[] = [];
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  private failures = 0;
  /** Batches taken off the queue and not yet committed (or put back): flush() waits for its records there too. */
  private readonly inFlight = new Set<Pending[]>();
  /**
   * Set after a failed batch: batches then hold one tenant each, and a tenant whose batch fails
   * goes to the back of the queue, so one tenant's broken log cannot hold up every other tenant's
   * records. Cleared once the queue drains.
   */
  private isolating = false;
  private readonly maxBatch: number;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;
  // Batches run in the context the buffer was built in, never in that of a caller's transaction
  // callback (on PGlite a flush started there would be taken for a nested transaction).
  private readonly inOwnContext = AsyncLocalStorage.snapshot();

  constructor(private readonly options: AuditBufferOptions) {
    this.maxBatch = options.maxBatch ?? 5000;
    this.flushIntervalMs = options.flushIntervalMs ?? 200;
    this.maxBuffered = options.maxBuffered ?? 200_000;
  }

  get size(): number {
    return this.queue.length;
  }

  /** Validates and enqueues; returns the record id. Throws `audit-invalid-record` or `audit-buffer-full`. */
  append(input: AuditAppend): string {
    return this.enqueue(input).recordId;
  }

  /**
   * Appends and resolves once the record's batch has committed, with its leaf index. Never await
   * it inside a transaction callback: the batch needs a connection of its own.
   */
  appendDurable(input: AuditAppend): Promise<AppendedRecord> {
    return new Promise((resolve, reject) => {
      try {
        const p = this.enqueue(input);
        p.durable = { resolve, reject };
        this.kick();
      } catch (err) {
        reject(err);
      }
    });
  }

  /**
   * Enqueues a record whose id and timestamp were assigned elsewhere (by the thread that accepted
   * it, see writer-thread.ts); resolves once durable when `durable`.
   */
  accept(input: AuditAppend, recordId: string, timestampMs: number, durable: true): Promise<AppendedRecord>;
  accept(input: AuditAppend, recordId: string, timestampMs: number, durable?: false): undefined;
  accept(
    input: AuditAppend,
    recordId: string,
    timestampMs: number,
    durable = false,
  ): Promise<AppendedRecord> | undefined {
    if (!durable) {
      this.enqueue(input, recordId, timestampMs);
      return undefined;
    }
    return new Promise((resolve, reject) => {
      try {
        this.enqueue(input, recordId, timestampMs).durable = { resolve, reject };
        this.kick();
      } catch (err) {
        reject(err);
      }
    });
  }

  /** Forgets a tenant's cached redaction settings (they were just changed on this node). */
  invalidate(tenantId: string): void {
    this.options.redactors.invalidate(tenantId);
  }

  private enqueue(input: AuditAppend, recordId?: string, timestampMs?: number): Pending {
    checkAppend(input);
    if (this.queue.length >= this.maxBuffered)
      throw AuditProblems.bufferFull.create(`${this.queue.length} audit records are waiting to be written`, {
        retry_after: 1,
        headers: { 'retry-after': '1' },
      });
    const p: Pending = {
      seq: ++this.seq,
      input,
      recordId: recordId ?? newId(),
      timestampMs: timestampMs ?? this.options.now(),
    };
    this.queue.push(p);
    if (this.queue.length >= this.maxBatch) this.kick();
    return p;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.queue.length > 0) this.kick();
    }, this.flushIntervalMs);
    this.timer.unref();
  }

  /**
   * Writes everything appended before the call, including records a batch already in flight took
   * off the queue (the timer's): returning while those are uncommitted would not be durable.
   * Throws if a batch fails (its records stay queued).
   */
  async flush(): Promise<void> {
    const target = this.seq;
    const mine = (p: Pending) => p.seq <= target;
    for (;;) {
      if (this.queue.some(mine)) await this.exclusive(() => this.flushOnce());
      else if (this.holdsInFlight(mine)) await this.running;
      else return;
    }
  }

  private holdsInFlight(mine: (p: Pending) => boolean): boolean {
    for (const batch of this.inFlight) if (batch.some(mine)) return true;
    return false;
  }

  /** Stops the timer and writes what is buffered (clean shutdown). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      await this.flush();
    } catch (err) {
      this.options.log.error(
        { err, lost: this.queue.length },
        'audit records could not be written at shutdown and are lost',
      );
    }
  }

  private kick(): void {
    this.inOwnContext(() => {
      void this.exclusive(() => this.flushOnce()).catch((err) => {
        this.failures++;
        if (this.failures === 1 || this.failures % 100 === 0)
          this.options.log.warn({ err, buffered: this.queue.length }, 'audit batch failed; retrying');
      });
    });
  }

  private exclusive(fn: () => Promise<void>): Promise<void> {
    const next = this.running.then(fn, fn);
    this.running = next.catch(() => {});
    return next;
  }

  /** The oldest records of the tenant at the front of the queue; the others keep their places. */
  private takeOneTenant(): Pending[] {
    const tenant = tenantOf(this.queue[0]!);
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    for (const p of this.queue) {
      if (batch.length < this.maxBatch && tenantOf(p) === tenant) batch.push(p);
      else rest.push(p);
    }
    this.queue = rest;
    return batch;
  }

  /** Takes the next batch off the queue and prepares it (redaction, canonical bytes, leaf hashes). */
  private async takePrepared(): Promise<Taken> {
    const isolated = this.isolating;
    const batch = isolated ? this.takeOneTenant() : this.queue.splice(0, this.maxBatch);
    this.inFlight.add(batch);
    try {
      const tenants = [...new Set(batch.map(tenantOf))];
      const pool = this.options.pool;
      if (pool) {
        const keys = await this.options.redactors.loadKeys(this.options.db.kysely, tenants);
        const prepared = await pool.prepare(
          batch.map((p) => ({
            input: p.input,
            recordId: p.recordId,
            timestampMs: p.timestampMs,
            redaction: keys.get(tenantOf(p))!,
          })),
        );
        return { batch, prepared, isolated };
      }
      const redactors = await this.options.redactors.load(this.options.db.kysely, tenants);
      // A slice at a time, the event loop free in between: a batch of thousands prepared in one
      // piece held every request behind it for tens of milliseconds (the decision path's p99).
      const prepared: PreparedRecord[] = [];
      for (let i = 0; i < batch.length; i++) {
        const p = batch[i]!;
        prepared.push(prepare(p.input, p.recordId, p.timestampMs, redactors.get(tenantOf(p))));
        if ((i + 1) % PREPARE_SLICE === 0 && i + 1 < batch.length) await setImmediate();
      }
      return { batch, prepared, isolated };
    } catch (err) {
      this.failed({ batch, prepared: [], isolated }, err);
      throw err;
    }
  }

  /** A batch was not written: durable callers learn now, the other records are queued again, in order. */
  private failed(taken: Taken, err: unknown): void {
    const { batch, isolated } = taken;
    this.inFlight.delete(batch);
    const kept = batch.filter((p) => !p.durable);
    for (const p of batch) p.durable?.reject(err);
    if (isolated) {
      // This tenant's log refuses the batch: all its records (in order) go behind the others'.
      const tenant = tenantOf(batch[0]!);
      const later = this.queue.filter((p) => tenantOf(p) === tenant);
      this.queue = [...this.queue.filter((p) => tenantOf(p) !== tenant), ...kept, ...later];
    } else {
      this.queue = [...kept, ...this.queue];
      this.isolating = true;
    }
  }

  /**
   * Writes batches until the queue is empty. Preparing a batch is CPU work on this thread and
   * writing one is waiting on the database, so the next batch is prepared while the current one
   * is being written; writes stay one at a time, in queue order.
   */
  private async flushOnce(): Promise<void> {
    if (this.queue.length === 0) return;
    // Only what was queued when this run began, so a flush() waiting its turn is not starved by
    // records that keep arriving.
    const until = this.seq;
    let current: Taken | undefined = await this.takePrepared();
    while (current) {
      const taken: Taken = current;
      const writing = this.options.db.transaction((trx) => writeBatch(trx, taken.prepared));
      writing.catch(() => {}); // handled below, after the next batch is prepared
      let next: Taken | undefined;
      let nextError: unknown;
      if (this.queue.length > 0 && this.queue[0]!.seq <= until) {
        try {
          next = await this.takePrepared();
        } catch (err) {
          nextError = err; // its records are back in the queue; this batch may still commit
        }
      }
      let leafIndexes: number[];
      try {
        leafIndexes = await writing;
      } catch (err) {
        if (next) {
          this.inFlight.delete(next.batch);
          this.queue = [...next.batch, ...this.queue]; // prepared, never attempted
        }
        this.failed(taken, err);
        throw err;
      }
      if (this.queue.length === 0 && !next) this.isolating = false;
      this.failures = 0;
      this.inFlight.delete(taken.batch);
      for (const [i, p] of taken.batch.entries()) {
        p.durable?.resolve({
          record_id: p.recordId,
          leaf_index: leafIndexes[i]!,
          leaf_hash: taken.prepared[i]!.hash.toString('base64'),
        });
      }
      this.options.onCommitted?.(taken.batch.length);
      if (nextError !== undefined) throw nextError;
      current = next;
    }
    if (this.queue.length >= this.maxBatch) this.kick();
  }
}
