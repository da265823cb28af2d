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
 * bytea. PGlite's own codec for it goes a byte at a time in JavaScript: a parameter becomes hex text
 * through Array.from → toString(16) → padStart → join (~170 µs for a 1 KiB audit record, measured
 * here) and its protocol writer then walks that text once more to measure it; a column comes back
 * through parseInt per pair of digits (~110 µs). That bounded the embedded audit log at ~3,600
 * records/s. PGlite's Bind sends any ArrayBuffer view as a binary-format parameter, and a bytea's
 * binary format is its bytes: so a parameter goes as it is, and a column is decoded by Buffer's
 * native hex codec (~2 µs).
 */

/** A bytea parameter, sent as binary: the bytes themselves (PGlite's Bind copies them once). */
export function serializeBytea(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError('a bytea parameter must be a Uint8Array or Buffer');
  return value;
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

/**
 * PGlite's parameter serializers: bytea as binary. Its types say a serializer returns text, but its
 * Bind also takes an ArrayBuffer view and sends it in binary format; the bytea round-trip test in
 * database.test.ts fails if that ever changes.
 */
export const PGLITE_SERIALIZERS = { [BYTEA_OID]: serializeBytea } as unknown as Record<
  number,
  (value: unknown) => string
>;
