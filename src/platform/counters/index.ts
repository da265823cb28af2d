/**
 * The public face of counters: `createCounters(config)` picks the implementation, Redis when a
 * URL is configured and in-process otherwise, and callers see only the `Counters` interface.
 */
import type { Clock } from '../clock.js';
import { MemoryCounters } from './memory.js';
import { RedisCounters } from './redis.js';
import type { Counters } from './types.js';

export { MemoryCounters, type MemoryCountersOptions } from './memory.js';
export { RedisCounters, type RedisCountersOptions } from './redis.js';
export {
  type ConsumeOptions,
  type ConsumeResult,
  CounterInputError,
  type Counters,
  CountersUnavailableError,
  type TokenBucketOptions,
  type TokenResult,
} from './types.js';
export { MAX_KEY_BYTES, MAX_TTL_MS, MAX_VALUE_BYTES } from './validate.js';

export interface CountersConfig {
  /** Redis URL (`WARDEN_REDIS_URL`); unset = in-process. */
  redisUrl?: string | undefined;
  /** Time for the in-process store; Redis uses its server clock. */
  clock?: Clock;
  /** Redis key prefix; default `warden:`. */
  prefix?: string;
  /** In-process bound on entries; default 250,000. */
  maxEntries?: number;
  /** Redis connection errors, for logging; commands reject on their own either way. */
  onConnectionError?: (err: Error) => void;
}

/**
 * Build the counters this node uses. Connecting to Redis happens on first use.
 *
 * @example
 *   const counters = createCounters({ redisUrl: config.redisUrl, clock: systemClock });
 *   await counters.ping(); // readiness
 */
export function createCounters(config: CountersConfig = {}): Counters {
  if (config.redisUrl) {
    return new RedisCounters({
      url: config.redisUrl,
      prefix: config.prefix,
      onConnectionError: config.onConnectionError,
    });
  }
  return new MemoryCounters({ clock: config.clock, maxEntries: config.maxEntries });
}
