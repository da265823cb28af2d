/**
 * The audit writer on a thread of its own: this thread validates a record, gives it its id and
 * timestamp and hands it over; the writer thread (writer-worker.ts) redacts, canonicalises, hashes
 * and appends it in batches through a connection of its own — a PostgreSQL pool, or a port to the
 * embedded database's thread, whose statements take turns with this thread's.
 *
 * Why: on the decision path every request appends a record, and preparing and writing it on the
 * event loop that serves requests cost ~40 µs of that loop's time per decision, arrived in batches
 * of hundreds (stalls of 5–15 ms while a batch's leaves were hashed and its statement built) and
 * kept every record alive long enough to be promoted to the old generation (major GCs). Here the
 * loop only pays for validation and one structured-clone hand-over per turn of the loop for all
 * the records of that turn.
 *
 * Same contract as `AuditBuffer`: `append` returns at once (or refuses with 503 once `maxBuffered`
 * records are held), `appendDurable` resolves with the leaf index once committed, `flush` waits for
 * everything appended before it. A writer thread that dies is started again; records it held and
 * had not written are lost (logged with their count), as a crash of the node loses its unflushed
 * window, and durable waiters are rejected.
 */
import type { Worker } from 'node:worker_threads';
import type { ThreadLink } from '../../platform/db/database.js';
import { newId } from '../../platform/ids.js';
import { startThread } from '../../platform/threads.js';
import { AuditProblems } from './errors.js';
import type { AppendedRecord, AuditWriter } from './log-writer.js';
import { type AuditAppend, checkAppend } from './record.js';
import {
  fromPlain,
  type HandedRecord,
  type ToWriter,
  type WriterData,
  type WriterReply,
} from './writer-protocol.js';

