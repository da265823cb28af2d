/** What the main thread and the PGlite worker thread say to each other (pglite-thread.ts). */

export type ThreadRequest =
  | { readonly id: number; readonly kind: 'query'; readonly sql: string; readonly params: unknown[] }
  | { readonly id: number; readonly kind: 'exec'; readonly sql: string }
  | { readonly id: number; readonly kind: 'close' };

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
