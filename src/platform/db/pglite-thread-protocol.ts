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

/** PGlite's type parsers, wherever it runs: int8 as a number, numeric as exact text. */
export const PGLITE_PARSERS = { [INT8_OID]: parseInt8, [NUMERIC_OID]: (text: string) => text };
