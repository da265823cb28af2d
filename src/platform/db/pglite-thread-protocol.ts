/**
 * What the threads of a process and the PGlite worker thread say to each other (pglite-thread.ts).
 * The thread that started PGlite talks over the worker's own port; another thread of the process
 * (the audit writer) over a MessagePort the first one attached. Each port's statements are run in
 * order; the single connection is held by one port from its first statement until it says
 * `release`, so a transaction's statements are never interleaved with another port's.
 */
import type { MessagePort } from 'node:worker_threads';

export type ThreadRequest =
  | { readonly id: number; readonly kind: 'query'; readonly sql: string; readonly params: unknown[] }
  | { readonly id: number; readonly kind: 'exec'; readonly sql: string }
  | { readonly id: number; readonly kind: 'close' }
  /** The sender is done with the connection (no reply). */
  | { readonly id: number; readonly kind: 'release' }
  /** Another client: its requests arrive on `port` (no reply). From the starting thread only. */
  | { readonly id: number; readonly kind: 'attach'; readonly port: MessagePort };

export interface ThreadReply {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: {
    readonly name: string;
    readonly message: string;
    readonly fields: Record<string, unknown>;
  };
}

/** int8 as a JS number, refusing what it cannot hold exactly (one rule on both drivers). */
export function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new RangeError(`int8 value ${text} is beyond the exact range of a JS number`);
  return n;
}
export const INT8_OID = 20;
export const NUMERIC_OID = 1700;

export const BYTEA_OID = 17;

/*
 * bytea crosses PGlite's protocol as hex text. PGlite's own codec for it goes a byte at a time
 * (Array.from → toString(16) → padStart → join, and parseInt per pair): ~170 µs to send a 1 KiB
 * audit record and ~110 µs to read one back, measured here — it bounded the embedded audit log at
 * ~2,500 records/s. Buffer's native hex codec does the same in ~2 µs.
 */

/** A bytea parameter as PostgreSQL's hex input format. */
export function serializeBytea(value: unknown): string {
  if (!(value instanceof Uint8Array)) throw new TypeError('a bytea parameter must be a Uint8Array or Buffer');
  return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex')}`;
}

/**
 * A bytea column from PostgreSQL's hex output format (`\x…`, the default bytea_output). Returns a
 * plain Uint8Array with a buffer of its own, as PGlite's parser does (a pooled Buffer would drag
 * its whole 8 KiB pool through every structured clone to another thread).
 */
export function parseBytea(text: string): Uint8Array {
  if (!text.startsWith('\\x'))
    throw new RangeError('bytea value is not in hex format (bytea_output must be hex)');
  const out = new Uint8Array((text.length - 2) >>> 1);
  // Buffer#write stops at the first character that is not hex: a short count is a malformed value.
  if (Buffer.from(out.buffer).write(text.slice(2), 'hex') !== out.length || text.length % 2 !== 0)
    throw new RangeError('bytea value is not well-formed hex');
  return out;
}

/** PGlite's type parsers, wherever it runs: int8 as a number, numeric as exact text, bytea natively. */
export const PGLITE_PARSERS = {
  [INT8_OID]: parseInt8,
  [NUMERIC_OID]: (text: string) => text,
  [BYTEA_OID]: parseBytea,
};

/** PGlite's parameter serializers: bytea natively. */
export const PGLITE_SERIALIZERS = { [BYTEA_OID]: serializeBytea };
