/**
 * The audit module: an append-only Merkle log per tenant (RFC 6962 hashing), signed tree heads,
 * inclusion and consistency proofs, PII redaction before storage, retention, evidence export and
 * compliance reports. Public face: `createAuditModule(deps)` and the types other modules may use.
 *
 * Other modules record through either
 *  - the outbox: `publish(trx, { topic: 'audit.record', tenantId, payload: { product, event_type,
 *    actor, resource_id, action, outcome, metadata } })` — written in the same transaction as the
 *    change, appended exactly once (the event id becomes the record id); or
 *  - in process, on hot paths: `audit.append(record)` (an enqueue; flushed in batches) and
 *    `await audit.flush()` / `audit.appendDurable(record)` when the caller needs durability.
 */
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import type { Consumer } from '../../platform/events/bus.js';
import type { WardenModule } from '../../platform/module.js';
import type { SecretsStore } from '../../platform/secrets.js';
import {
  type AppendedRecord,
  AuditBuffer,
  type AuditWriter,
  prepare,
  RedactorCache,
  writeBatch,
} from './log-writer.js';
import { PreparePool } from './prepare-pool.js';
import { type AuditAppend, checkAppend, DEPLOYMENT_LOG_ID } from './record.js';
import { registerComplianceReport } from './routes/compliance-report.js';
import { registerGetConsistency } from './routes/consistency-get.js';
import { registerExport } from './routes/export.js';
import { registerGetKey } from './routes/key-get.js';
import { registerAppendLog } from './routes/log-append.js';
import { registerGetLog } from './routes/logs-get.js';
import { registerListLogs } from './routes/logs-list.js';
import { registerSettings } from './routes/settings.js';
import { registerGetSth } from './routes/sth-get.js';
import { registerVerify } from './routes/verify.js';
import { type AuditService, createAuditService } from './service.js';
import { type AuditSigningKey, loadOrCreateSigningKey } from './signing-key.js';
import { existingRecordIds } from './store.js';
import { AuditRecord, SignedTreeHead } from './types.js';
import { ThreadedAuditBuffer } from './writer-thread.js';

export {
  EVIDENCE_FORMAT,
  type EvidencePackage,
  parsePublicKey,
  type VerifyReport,
  verifyEvidence,
} from './evidence.js';
export {
  EVIDENCE_STREAM_END_FORMAT,
  EVIDENCE_STREAM_FORMAT,
  type EvidenceStreamEnd,
  type EvidenceStreamHeader,
  EvidenceStreamVerifier,
  streamHeader,
} from './evidence-stream.js';
export type { AppendedRecord } from './log-writer.js';
export { type AuditAppend, DEPLOYMENT_LOG_ID } from './record.js';

/** The outbox topic other modules publish audit records on. */
export const AUDIT_RECORD_TOPIC = 'audit.record';

export interface AuditModule extends WardenModule {
  readonly service: AuditService;
  /** Worker threads preparing records (redaction, canonical bytes, leaf hash); 0 = the writer's thread. */
  readonly prepareThreads: number;
  /** Whether records are written by a thread of their own (see writer-thread.ts). */
  readonly writerThread: boolean;
  /** Records accepted by `append` and not yet written: the audit backlog (metric `warden_audit_buffered`). */
  readonly buffered: number;
  /**
   * Validates and enqueues a record; returns its record id at once (never waits on the database).
   * Throws `audit-invalid-record` (bad field) or `audit-buffer-full` (503: the database is behind).
   *
   * @example
   *   audit.append({ tenant_id, product: 'oversight', event_type: 'decision.made', actor: `agent:${id}`,
   *     resource_id: resource, action: 'sandbox.create', outcome: 'allow', metadata: { policy_version } });
   */
  append(record: AuditAppend): string;
  /** Appends and resolves once durable, with the leaf index. Not inside a transaction callback. */
  appendDurable(record: AuditAppend): Promise<AppendedRecord>;
  /** Writes everything appended before the call. */
  flush(): Promise<void>;
  /**
   * A tenant's last `n` records matching the filter, newest first, after writing what this node
   * has buffered. Expired records come with `metadata: null`.
   *
   * @example
   *   const last = await audit.recent(tenantId, { product: 'oversight', event_type: 'decision.made' }, 1000);
   */
  recent(
    tenantId: string,
    filter: { readonly product?: string; readonly event_type?: string },
    n: number,
  ): Promise<AuditRecord[]>;
  /** Signs a tree head for every log with uncovered leaves (the `audit.sign` job does it every second). */
  signPending(): Promise<number>;
}

export interface AuditModuleDeps {
  db: Database;
  clock: Clock;
  secrets: SecretsStore;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  /** How long a record may wait in memory before its batch starts: the window a crash can lose (default 20 ms). */
  flushIntervalMs?: number;
  /** Records per transaction (default 5000). */
  maxBatch?: number;
  /** Records buffered before `append` refuses (default 200 000). */
  maxBuffered?: number;
  /**
   * Worker threads that prepare records (redaction, canonical bytes, leaf hash) off the thread that
   * talks to the database; 0 (default) prepares on it. Worth it with a core to spare.
   */
  prepareWorkers?: number;
  /**
   * Prepare and write records on a thread of their own (when `db` can be reached from one: PostgreSQL,
   * with a pool of `poolSize` connections, default 2, or PGlite on its thread), so that work never
   * holds up this thread's event loop. Otherwise records are written from this thread.
   */
  writerThread?: boolean | { poolSize?: number } | undefined;
}

