/**
 * Cursor pagination over UUIDv7 keys: the cursor is the last id of the page, opaque to clients.
 */
import { isUuid } from '../ids.js';

/** @example encodeCursor('0192…') → 'MDE5Mi4uLg' */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/** Returns the id, or undefined if the cursor is not one of ours. */
export function decodeCursor(cursor: string): string | undefined {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  return isUuid(id) ? id : undefined;
}

/** Given `limit + 1` rows, the page and the next cursor. */
export function page<T extends { id: string }>(
  rows: T[],
  limit: number,
): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return { items, next_cursor: rows.length > limit && last ? encodeCursor(last.id) : null };
}