export interface WriterThreadOptions {
  /** How the thread reaches the database; asked again for each thread started (`Database.threadLink`). */
  link: () => ThreadLink | undefined;
  /** On PostgreSQL, connections the thread's pool may open (default 2: one writing, one preparing the next). */
  poolSize?: number;
  now: () => number;
  log: { error(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  flushIntervalMs?: number;
  maxBatch?: number;
  /** Records held (handed over and not yet written) before `append` refuses with 503. */
  maxBuffered?: number;
  prepareWorkers?: number;
  /** Called after the thread commits a batch. */
  onCommitted?: (records: number) => void;
}

interface Waiter {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** How long to wait before starting a writer thread again after one died or failed to start. */
const RESTART_MS = 1000;

export class ThreadedAuditBuffer implements AuditWriter {
  private worker: Worker | undefined;
  private ready: Promise<void> | undefined;
  /** Accepted this turn of the event loop, not handed over yet. */
  private outbox: HandedRecord[] = [];
  private posting = false;
  /** Handed over and not yet reported written (or refused). */
  private held = 0;
  private nextId = 0;
  private readonly waiters = new Map<number, Waiter>();
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly maxBuffered: number;

  constructor(private readonly options: WriterThreadOptions) {
    this.maxBuffered = options.maxBuffered ?? 200_000;
  }

  get size(): number {
    return this.outbox.length + this.held;
  }

  /** Starts the thread; resolves once its database pool answers. */
  start(): Promise<void> {
    this.stopping = false;
    this.ready ??= this.spawn();
    return this.ready;
  }

  append(input: AuditAppend): string {
    return this.accept(input, 0);
  }

  appendDurable(input: AuditAppend): Promise<AppendedRecord> {
    return new Promise((resolve, reject) => {
      try {
        const id = ++this.nextId;
        this.accept(input, id);
        this.waiters.set(id, { resolve: resolve as (v: unknown) => void, reject });
      } catch (err) {
        reject(err);
      }
    });
  }

  async flush(): Promise<void> {
    await this.ready;
    this.post();
    await this.request({ t: 'flush', id: ++this.nextId });
  }

  invalidate(tenantId: string): void {
    // After the records accepted before the change, as the buffer on this thread would.
    this.post();
    this.worker?.postMessage({ t: 'invalidate', tenantId } satisfies ToWriter);
  }

  /** Writes what is held and stops the thread (clean shutdown). */
  async stop(): Promise<void> {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const worker = this.worker;
    if (!worker || this.stopping) return;
    try {
      await this.ready;
      this.post();
      this.stopping = true;
      await this.request({ t: 'stop', id: ++this.nextId });
    } catch (err) {
      this.options.log.error(
        { err, lost: this.size },
        'audit records could not be written at shutdown and are lost',
      );
    } finally {
      this.stopping = true;
      await worker.terminate();
      this.worker = undefined;
      this.ready = undefined;
    }
  }

  private accept(input: AuditAppend, durableId: number): string {
    checkAppend(input);
    const size = this.size;
    if (size >= this.maxBuffered)
      throw AuditProblems.bufferFull.create(`${size} audit records are waiting to be written`, {
        retry_after: 1,
        headers: { 'retry-after': '1' },
      });
    const recordId = newId();
    this.outbox.push([input, recordId, this.options.now(), durableId]);
    if (!this.posting) {
      this.posting = true;
      setImmediate(this.post);
    }
    return recordId;
  }

  /** Hands the records accepted so far over in one message (one structured clone per turn). */
  private readonly post = (): void => {
    this.posting = false;
    if (!this.worker || this.outbox.length === 0) return;
    const items = this.outbox;
    this.outbox = [];
    this.held += items.length;
    this.worker.postMessage({ t: 'records', items } satisfies ToWriter);
  };

  private request(message: Extract<ToWriter, { id: number }>): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.reject(new Error('the audit writer thread is not running'));
    return new Promise((resolve, reject) => {
      this.waiters.set(message.id, { resolve: resolve as (v: unknown) => void, reject });
      worker.postMessage(message);
    });
  }

  private spawn(): Promise<void> {
    const link = this.options.link();
    if (!link) return Promise.reject(new Error('the database cannot be reached from another thread'));
    const data: WriterData = {
      link: 'url' in link ? { url: link.url, poolSize: this.options.poolSize ?? 2 } : link,
      flushIntervalMs: this.options.flushIntervalMs ?? 20,
      maxBatch: this.options.maxBatch ?? 5000,
      prepareWorkers: this.options.prepareWorkers ?? 0,
    };
    const worker = startThread(import.meta.url, 'writer-worker', {
      workerData: data,
      transferList: 'pglite' in link ? [link.pglite] : [],
    });
    worker.unref();
    this.worker = worker;
    let started = false;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: WriterReply) => {
        switch (m.t) {
          case 'ready':
            started = true;
            resolve();
            this.post(); // records accepted while it was starting
            break;
          case 'init-failed':
            reject(fromPlain(m.error));
            break;
          case 'committed':
            this.held -= m.n;
            this.options.onCommitted?.(m.n);
            break;
          case 'durable': {
            const w = this.waiters.get(m.id);
            this.waiters.delete(m.id);
            if (m.ok) w?.resolve(m.record);
            else {
              this.held--; // a durable record whose batch failed is not retried
              w?.reject(fromPlain(m.error));
            }
            break;
          }
          case 'done': {
            const w = this.waiters.get(m.id);
            this.waiters.delete(m.id);
            if (m.ok) w?.resolve(undefined);
            else w?.reject(fromPlain(m.error));
            break;
          }
          case 'log':
            this.options.log[m.level](m.obj, m.msg);
            break;
        }
      });
      worker.on('error', (err) => {
        if (!started) reject(err);
        this.died(worker, err);
      });
      worker.on('exit', (code) =>
        this.died(worker, new Error(`the audit writer thread exited with code ${code}`)),
      );
    });
  }

  /** The thread is gone: its held records are lost, its waiters learn it, and another one starts. */
  private died(worker: Worker, err: Error): void {
    if (this.worker !== worker) return; // already handled (error, then exit)
    this.worker = undefined;
    if (this.stopping) return;
    const lost = this.held;
    this.held = 0;
    for (const w of this.waiters.values()) w.reject(err);
    this.waiters.clear();
    this.options.log.error(
      { err, lost },
      'the audit writer thread stopped; the records it held are lost; restarting it',
    );
    this.ready = new Promise((resolve) => {
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined;
        this.spawn().then(resolve, (e: unknown) => {
          this.options.log.error({ err: e }, 'the audit writer thread could not start again');
          resolve();
        });
      }, RESTART_MS);
      this.restartTimer.unref();
    });
  }
}
