/**
 * PGlite on its own worker thread. PGlite is PostgreSQL compiled to WebAssembly: every statement
 * runs on the thread that owns it. On the main thread a 5,000-row audit batch stalls every HTTP
 * request for its whole duration and the database's CPU competes with the edge's; on a worker the
 * event loop only posts and receives messages, and SQL runs on another core. Hand-written because
 * PGlite's own `PGliteWorker` is built for browser tabs (leader election over Web Locks and
 * BroadcastChannel), which a Node server has no use for.
 *
 * The surface is the part of PGlite the Kysely dialect uses: `query`, `exec`, `close`, `closed`,
 * `waitReady`. Statements are answered in order; errors come back with their PostgreSQL fields
 * (`code`, `constraint`, …) on a plain Error.
 */
import type { Worker } from 'node:worker_threads';
import { startThread } from '../threads.js';
import type { ThreadReply, ThreadRequest } from './pglite-thread-protocol.js';

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
}

/** The result shapes the dialect reads (a subset of PGlite's `Results`). */
export interface ThreadResults<R = unknown> {
  rows: R[];
  affectedRows?: number;
}

export class PGliteThread {
  readonly waitReady: Promise<void>;
  #closed = false;
  #next = 1;
  readonly #pending = new Map<number, Pending>();
  readonly #worker: Worker;
  #failure: Error | undefined;

  /** @param dataDir the data directory, or undefined for an in-memory database. */
  constructor(dataDir: string | undefined) {
    const workerData = { dataDir };
    this.#worker = startThread(import.meta.url, 'pglite-thread-worker', { workerData });
    let ready!: { resolve(): void; reject(err: Error): void };
    this.waitReady = new Promise<void>((resolve, reject) => {
      ready = { resolve, reject };
    });
    this.#pending.set(0, { resolve: () => ready.resolve(), reject: (err) => ready.reject(err) });
    this.#worker.on('message', (reply: ThreadReply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.error)
        p.reject(
          Object.assign(new Error(reply.error.message), reply.error.fields, { name: reply.error.name }),
        );
      else p.resolve(reply.result);
    });
    const fail = (err: Error) => {
      this.#failure = err;
      this.#closed = true;
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    };
    this.#worker.on('error', fail);
    this.#worker.on('exit', (code) => {
      if (this.#pending.size > 0 || !this.#closed)
        fail(new Error(`the PGlite worker thread exited (code ${code})`));
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  #send<T>(req: DistributiveOmit<ThreadRequest, 'id'>): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new Error('the embedded database is closed'));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ ...req, id });
    });
  }

  query<R>(sql: string, params: unknown[], _options?: { rowMode: 'object' }): Promise<ThreadResults<R>> {
    return this.#send({ kind: 'query', sql, params });
  }

  exec(sql: string, _options?: { rowMode: 'object' }): Promise<ThreadResults[]> {
    return this.#send({ kind: 'exec', sql });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#send({ kind: 'close' });
    this.#closed = true;
    await this.#worker.terminate();
  }
}
