/** A prepare-pool worker: prepares chunks of records (see prepare-pool.ts) and sends them back. */
import { parentPort } from 'node:worker_threads';
import { prepare, redactorFromKey } from './prepare.js';
import type { PrepareJob, PrepareReply } from './prepare-pool.js';
import type { Redactor } from './redaction/index.js';

const redactors = new Map<string, Redactor | undefined>();

parentPort!.on('message', ({ id, jobs }: { id: number; jobs: PrepareJob[] }) => {
  let reply: PrepareReply;
  const transfer: ArrayBuffer[] = [];
  try {
    const records = [];
    const parts: Buffer[] = [];
    const ends = new Uint32Array(jobs.length);
    const hashes = new Uint8Array(32 * jobs.length);
    let size = 0;
    for (const [i, job] of jobs.entries()) {
      if (!redactors.has(job.redaction)) redactors.set(job.redaction, redactorFromKey(job.redaction));
      const p = prepare(job.input, job.recordId, job.timestampMs, redactors.get(job.redaction));
      records.push(p.record);
      parts.push(p.canonical);
      size += p.canonical.length;
      ends[i] = size;
      hashes.set(p.hash, 32 * i);
    }
    // A fresh (unpooled) copy, so its memory can be transferred rather than copied.
    const canonical = new Uint8Array(size);
    let at = 0;
    for (const part of parts) {
      canonical.set(part, at);
      at += part.length;
    }
    reply = { id, ok: true, records, canonical, ends, hashes };
    transfer.push(canonical.buffer, ends.buffer, hashes.buffer);
  } catch (err) {
    reply = { id, ok: false, message: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply, transfer);
});
