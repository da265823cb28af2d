/** Messages between the audit writer thread (writer-worker.ts) and its client (writer-thread.ts). */
import type { MessagePort } from 'node:worker_threads';
import type { AppendedRecord } from './log-writer.js';
import type { AuditAppend } from './record.js';

export interface WriterData {
  /** PostgreSQL (a pool of `poolSize` connections of the thread's own) or the embedded database's port. */
  link: { url: string; poolSize: number } | { pglite: MessagePort };
  flushIntervalMs: number;
  maxBatch: number;
  prepareWorkers: number;
}

/** A record handed over: the input (validated), its id, its timestamp, and 0 or a durable request id. */
export type HandedRecord = [input: AuditAppend, recordId: string, timestampMs: number, durableId: number];

export type ToWriter =
  | { t: 'records'; items: HandedRecord[] }
  | { t: 'flush'; id: number }
  | { t: 'invalidate'; tenantId: string }
  | { t: 'stop'; id: number };

export interface PlainError {
  name: string;
  message: string;
  code?: string;
}

export type WriterReply =
  | { t: 'ready' }
  | { t: 'init-failed'; error: PlainError }
  /** `n` records left the thread's hands: written, or refused (logged there). */
  | { t: 'committed'; n: number }
  | { t: 'durable'; id: number; ok: true; record: AppendedRecord }
  | { t: 'durable'; id: number; ok: false; error: PlainError }
  | { t: 'done'; id: number; ok: true }
  | { t: 'done'; id: number; ok: false; error: PlainError }
  | { t: 'log'; level: 'error' | 'warn'; obj: Record<string, unknown>; msg: string };

export function plainError(err: unknown): PlainError {
  if (!(err instanceof Error)) return { name: 'Error', message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}

export function fromPlain(e: PlainError): Error {
  return Object.assign(new Error(e.message), { name: e.name }, e.code ? { code: e.code } : {});
}
