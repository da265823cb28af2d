/**
 * In-process counters: the embedded default for a single node. One Map holds every kind of entry
 * (the kind is a key prefix), each with an expiry read from the injected Clock.
 *
 * Bounded: expired entries go lazily (on access) and through an incremental sweep on an
 * `unref()`ed timer, and at `maxEntries` the least recently written entry is evicted, so a flood of
 * unique nonces or cache keys cannot exhaust the heap. The price of the bound is that an evicted
 * counter restarts at 0 and an evicted live nonce is forgotten; `evictions` counts them, and a
 * deployment that sees it rise needs a larger bound or Redis. A forgotten nonce is never accepted
 * again: once a live nonce was evicted, a nonce that would expire no later than it (plus a second)
 * is refused as a possible replay — under that pressure the oldest still-valid signatures are
 * refused rather than replays let through (fail closed).
 *
 * Hand-written rather than an LRU library: the hot path is one Map lookup and no allocation for an
 * existing key, and expiry and eviction share one structure.
 */
import { type Clock, systemClock } from '../clock.js';
import {
  type ConsumeOptions,
  type ConsumeResult,
  type Counters,
  CountersUnavailableError,
  type TokenBucketOptions,
  type TokenResult,
} from './types.js';
import {
  bucketParams,
  checkCount,
  checkKey,
  checkNamespace,
  checkTtl,
  checkValue,
  MICRO,
  refill,
} from './validate.js';

export interface MemoryCountersOptions {
  clock?: Clock;
  /**
   * Most entries kept; default 250,000. Measured at about 330 bytes an entry with 30-character
   * keys, so about 85 MB when full; with 5-minute nonces it holds ~830 new nonces a second.
   */
  maxEntries?: number;
  /** How often the sweep looks for expired entries; default 1 s. 0 disables the timer. */
  sweepIntervalMs?: number;
  /** Entries examined per sweep tick, so a sweep never stalls the event loop; default 10,000. */
  sweepBatch?: number;
}

/** One shape for every kind keeps the Map's values monomorphic. */
interface Slot {
  /** A counter's count, or a bucket's micro-tokens. */
  count: number;
  /** A bucket's clock time when `count` was computed. */
  stamp: number;
  /** Clock time from which the entry is gone; Infinity for a counter without a window. */
  expiresAt: number;
  value: string | undefined;
  /** `writes` when the slot was last put at the end of the Map (see touch). */
  seq: number;
}

/**
 * Margin of the replay check on forgotten nonces: the verifier derives a nonce's TTL from its
 * signature's `created` in whole seconds, so the same nonce presented again may come with an expiry
 * up to a second later than the first time.
 */
const NONCE_EXPIRY_MARGIN_MS = 1000;

const COUNTER = 'c:';
const BUCKET = 'b:';
const NONCE = 'n:';
const KV = 'v:';

/**
 * @example
 *   const counters = new MemoryCounters({ clock: new ManualClock(), maxEntries: 10_000 });
 *   await counters.consume('quota:t1', 1, 100);
 */
