/**
 * The bounds both implementations enforce, checked before any store is touched so that memory and
 * Redis reject the same inputs with the same message.
 */
import { CounterInputError, type TokenBucketOptions } from './types.js';

export const MAX_KEY_BYTES = 512;
export const MAX_VALUE_BYTES = 64 * 1024;
/** Longest ttl or window: a year and a day, enough for annual quotas. */
export const MAX_TTL_MS = 366 * 24 * 3600 * 1000;
export const MAX_CAPACITY = 1_000_000_000;
export const MAX_REFILL_PER_SECOND = 1_000_000_000;
/**
 * Buckets count micro-tokens so refill stays integer: `refillPerSecond` tokens/s is exactly
 * `refillPerSecond * 1000` micro-tokens per millisecond. With the bounds above every intermediate
 * value stays below 2^53, which matters because Redis Lua numbers are doubles.
 */
export const MICRO = 1_000_000;

const NAMESPACE_RE = /^[A-Za-z0-9._-]{1,64}$/;

function show(value: unknown): string {
  return typeof value === 'string'
    ? JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
    : String(value);
}

/** A UTF-16 unit is at most 3 UTF-8 bytes, so short keys skip the byte count on the hot path. */
function utf8Bytes(text: string, max: number): number {
  return text.length * 3 <= max ? text.length : Buffer.byteLength(text, 'utf8');
}

export function checkKey(field: string, key: unknown): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new CounterInputError(field, `must be a non-empty string, got ${show(key)}`);
  }
  const bytes = utf8Bytes(key, MAX_KEY_BYTES);
  if (bytes > MAX_KEY_BYTES) {
    throw new CounterInputError(field, `must be at most ${MAX_KEY_BYTES} bytes of UTF-8, got ${bytes}`);
  }
}

export function checkNamespace(namespace: unknown): void {
  if (typeof namespace !== 'string' || !NAMESPACE_RE.test(namespace)) {
    throw new CounterInputError('namespace', `must be 1 to 64 of A-Z a-z 0-9 . _ -, got ${show(namespace)}`);
  }
}

/** Amounts and limits: whole numbers from 0 to Number.MAX_SAFE_INTEGER. */
export function checkCount(field: string, n: unknown): void {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new CounterInputError(
      field,
      `must be an integer from 0 to ${Number.MAX_SAFE_INTEGER}, got ${show(n)}`,
    );
  }
}

export function checkTtl(field: string, ms: unknown): void {
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 1 || ms > MAX_TTL_MS) {
    throw new CounterInputError(
      field,
      `must be an integer number of milliseconds from 1 to ${MAX_TTL_MS}, got ${show(ms)}`,
    );
  }
}

export function checkValue(value: unknown): void {
  if (typeof value !== 'string')
    throw new CounterInputError('value', `must be a string, got ${typeof value}`);
  const bytes = utf8Bytes(value, MAX_VALUE_BYTES);
  if (bytes > MAX_VALUE_BYTES) {
    throw new CounterInputError('value', `must be at most ${MAX_VALUE_BYTES} bytes of UTF-8, got ${bytes}`);
  }
}

/** A token bucket's parameters in micro-tokens and micro-tokens per millisecond. */
export interface BucketParams {
  capacity: number;
  ratePerMs: number;
  cost: number;
}

export function bucketParams(options: TokenBucketOptions): BucketParams {
  if (typeof options !== 'object' || options === null) {
    throw new CounterInputError('options', 'must be { capacity, refillPerSecond, cost? }');
  }
  const { capacity, refillPerSecond, cost = 1 } = options;
  if (
    typeof capacity !== 'number' ||
    !Number.isInteger(capacity) ||
    capacity < 1 ||
    capacity > MAX_CAPACITY
  ) {
    throw new CounterInputError(
      'capacity',
      `must be an integer from 1 to ${MAX_CAPACITY}, got ${show(capacity)}`,
    );
  }
  if (
    typeof refillPerSecond !== 'number' ||
    !Number.isFinite(refillPerSecond) ||
    refillPerSecond < 0.001 ||
    refillPerSecond > MAX_REFILL_PER_SECOND
  ) {
    throw new CounterInputError(
      'refillPerSecond',
      `must be a number from 0.001 to ${MAX_REFILL_PER_SECOND}, got ${show(refillPerSecond)}`,
    );
  }
  if (typeof cost !== 'number' || !Number.isInteger(cost) || cost < 0 || cost > capacity) {
    throw new CounterInputError(
      'cost',
      `must be an integer from 0 to capacity (${capacity}), got ${show(cost)}`,
    );
  }
  return { capacity: capacity * MICRO, ratePerMs: Math.round(refillPerSecond * 1000), cost: cost * MICRO };
}

/**
 * Refill arithmetic shared in spirit with the Lua script (keep the two in step): tokens after
 * `elapsedMs`, never above capacity. Clamping before multiplying keeps the product under 2^53.
 */
export function refill(tokens: number, elapsedMs: number, p: BucketParams): number {
  const start = Math.min(tokens, p.capacity);
  const toFull = Math.ceil((p.capacity - start) / p.ratePerMs);
  return elapsedMs >= toFull ? p.capacity : start + elapsedMs * p.ratePerMs;
}
