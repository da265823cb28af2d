/**
 * Counters in Redis, shared by every node. Each operation is one round trip: a Lua script where a
 * check must be atomic with its write (`defineCommand` sends EVALSHA and falls back to EVAL when
 * the server answers NOSCRIPT, e.g. after a restart or failover), a single command otherwise.
 *
 * Every key carries the prefix (default `warden:`) and a kind (`c:` counter, `b:` bucket, `n:`
 * nonce, `v:` value). Everything except a counter without a window expires (PX / PEXPIRE), so
 * Redis does not fill up with idle buckets, nonces or cache entries.
 *
 * Failure is loud and quick: commands time out after `commandTimeoutMs`, a command is retried
 * over at most `maxRetriesPerRequest` reconnections, and every failure rejects with
 * `CountersUnavailableError` so the caller fails closed.
 */
import { Redis } from 'ioredis';
import { CONSUME, REFUND, TAKE_TOKEN } from './redis-scripts.js';
import {
  type ConsumeOptions,
  type ConsumeResult,
  type Counters,
  CountersUnavailableError,
  type TokenBucketOptions,
  type TokenResult,
} from './types.js';
import { bucketParams, checkCount, checkKey, checkNamespace, checkTtl, checkValue } from './validate.js';

export interface RedisCountersOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…`. */
  url: string;
  /** Put before every key; default `warden:`. Lets deployments share one Redis. */
  prefix?: string;
  /** A command that has no answer after this long rejects; default 1000 ms. */
  commandTimeoutMs?: number;
  /** Default 2000 ms. */
  connectTimeoutMs?: number;
  /** Reconnections a queued command waits through before it rejects; default 1. */
  maxRetriesPerRequest?: number;
  /**
   * Connection errors (each reconnect attempt). Commands reject on their own and readiness
   * reports the outage, so the default ignores them rather than print one line per retry.
   */
  onConnectionError?: (err: Error) => void;
}

type ScriptedRedis = Redis & {
  wardenCounterConsume(
    key: string,
    amount: number,
    limit: number,
    windowMs: number,
  ): Promise<[number, number]>;
  wardenCounterRefund(key: string, amount: number): Promise<number>;
  wardenCounterTakeToken(
    key: string,
    capacity: number,
    ratePerMs: number,
    cost: number,
  ): Promise<[number, number, number]>;
};

function unavailable(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  throw new CountersUnavailableError(`redis: ${message}`, { cause: err });
}

/**
 * @example
 *   const counters = new RedisCounters({ url: 'redis://127.0.0.1:6379/0' });
 *   const r = await counters.takeToken('rl:agent:abc', { capacity: 20, refillPerSecond: 10 });
 */
export class RedisCounters implements Counters {
  private readonly redis: ScriptedRedis;
  private readonly prefix: string;
  private closed = false;

  constructor(options: RedisCountersOptions) {
    this.prefix = options.prefix ?? 'warden:';
    const redis = new Redis(options.url, {
      // Connect on first use, so building the node never blocks on (or crashes over) Redis.
      lazyConnect: true,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: options.connectTimeoutMs ?? 2000,
      maxRetriesPerRequest: options.maxRetriesPerRequest ?? 1,
      // Keep reconnecting for as long as the node runs; commands do not wait for it (above).
      retryStrategy: (times) => Math.min(times * 100, 2000),
    });
    redis.on('error', options.onConnectionError ?? (() => {}));
    redis.defineCommand('wardenCounterConsume', { numberOfKeys: 1, lua: CONSUME });
    redis.defineCommand('wardenCounterRefund', { numberOfKeys: 1, lua: REFUND });
    redis.defineCommand('wardenCounterTakeToken', { numberOfKeys: 1, lua: TAKE_TOKEN });
    this.redis = redis as ScriptedRedis;
  }

  async consume(
    key: string,
    amount: number,
    limit: number,
    options?: ConsumeOptions,
  ): Promise<ConsumeResult> {
    checkKey('key', key);
    checkCount('amount', amount);
    checkCount('limit', limit);
    const windowMs = options?.windowMs;
    if (windowMs !== undefined) checkTtl('windowMs', windowMs);
    this.open();
    const [allowed, used] = await this.redis
      .wardenCounterConsume(this.prefix + 'c:' + key, amount, limit, windowMs ?? 0)
      .catch(unavailable);
    return { allowed: allowed === 1, used, remaining: Math.max(0, limit - used) };
  }

  async refund(key: string, amount: number): Promise<number> {
    checkKey('key', key);
    checkCount('amount', amount);
    this.open();
    return this.redis.wardenCounterRefund(this.prefix + 'c:' + key, amount).catch(unavailable);
  }

  async peek(key: string): Promise<number> {
    checkKey('key', key);
    this.open();
    const value = await this.redis.get(this.prefix + 'c:' + key).catch(unavailable);
    return value === null ? 0 : Number(value);
  }

  async reset(key: string): Promise<void> {
    checkKey('key', key);
    this.open();
    await this.redis.del(this.prefix + 'c:' + key).catch(unavailable);
  }

  async takeToken(key: string, options: TokenBucketOptions): Promise<TokenResult> {
    checkKey('key', key);
    const p = bucketParams(options);
    this.open();
    const [allowed, remaining, retryAfterMs] = await this.redis
      .wardenCounterTakeToken(this.prefix + 'b:' + key, p.capacity, p.ratePerMs, p.cost)
      .catch(unavailable);
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }

  async addNonce(namespace: string, nonce: string, ttlMs: number): Promise<boolean> {
    checkNamespace(namespace);
    checkKey('nonce', nonce);
    checkTtl('ttlMs', ttlMs);
    this.open();
    // SET NX is already atomic: no script needed.
    const set = await this.redis
      .set(this.prefix + 'n:' + namespace + ':' + nonce, '1', 'PX', ttlMs, 'NX')
      .catch(unavailable);
    return set === 'OK';
  }

  async kvGet(key: string): Promise<string | undefined> {
    checkKey('key', key);
    this.open();
    const value = await this.redis.get(this.prefix + 'v:' + key).catch(unavailable);
    return value ?? undefined;
  }

  async kvSet(key: string, value: string, ttlMs: number): Promise<void> {
    checkKey('key', key);
    checkValue(value);
    checkTtl('ttlMs', ttlMs);
    this.open();
    await this.redis.set(this.prefix + 'v:' + key, value, 'PX', ttlMs).catch(unavailable);
  }

  async kvDelete(key: string): Promise<boolean> {
    checkKey('key', key);
    this.open();
    return (await this.redis.del(this.prefix + 'v:' + key).catch(unavailable)) > 0;
  }

  async ping(): Promise<void> {
    this.open();
    const pong = await this.redis.ping().catch(unavailable);
    if (pong !== 'PONG')
      throw new CountersUnavailableError(`redis answered PING with ${JSON.stringify(pong)}`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Only a ready connection has replies worth waiting for; otherwise QUIT would sit in the
    // offline queue until the command timeout.
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  private open(): void {
    if (this.closed) throw new CountersUnavailableError('the Redis counters are closed');
  }
}