export class MemoryCounters implements Counters {
  private readonly slots = new Map<string, Slot>();
  private readonly clock: Clock;
  private readonly maxEntries: number;
  private readonly sweepBatch: number;
  private readonly timer: NodeJS.Timeout | undefined;
  private sweepCursor: Iterator<[string, Slot]> | undefined;
  private closed = false;
  private evicted = 0;
  /** Writes so far (inserts and moves to the end), numbering each slot's place in the Map's order. */
  private writes = 0;
  /** The latest expiry among live nonces evicted so far (see addNonce); -Infinity while none was. */
  private forgottenNoncesUntil = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryCountersOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxEntries = options.maxEntries ?? 250_000;
    this.sweepBatch = options.sweepBatch ?? 10_000;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${this.maxEntries}`);
    }
    const interval = options.sweepIntervalMs ?? 1000;
    if (interval > 0) {
      this.timer = setInterval(() => this.sweep(), interval);
      // The sweep is housekeeping: it must never keep a process (or a test run) alive.
      this.timer.unref();
    }
  }

  /** Entries held now, expired ones not yet swept included. */
  get size(): number {
    return this.slots.size;
  }

  /** Live entries dropped because the store was full since it was created. */
  get evictions(): number {
    return this.evicted;
  }

  /**
   * Drop expired entries among the next `sweepBatch`, resuming where the last tick stopped.
   *
   * @example
   *   counters.sweep(); // in a test, after moving a ManualClock
   */
  sweep(): void {
    const now = this.clock.now();
    for (let i = 0; i < this.sweepBatch; i++) {
      this.sweepCursor ??= this.slots.entries();
      const next = this.sweepCursor.next();
      if (next.done) {
        this.sweepCursor = undefined;
        return;
      }
      // Deleting the entry just visited is safe: Map iterators tolerate it.
      if (next.value[1].expiresAt <= now) this.slots.delete(next.value[0]);
    }
  }

  async consume(
    key: string,
    amount: number,
    limit: number,
    options?: ConsumeOptions,
  ): Promise<ConsumeResult> {
    this.open();
    checkKey('key', key);
    checkCount('amount', amount);
    checkCount('limit', limit);
    const windowMs = options?.windowMs;
    if (windowMs !== undefined) checkTtl('windowMs', windowMs);
    const id = COUNTER + key;
    const now = this.clock.now();
    const slot = this.live(id, now);
    const used = slot === undefined ? 0 : slot.count;
    if (amount > limit - used) return { allowed: false, used, remaining: Math.max(0, limit - used) };
    if (amount === 0) return { allowed: true, used, remaining: limit - used };
    if (slot === undefined) {
      this.insert(
        id,
        amount,
        0,
        windowMs === undefined ? Number.POSITIVE_INFINITY : now + windowMs,
        undefined,
      );
    } else {
      slot.count = used + amount;
      this.touch(id, slot);
    }
    return { allowed: true, used: used + amount, remaining: limit - used - amount };
  }

  async refund(key: string, amount: number): Promise<number> {
    this.open();
    checkKey('key', key);
    checkCount('amount', amount);
    const slot = this.live(COUNTER + key, this.clock.now());
    if (slot === undefined) return 0;
    slot.count = slot.count > amount ? slot.count - amount : 0;
    return slot.count;
  }

  async peek(key: string): Promise<number> {
    this.open();
    checkKey('key', key);
    return this.live(COUNTER + key, this.clock.now())?.count ?? 0;
  }

  async reset(key: string): Promise<void> {
    this.open();
    checkKey('key', key);
    this.slots.delete(COUNTER + key);
  }

  async takeToken(key: string, options: TokenBucketOptions): Promise<TokenResult> {
    return this.takeTokenNow(key, options);
  }

  /**
   * `takeToken` answered synchronously: the edge's per-request rate limit uses it to run without a
   * promise and a microtask turn per request (it is the only await on the edge's path in-process).
   *
   * @example
   *   const { allowed } = counters.takeTokenNow('rl:user:u1', { capacity: 20, refillPerSecond: 10 });
   */
  takeTokenNow(key: string, options: TokenBucketOptions): TokenResult {
    this.open();
    checkKey('key', key);
    const p = bucketParams(options);
    const id = BUCKET + key;
    let now = this.clock.now();
    const slot = this.live(id, now);
    let tokens = p.capacity;
    if (slot !== undefined) {
      // A clock that stepped back refills nothing rather than minting tokens later.
      if (now < slot.stamp) now = slot.stamp;
      tokens = refill(slot.count, now - slot.stamp, p);
    }
    if (tokens < p.cost) {
      return {
        allowed: false,
        remaining: Math.floor(tokens / MICRO),
        retryAfterMs: Math.ceil((p.cost - tokens) / p.ratePerMs),
      };
    }
    tokens -= p.cost;
    const remaining = Math.floor(tokens / MICRO);
    if (tokens >= p.capacity) {
      // A full bucket is the same as no bucket: keep nothing.
      if (slot !== undefined) this.slots.delete(id);
      return { allowed: true, remaining, retryAfterMs: 0 };
    }
    const expiresAt = now + Math.ceil((p.capacity - tokens) / p.ratePerMs);
    if (slot === undefined) {
      this.insert(id, tokens, now, expiresAt, undefined);
    } else {
      slot.count = tokens;
      slot.stamp = now;
      slot.expiresAt = expiresAt;
      this.touch(id, slot);
    }
    return { allowed: true, remaining, retryAfterMs: 0 };
  }

  async addNonce(namespace: string, nonce: string, ttlMs: number): Promise<boolean> {
    this.open();
    checkNamespace(namespace);
    checkKey('nonce', nonce);
    checkTtl('ttlMs', ttlMs);
    const id = NONCE + namespace + ':' + nonce;
    const now = this.clock.now();
    if (this.live(id, now) !== undefined) return false;
    // It may be one this store had to forget while it was live: refuse rather than accept a replay.
    if (now + ttlMs <= this.forgottenNoncesUntil + NONCE_EXPIRY_MARGIN_MS) return false;
    this.insert(id, 0, 0, now + ttlMs, undefined);
    return true;
  }

  async kvGet(key: string): Promise<string | undefined> {
    this.open();
    checkKey('key', key);
    return this.live(KV + key, this.clock.now())?.value;
  }

  async kvSet(key: string, value: string, ttlMs: number): Promise<void> {
    this.open();
    checkKey('key', key);
    checkValue(value);
    checkTtl('ttlMs', ttlMs);
    const id = KV + key;
    this.slots.delete(id);
    this.insert(id, 0, 0, this.clock.now() + ttlMs, value);
  }

  async kvDelete(key: string): Promise<boolean> {
    this.open();
    checkKey('key', key);
    const id = KV + key;
    const live = this.live(id, this.clock.now()) !== undefined;
    this.slots.delete(id);
    return live;
  }

  async ping(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.slots.clear();
    this.sweepCursor = undefined;
  }

  private open(): void {
    if (this.closed) throw new CountersUnavailableError('the in-process counters are closed');
  }

  private live(id: string, now: number): Slot | undefined {
    const slot = this.slots.get(id);
    if (slot === undefined) return undefined;
    if (slot.expiresAt <= now) {
      this.slots.delete(id);
      return undefined;
    }
    return slot;
  }

  private insert(
    id: string,
    count: number,
    stamp: number,
    expiresAt: number,
    value: string | undefined,
  ): void {
    if (this.slots.size >= this.maxEntries) {
      // Map order is write order (see touch), so the first key is the least recently written.
      const oldest = this.slots.keys().next();
      if (!oldest.done) {
        const victim = this.slots.get(oldest.value);
        if (victim !== undefined && victim.expiresAt > this.clock.now()) {
          this.evicted++;
          if (oldest.value.startsWith(NONCE) && victim.expiresAt > this.forgottenNoncesUntil)
            this.forgottenNoncesUntil = victim.expiresAt;
        }
        this.slots.delete(oldest.value);
      }
    }
    this.slots.set(id, { count, stamp, expiresAt, value, seq: ++this.writes });
  }

  /**
   * Keeps a written entry away from the front of the Map, where eviction takes idle entries first.
   * Moved to the end only once half the bound of writes came after it: a delete and a re-insert per
   * write (a rate-limit bucket is written on every request) leaves a hole each time that the Map
   * later compacts by rehashing all of it, and an entry with fewer writes after it than half the
   * bound is not at the front of a full Map anyway.
   */
  private touch(id: string, slot: Slot): void {
    if (this.writes - slot.seq < this.maxEntries / 2) return;
    this.slots.delete(id);
    slot.seq = ++this.writes;
    this.slots.set(id, slot);
  }
}
