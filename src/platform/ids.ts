/**
 * Record ids are UUIDv7: time-ordered, so primary-key indexes stay append-mostly and cursors sort by
 * creation time.
 *
 * @example
 *   const id = newId(); // '0192f…-7…'
 */
import { uuidv7 } from 'uuidv7';

export function newId(): string {
  return uuidv7();
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}
