/**
 * Record preparation (redaction, RFC 8785 bytes, leaf hash: ~70 µs of CPU per 1 KiB record, most
 * of an append's cost) on `worker_threads`, so the thread that talks to the database is not the
 * one that redacts. A batch is split evenly over the workers; each chunk's canonical bytes and
 * hashes come back in two transferred buffers rather than thousands of small ones.
 */
import type { Worker } from 'node:worker_threads';
import { startThread } from '../../platform/threads.js';
import type { PreparedRecord } from './prepare.js';
import type { AuditAppend, StoredRecord } from './record.js';

export interface PrepareJob {
  input: AuditAppend;
  recordId: string;
  timestampMs: number;
  /** The tenant's redaction configuration key (`redactorFromKey`). */
  redaction: string;
}

/** What a worker sends back for a chunk. */
export type PrepareReply =
  | {
      id: number;
      ok: true;
      records: StoredRecord[];
      /** Canonical bytes of every record, concatenated; `ends[i]` is where record i's end. */
      canonical: Uint8Array;
      ends: Uint32Array;
      /** 32 bytes per record. */
      hashes: Uint8Array;
    }
  | { id: number; ok: false; message: string };

interface Pending {
  resolve: (r: PreparedRecord[]) => void;
  reject: (err: Error) => void;
}

/**
 * @example
 *   const pool = new PreparePool(1);
 *   const prepared = await pool.prepare(jobs); // same as jobs.map(prepare), off this thread
 *   await pool.close();
 */
export class PreparePool {
  private readonly workers: { worker: Worker; pending: Map<number, Pending> }[] = [];
  private nextId = 0;

  constructor(size: number) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const worker = startThread(import.meta.url, 'prepare-worker');
      const pending = new Map<number, Pending>();
      worker.on('message', (reply: PrepareReply) => {
        const p = pending.get(reply.id);
        if (!p) return;
        pending.delete(reply.id);
        if (!reply.ok) p.reject(new Error(reply.message));
        else p.resolve(unpack(reply));
      });
      worker.on('error', (err) => {
        for (const p of pending.values()) p.reject(err);
        pending.clear();
      });
      this.workers.push({ worker, pending });
    }
  }

  /** Prepares `jobs` in order; rejects if any record cannot be prepared. */
  /** Worker threads running. */
  get size(): number {
    return this.workers.length;
  }

  async prepare(jobs: readonly PrepareJob[]): Promise<PreparedRecord[]> {
    if (jobs.length === 0) return [];
    const per = Math.ceil(jobs.length / this.workers.length);
    const parts: Promise<PreparedRecord[]>[] = [];
    for (let w = 0; w * per < jobs.length; w++) {
      const chunk = jobs.slice(w * per, (w + 1) * per);
      const { worker, pending } = this.workers[w]!;
      const id = ++this.nextId;
      parts.push(
        new Promise((resolve, reject) => {
          pending.set(id, { resolve, reject });
          worker.postMessage({ id, jobs: chunk });
        }),
      );
    }
    return (await Promise.all(parts)).flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}

function unpack(reply: Extract<PrepareReply, { ok: true }>): PreparedRecord[] {
  const canonical = Buffer.from(
    reply.canonical.buffer,
    reply.canonical.byteOffset,
    reply.canonical.byteLength,
  );
  const hashes = Buffer.from(reply.hashes.buffer, reply.hashes.byteOffset, reply.hashes.byteLength);
  let at = 0;
  return reply.records.map((record, i) => {
    const end = reply.ends[i]!;
    const p: PreparedRecord = {
      tenantId: record.tenant_id,
      record,
      canonical: canonical.subarray(at, end),
      hash: hashes.subarray(i * 32, i * 32 + 32),
    };
    at = end;
    return p;
  });
}
