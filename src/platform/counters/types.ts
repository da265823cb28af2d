/**
 * Counters: the hot, small, shared state of the platform — quota and budget counters, token
 * buckets for rate limits, replay-protection nonces and short-lived cache entries.
 *
 * Two implementations pass the same contract (`contract.ts`): in-process (`memory.ts`, the
 * embedded default, one node) and Redis (`redis.ts`, many nodes agree). Every operation is atomic
 * on its own key; there are no multi-key operations, so the Redis keys also work on a cluster.
 *
 * Key spaces are separate per kind: `consume('a', …)`, `takeToken('a', …)` and `kvSet('a', …)`
 * touch three different entries. Counts are integers (money in integer micro-units), never floats.
 *
 * Failure: a backend error rejects with `CountersUnavailableError`; callers fail closed (deny the
 * request, answer 503) rather than treat an unknown count as zero.
 */

/** The outcome of `consume`: whether the amount was taken, and the count after the call. */
export interface ConsumeResult {
  allowed: boolean;
  /** The count after this call (unchanged when not allowed). */
  used: number;
  /** `limit - used`, never below 0 (a limit lowered under the count gives 0). */
  remaining: number;
}

export interface ConsumeOptions {
  /**
   * A fixed window: the count starts at the first consume into an absent key and is forgotten
   * `windowMs` later. Fixed when the key is created; later calls with another window keep the
   * first one until it ends. Without it the count lives until `reset`.
   */
  windowMs?: number;
}

export interface TokenBucketOptions {
  /** Most tokens the bucket holds (the burst), an integer from 1 to 1e9. */
  capacity: number;
  /** Tokens added per second, from 0.001 to 1e9; quantised to 0.001 token/s. */
  refillPerSecond: number;
  /** Tokens this call takes, an integer from 0 to `capacity`; default 1. 0 only reads. */
  cost?: number;
}

export interface TokenResult {
  allowed: boolean;
  /** Whole tokens left after this call. */
  remaining: number;
  /** 0 when allowed; otherwise milliseconds until `cost` tokens are available (for Retry-After). */
  retryAfterMs: number;
}

/**
 * @example
 *   const counters = createCounters({ redisUrl: config.redisUrl, clock: systemClock });
 *   const spend = await counters.consume(`budget:${tenantId}`, 1_250_000, 50_000_000);
 *   if (!spend.allowed) throw BudgetExceeded.create(`budget exhausted: ${spend.remaining} µ$ left`);
 */
export interface Counters {
  /**
   * Add `amount` to the count at `key` only if the result stays within `limit`; otherwise change
   * nothing. Check and add are one atomic step, so concurrent callers never overshoot the limit.
   *
   * @example
   *   const r = await counters.consume('quota:t1:llm_tokens', 512, 1_000_000, { windowMs: 3_600_000 });
   *   r.allowed; // false once the hour's million tokens are spent
   */
  consume(key: string, amount: number, limit: number, options?: ConsumeOptions): Promise<ConsumeResult>;

  /**
   * Take back `amount` (a reservation that was not used); the count never goes below 0 and keeps
   * its window. Returns the count after the refund.
   *
   * @example
   *   await counters.consume('budget:t1', 5_000_000, limit); // reserve the estimate
   *   await counters.refund('budget:t1', 5_000_000 - actualCost); // give back the rest
   */
  refund(key: string, amount: number): Promise<number>;

  /**
   * The current count (0 for an absent or expired key).
   *
   * @example
   *   const used = await counters.peek('budget:t1');
   */
  peek(key: string): Promise<number>;

  /**
   * Forget the count (a budget raised to a new period, a test).
   *
   * @example
   *   await counters.reset('budget:t1');
   */
  reset(key: string): Promise<void>;

  /**
   * Token bucket: take `cost` tokens if the bucket holds them. The in-process store reads the
   * injected Clock; Redis reads the server's `TIME` inside the script, so nodes with skewed clocks
   * still share one refill schedule.
   *
   * @example
   *   const b = await counters.takeToken(`rl:agent:${id}`, { capacity: 20, refillPerSecond: 10 });
   *   if (!b.allowed) reply.header('retry-after', String(Math.ceil(b.retryAfterMs / 1000)));
   */
  takeToken(key: string, options: TokenBucketOptions): Promise<TokenResult>;

  /**
   * Remember `nonce` in `namespace` for `ttlMs`. True the first time; false if it was seen within
   * the ttl (a replay). `namespace` is 1–64 of `A-Z a-z 0-9 . _ -`.
   *
   * @example
   *   if (!(await counters.addNonce('sig', signature.nonce, 300_000))) throw Replayed.create('nonce reused');
   */
  addNonce(namespace: string, nonce: string, ttlMs: number): Promise<boolean>;

  /**
   * A cached value, or undefined when absent or expired.
   *
   * @example
   *   const cached = await counters.kvGet(`policy:active:${tenantId}`);
   */
  kvGet(key: string): Promise<string | undefined>;

  /**
   * Store `value` (at most 64 KiB of UTF-8) for `ttlMs`, replacing any previous value.
   *
   * @example
   *   await counters.kvSet(`policy:active:${tenantId}`, versionId, 60_000);
   */
  kvSet(key: string, value: string, ttlMs: number): Promise<void>;

  /**
   * Remove a cached value; true if there was one.
   *
   * @example
   *   await counters.kvDelete(`policy:active:${tenantId}`); // on policy activation
   */
  kvDelete(key: string): Promise<boolean>;

  /**
   * Resolves when the store answers (readiness probe); rejects with `CountersUnavailableError`.
   *
   * @example
   *   readiness: { counters: () => counters.ping() }
   */
  ping(): Promise<void>;

  /**
   * Release the connection or timer; later calls reject. Safe to call twice.
   *
   * @example
   *   await counters.close();
   */
  close(): Promise<void>;
}

/** A caller passed a value outside what counters accept: a bug in the caller, not a client error. */
export class CounterInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`counters: ${field} ${message}`);
    this.name = 'CounterInputError';
  }
}

/** The store did not answer (Redis down, timed out, or the counters were closed). Fail closed. */
export class CountersUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(`counters unavailable: ${message}`, options);
    this.name = 'CountersUnavailableError';
  }
}