/** The default window a crash can lose, and the longest a record waits for its batch to start. */
const FLUSH_INTERVAL_MS = 20;

/** Records read per statement by `recent`. */
const RECENT_PAGE = 1000;

export function createAuditModule(deps: AuditModuleDeps): AuditModule {
  let signingKey: AuditSigningKey | undefined;
  const key = (): AuditSigningKey => {
    if (!signingKey) throw new Error('the audit module has not started: its signing key is not loaded');
    return signingKey;
  };
  const redactors = new RedactorCache(() => deps.clock.now());
  const service = createAuditService({
    db: deps.db,
    clock: deps.clock,
    key,
    onSettingsChanged: (tenantId) => {
      redactors.invalidate(tenantId);
      buffer.invalidate(tenantId);
    },
  });
  let pool: PreparePool | undefined;
  const flushIntervalMs = deps.flushIntervalMs ?? FLUSH_INTERVAL_MS;
  const threaded = deps.writerThread !== undefined && deps.writerThread !== false && deps.db.linkable;
  const buffer: AuditWriter = threaded
    ? new ThreadedAuditBuffer({
        link: () => deps.db.threadLink(),
        poolSize: typeof deps.writerThread === 'object' ? deps.writerThread.poolSize : undefined,
        now: () => deps.clock.now(),
        log: deps.log,
        flushIntervalMs,
        maxBatch: deps.maxBatch,
        maxBuffered: deps.maxBuffered,
        prepareWorkers: deps.prepareWorkers,
      })
    : new AuditBuffer({
        db: deps.db,
        now: () => deps.clock.now(),
        redactors,
        log: deps.log,
        flushIntervalMs,
        maxBatch: deps.maxBatch,
        maxBuffered: deps.maxBuffered,
        get pool() {
          return pool;
        },
      });

  const consumer: Consumer = {
    name: 'audit.records',
    topics: [AUDIT_RECORD_TOPIC],
    // Appended in the delivery's own transaction: the record exists iff the delivery is marked done.
    async handle(event, trx) {
      const p = event.payload as Partial<AuditAppend>;
      const input: AuditAppend = {
        tenant_id: event.tenantId,
        product: p.product as string,
        event_type: p.event_type as string,
        actor: p.actor as string,
        resource_id: p.resource_id ?? null,
        action: p.action as string,
        outcome: p.outcome as string,
        metadata: (p.metadata ?? {}) as Record<string, unknown>,
      };
      checkAppend(input);
      const tenantId = input.tenant_id ?? DEPLOYMENT_LOG_ID;
      if ((await existingRecordIds(trx, tenantId, [event.id])).size > 0) return;
      const redactor = (await redactors.load(trx, [tenantId])).get(tenantId);
      await writeBatch(trx, [prepare(input, event.id, Date.parse(event.createdAt), redactor)]);
    },
  };

  return {
    name: 'audit',
    service,
    get prepareThreads() {
      return threaded ? (deps.prepareWorkers ?? 0) : (pool?.size ?? 0);
    },
    writerThread: threaded,
    get buffered() {
      return buffer.size;
    },
    append: (record) => buffer.append(record),
    appendDurable: (record) => buffer.appendDurable(record),
    flush: () => buffer.flush(),
    async recent(tenantId, filter, n) {
      await buffer.flush();
      const out: AuditRecord[] = [];
      let cursor: string | undefined;
      while (out.length < n) {
        const page = await service.listRecords(tenantId, {
          ...filter,
          limit: Math.min(RECENT_PAGE, n - out.length),
          ...(cursor ? { cursor } : {}),
        });
        out.push(...page.items);
        if (!page.next_cursor) break;
        cursor = page.next_cursor;
      }
      return out;
    },
    signPending: () => service.signPending(),
    consumers: () => [consumer],
    registerJobs(jobs) {
      jobs.define('audit.sign', {
        handler: async () => {
          if (signingKey) await service.signPending();
        },
        leaseMs: 30_000,
      });
      jobs.every('audit.sign', 'every 1s');
      jobs.define('audit.retention', {
        handler: async () => {
          await service.expireDue();
        },
        leaseMs: 10 * 60_000,
      });
      jobs.every('audit.retention', 'every 1h');
    },
    registerRoutes(app) {
      app.addSchema(AuditRecord);
      app.addSchema(SignedTreeHead);
      registerGetKey(app, key);
      registerAppendLog(app, buffer);
      registerListLogs(app, service);
      registerGetLog(app, service);
      registerGetSth(app, service);
      registerGetConsistency(app, service);
      registerVerify(app, service);
      registerExport(app, service);
      registerSettings(app, service);
      registerComplianceReport(app, service, () => deps.clock.now());
    },
    async start() {
      signingKey = await loadOrCreateSigningKey(deps.db, deps.secrets);
      if (!threaded && deps.prepareWorkers && deps.prepareWorkers > 0)
        pool = new PreparePool(deps.prepareWorkers);
      await buffer.start();
    },
    async stop() {
      await buffer.stop();
      await pool?.close();
      pool = undefined;
      if (signingKey) await service.signPending().catch(() => {});
    },
  };
}
