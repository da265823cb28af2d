/**
 * PGlite on its own worker thread. PGlite is PostgreSQL compiled to WebAssembly: every statement
 * runs on the thread that owns it. On the main thread a 5,000-row audit batch stalls every HTTP
 * request for its whole duration and the database's CPU competes with the edge's; on a worker the
 * event loop only posts and receives messages, and SQL runs on another core. Hand-written because
 * PGlite's own `PGliteWorker` is built for browser tabs (leader election over Web Locks and
 * BroadcastChannel), which a Node server has no use for.
 *
 * The surface is the part of PGlite the Kysely dialect uses: `query`, `exec`, `close`, `closed`,
 * `waitReady`, and `release` (the end of a connection use, so another thread's statements may run).
 * Statements are answered in order; errors come back with their PostgreSQL fields (`code`,
 * `constraint`, …) on a plain Error.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
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

/** What a client posts to and hears from: the worker itself, or a MessagePort attached to it. */
interface Endpoint {
  postMessage(message: unknown, transfer?: readonly MessagePort[]): void;
  on(event: 'message', listener: (reply: ThreadReply) => void): unknown;
}

/**
 * A client of the PGlite thread: statements out, replies in, in order. The thread that started
 * PGlite uses `PGliteThread`; another thread of the process uses `PGlitePort` on a port that one
 * attached (`PGliteThread.attach()`).
 */
class PGliteClient {
  readonly waitReady: Promise<void>;
  #closed = false;
  #next = 1;
  readonly #pending = new Map<number, Pending>();
  #failure: Error | undefined;

  constructor(
    private readonly endpoint: Endpoint,
    ready: Promise<void> | undefined,
  ) {
    let started!: { resolve(): void; reject(err: Error): void };
    this.waitReady =
      ready ??
      new Promise<void>((resolve, reject) => {
        started = { resolve, reject };
      });
    if (!ready)
      this.#pending.set(0, { resolve: () => started.resolve(), reject: (err) => started.reject(err) });
    endpoint.on('message', (reply: ThreadReply) => {
      const p = this.#pending.get(reply.id);
      if (!p) return;
      this.#pending.delete(reply.id);
      if (reply.error)
        p.reject(
          Object.assign(new Error(reply.error.message), reply.error.fields, { name: reply.error.name }),
        );
      else p.resolve(reply.result);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  protected markClosed(): void {
    this.#closed = true;
  }

  /** Every statement waiting fails with `err`, and so does every later one. */
  protected fail(err: Error): void {
    this.#failure = err;
    this.#closed = true;
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  protected get waiting(): number {
    return this.#pending.size;
  }

  protected send<T>(req: DistributiveOmit<ThreadRequest, 'id'>): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new Error('the embedded database is closed'));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.endpoint.postMessage({ ...req, id });
    });
  }

  query<R>(sql: string, params: unknown[], _options?: { rowMode: 'object' }): Promise<ThreadResults<R>> {
    return this.send({ kind: 'query', sql, params: compactParams(params) });
  }

  exec(sql: string, _options?: { rowMode: 'object' }): Promise<ThreadResults[]> {
    return this.send({ kind: 'exec', sql });
  }

  /** This client is done with the connection: another one's statements may run (no reply). */
  release(): void {
    if (!this.#closed) this.endpoint.postMessage({ id: 0, kind: 'release' } satisfies ThreadRequest);
  }
}

export class PGliteThread extends PGliteClient {
  readonly #worker: Worker;

  /**
   * @param dataDir the data directory, or undefined for an in-memory database.
   * @param template a data directory dump a new database starts from (DatabaseOptions.pgliteTemplate).
   */
  constructor(dataDir: string | undefined, template?: Blob) {
    const worker = startThread(import.meta.url, 'pglite-thread-worker', {
      workerData: { dataDir, template },
    });
    super(worker, undefined);
    this.#worker = worker;
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', (code) => {
      if (this.waiting > 0 || !this.closed)
        this.fail(new Error(`the PGlite worker thread exited (code ${code})`));
    });
  }

  /**
   * A port for another thread of this process to reach the same database (`PGlitePort` there).
   * Its statements take turns with this thread's, a connection use at a time; if that thread ends
   * while holding the connection, its open transaction is rolled back.
   */
  attach(): MessagePort {
    const { port1, port2 } = new MessageChannel();
    this.#worker.postMessage({ id: 0, kind: 'attach', port: port2 } satisfies ThreadRequest, [port2]);
    return port1;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.send({ kind: 'close' });
    this.markClosed();
    await this.#worker.terminate();
  }
}

/** The PGlite thread as seen from another thread of the process, over an attached port. */
export class PGlitePort extends PGliteClient {
  constructor(private readonly port: MessagePort) {
    super(port, Promise.resolve());
    port.on('close', () => this.fail(new Error('the embedded database was closed')));
  }

  /** Stops using the database (the database itself stays open: its owner closes it). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.markClosed();
    this.port.close();
  }
}

/**
 * Byte parameters cut to their own buffers before they cross to the PGlite thread: a structured
 * clone copies a view's whole backing ArrayBuffer, so a 32-byte Buffer from Node's 8 KiB pool would
 * travel as 8 KiB. Other parameters, and views that already own their buffer, go as they are.
 */
export function compactParams(params: unknown[]): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p instanceof Uint8Array && p.byteLength !== p.buffer.byteLength) {
      out ??= params.slice();
      out[i] = new Uint8Array(p); // a copy with a buffer of its own
    }
  }
  return out ?? params;
}
