/**
 * The behaviour every Counters implementation must show, as one vitest suite that takes a factory.
 * `counters.test.ts` runs it on the in-process store (with a ManualClock, so time assertions are
 * exact) and on Redis (real time, short waits, bounds instead of exact values).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CounterInputError, type Counters, CountersUnavailableError } from './types.js';

export interface CountersHarness {
  counters: Counters;
  /** Let `ms` pass for the store: move a ManualClock, or sleep when the store keeps its own time. */
  advance(ms: number): Promise<void>;
  /** True when `advance` moves time exactly, so refill and retry times can be asserted exactly. */
  exactTime: boolean;
  /** Release what the harness opened (connections, keys). */
  close(): Promise<void>;
}

export interface ContractOptions {
  /** fast-check runs for the consume/refund property; each run is a few dozen operations. */
  propertyRuns?: number;
}

/**
 * Register the contract suite for one implementation.
 *
 * @example
 *   describeCountersContract('memory', async () => {
 *     const clock = new ManualClock();
 *     const counters = new MemoryCounters({ clock });
 *     return { counters, exactTime: true, advance: async (ms) => clock.advance(ms), close: () => counters.close() };
 *   });
 */
export function describeCountersContract(
  name: string,
  open: () => Promise<CountersHarness>,
  options: ContractOptions = {},
): void {
  describe(`Counters contract: ${name}`, () => {
    let h: CountersHarness;
    let c: Counters;
    // One harness per suite (tests use distinct keys): a connection per test would dominate the run.
    beforeAll(async () => {
      h = await open();
      c = h.counters;
    });
    afterAll(async () => {
      await h?.close();
    });

    describe('consume', () => {
      it('adds within the limit and refuses an amount that would pass it, leaving the count as it was', async () => {
        expect(await c.consume('spend', 3, 5)).toEqual({ allowed: true, used: 3, remaining: 2 });
        expect(await c.consume('spend', 3, 5)).toEqual({ allowed: false, used: 3, remaining: 2 });
        expect(await c.consume('spend', 2, 5)).toEqual({ allowed: true, used: 5, remaining: 0 });
        expect(await c.consume('spend', 1, 5)).toEqual({ allowed: false, used: 5, remaining: 0 });
        expect(await c.peek('spend')).toBe(5);
      });

      it('lets exactly 100 of 200 concurrent consumes of 1 through a limit of 100', async () => {
        const results = await Promise.all(Array.from({ length: 200 }, () => c.consume('race', 1, 100)));
        expect(results.filter((r) => r.allowed)).toHaveLength(100);
        expect(Math.max(...results.map((r) => r.used))).toBe(100);
        expect(await c.peek('race')).toBe(100);
      });

      it('reads with amount 0 and reports nothing remaining when the limit drops under the count', async () => {
        expect(await c.consume('lowered', 0, 10)).toEqual({ allowed: true, used: 0, remaining: 10 });
        await c.consume('lowered', 8, 10);
        expect(await c.consume('lowered', 1, 5)).toEqual({ allowed: false, used: 8, remaining: 0 });
        expect(await c.consume('lowered', 0, 5)).toEqual({ allowed: false, used: 8, remaining: 0 });
        expect(await c.consume('lowered', 2, 10)).toEqual({ allowed: true, used: 10, remaining: 0 });
      });

      it('counts exactly up to Number.MAX_SAFE_INTEGER (micro-unit budgets)', async () => {
        const max = Number.MAX_SAFE_INTEGER;
        expect(await c.consume('huge', max - 1, max)).toEqual({ allowed: true, used: max - 1, remaining: 1 });
        expect(await c.consume('huge', 2, max)).toEqual({ allowed: false, used: max - 1, remaining: 1 });
        expect(await c.consume('huge', 1, max)).toEqual({ allowed: true, used: max, remaining: 0 });
        expect(await c.refund('huge', 1)).toBe(max - 1);
        expect(await c.peek('huge')).toBe(max - 1);
      });

      it('refunds down to 0 at most, and reset forgets the count', async () => {
        await c.consume('reserve', 10, 100);
        expect(await c.refund('reserve', 4)).toBe(6);
        expect(await c.refund('reserve', 100)).toBe(0);
        expect(await c.refund('never-used', 5)).toBe(0);
        expect(await c.peek('never-used')).toBe(0);
        await c.consume('reserve', 7, 100);
        await c.reset('reserve');
        expect(await c.peek('reserve')).toBe(0);
        expect(await c.consume('reserve', 100, 100)).toMatchObject({ allowed: true, used: 100 });
      });

      it('starts a fixed window at the first consume and forgets the count when it ends, refunds included', async () => {
        expect(await c.consume('window', 3, 3, { windowMs: 150 })).toMatchObject({ allowed: true, used: 3 });
        expect(await c.consume('window', 1, 3, { windowMs: 150 })).toMatchObject({ allowed: false, used: 3 });
        await c.consume('no-window', 2, 3);
        expect(await c.refund('window', 1)).toBe(2);
        await h.advance(200);
        expect(await c.peek('window')).toBe(0);
        expect(await c.consume('window', 1, 3, { windowMs: 150 })).toEqual({
          allowed: true,
          used: 1,
          remaining: 2,
        });
        expect(await c.peek('no-window')).toBe(2);
      });

      it('matches a simple model for any sequence of consumes and refunds, never passing the limit', async () => {
        let run = 0;
        const op = fc.record({ kind: fc.constantFrom('consume', 'refund'), amount: fc.nat({ max: 40 }) });
        await fc.assert(
          fc.asyncProperty(fc.nat({ max: 120 }), fc.array(op, { maxLength: 30 }), async (limit, ops) => {
            const key = `model:${run++}`;
            let model = 0;
            for (const { kind, amount } of ops) {
              if (kind === 'consume') {
                const r = await c.consume(key, amount, limit);
                const fits = model + amount <= limit;
                if (fits) model += amount;
                expect(r).toEqual({ allowed: fits, used: model, remaining: Math.max(0, limit - model) });
              } else {
                model = Math.max(0, model - amount);
                expect(await c.refund(key, amount)).toBe(model);
              }
              expect(model).toBeLessThanOrEqual(limit);
            }
            expect(await c.peek(key)).toBe(model);
          }),
          { numRuns: options.propertyRuns ?? 100 },
        );
      });
    });

    describe('takeToken', () => {
      it('gives the burst at once, then refuses and says how long until the cost is available', async () => {
        const bucket = { capacity: 3, refillPerSecond: 10 }; // one token per 100 ms
        for (const left of [2, 1, 0]) {
          expect(await c.takeToken('burst', bucket)).toEqual({
            allowed: true,
            remaining: left,
            retryAfterMs: 0,
          });
        }
        const one = await c.takeToken('burst', bucket);
        const three = await c.takeToken('burst', { ...bucket, cost: 3 });
        expect(one).toMatchObject({ allowed: false, remaining: 0 });
        expect(three).toMatchObject({ allowed: false, remaining: 0 });
        if (h.exactTime) {
          expect(one.retryAfterMs).toBe(100);
          expect(three.retryAfterMs).toBe(300);
        } else {
          expect(one.retryAfterMs).toBeGreaterThan(50);
          expect(one.retryAfterMs).toBeLessThanOrEqual(100);
          expect(three.retryAfterMs).toBeGreaterThan(250);
          expect(three.retryAfterMs).toBeLessThanOrEqual(300);
        }
        await h.advance(one.retryAfterMs);
        expect(await c.takeToken('burst', bucket)).toMatchObject({ allowed: true, retryAfterMs: 0 });
      });

      it('refills at the given rate as time passes', async () => {
        const bucket = { capacity: 5, refillPerSecond: 20 }; // one token per 50 ms
        await c.takeToken('refill', { ...bucket, cost: 5 });
        expect(await c.takeToken('refill', bucket)).toMatchObject({ allowed: false });
        await h.advance(100);
        expect(await c.takeToken('refill', { ...bucket, cost: 2 })).toMatchObject({ allowed: true });
        if (h.exactTime) {
          expect(await c.takeToken('refill', bucket)).toEqual({
            allowed: false,
            remaining: 0,
            retryAfterMs: 50,
          });
          await h.advance(125);
          expect(await c.takeToken('refill', { ...bucket, cost: 0 })).toEqual({
            allowed: true,
            remaining: 2,
            retryAfterMs: 0,
          });
        }
      });

      it('never holds more than its capacity, however long it waits', async () => {
        const bucket = { capacity: 2, refillPerSecond: 1000 };
        await c.takeToken('cap', { ...bucket, cost: 2 });
        await h.advance(20); // 20 tokens' worth of refill
        expect(await c.takeToken('cap', { ...bucket, cost: 0 })).toEqual({
          allowed: true,
          remaining: 2,
          retryAfterMs: 0,
        });
        expect(await c.takeToken('cap', { ...bucket, cost: 2 })).toMatchObject({
          allowed: true,
          remaining: 0,
        });
      });

      it('caps the tokens already in a bucket when its capacity is lowered', async () => {
        await c.takeToken('lowered-cap', { capacity: 10, refillPerSecond: 1 }); // 9 left
        await h.advance(100);
        const smaller = { capacity: 5, refillPerSecond: 1 };
        expect(await c.takeToken('lowered-cap', { ...smaller, cost: 5 })).toMatchObject({
          allowed: true,
          remaining: 0,
        });
        const next = await c.takeToken('lowered-cap', smaller);
        expect(next.allowed).toBe(false);
        if (h.exactTime) expect(next.retryAfterMs).toBe(1000);
        else expect(next.retryAfterMs).toBeGreaterThan(950);
      });

      it('lets exactly the capacity through when 50 requests race', async () => {
        const bucket = { capacity: 10, refillPerSecond: 0.001 };
        const results = await Promise.all(
          Array.from({ length: 50 }, () => c.takeToken('bucket-race', bucket)),
        );
        expect(results.filter((r) => r.allowed)).toHaveLength(10);
        for (const r of results.filter((x) => !x.allowed)) expect(r.retryAfterMs).toBeGreaterThan(990_000);
      });

      it('keeps counters, buckets and cached values apart under the same key', async () => {
        await c.consume('shared-name', 7, 10);
        await c.kvSet('shared-name', 'v', 60_000);
        expect(await c.takeToken('shared-name', { capacity: 4, refillPerSecond: 1 })).toMatchObject({
          remaining: 3,
        });
        expect(await c.peek('shared-name')).toBe(7);
        expect(await c.kvGet('shared-name')).toBe('v');
      });
    });

    describe('addNonce', () => {
      it('accepts a nonce once per namespace within its ttl, and again after it', async () => {
        expect(await c.addNonce('sig', 'n-1', 150)).toBe(true);
        expect(await c.addNonce('sig', 'n-1', 150)).toBe(false);
        expect(await c.addNonce('webhook', 'n-1', 150)).toBe(true);
        expect(await c.addNonce('sig', 'n-2', 150)).toBe(true);
        await h.advance(200);
        expect(await c.addNonce('sig', 'n-1', 150)).toBe(true);
        expect(await c.addNonce('sig', 'n-1', 150)).toBe(false);
      });

      it('accepts a nonce raced by 20 requests exactly once', async () => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => c.addNonce('sig', 'raced', 60_000)),
        );
        expect(results.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('kv', () => {
      it('stores, replaces, deletes and expires values', async () => {
        expect(await c.kvGet('cache')).toBeUndefined();
        await c.kvSet('cache', 'one', 60_000);
        await c.kvSet('cache', 'two', 60_000);
        expect(await c.kvGet('cache')).toBe('two');
        expect(await c.kvDelete('cache')).toBe(true);
        expect(await c.kvDelete('cache')).toBe(false);
        expect(await c.kvGet('cache')).toBeUndefined();
        await c.kvSet('short', 'gone soon', 150);
        expect(await c.kvGet('short')).toBe('gone soon');
        await h.advance(200);
        expect(await c.kvGet('short')).toBeUndefined();
        expect(await c.kvDelete('short')).toBe(false);
      });

      it('round-trips a 64 KiB value of multi-byte text and an empty one exactly', async () => {
        const big = 'é'.repeat(32 * 1024); // 65,536 bytes of UTF-8
        await c.kvSet('big', big, 60_000);
        expect(await c.kvGet('big')).toBe(big);
        await c.kvSet('empty', '', 60_000);
        expect(await c.kvGet('empty')).toBe('');
      });
    });

    describe('input validation', () => {
      const cases: Array<[string, (c: Counters) => Promise<unknown>, RegExp]> = [
        ['negative amount', (c) => c.consume('k', -1, 10), /amount must be an integer from 0/],
        ['fractional amount', (c) => c.consume('k', 1.5, 10), /amount must be an integer .* got 1\.5/],
        ['NaN limit', (c) => c.consume('k', 1, Number.NaN), /limit must be an integer .* got NaN/],
        [
          'unsafe limit',
          (c) => c.consume('k', 1, 2 ** 53),
          /limit must be an integer from 0 to 9007199254740991/,
        ],
        ['string amount', (c) => c.consume('k', '1' as unknown as number, 10), /amount must be an integer/],
        [
          'zero window',
          (c) => c.consume('k', 1, 10, { windowMs: 0 }),
          /windowMs must be an integer number of milliseconds/,
        ],
        ['negative refund', (c) => c.refund('k', -5), /amount must be an integer/],
        ['empty key', (c) => c.peek(''), /key must be a non-empty string/],
        [
          '513-byte key',
          (c) => c.reset('é'.repeat(256) + 'x'),
          /key must be at most 512 bytes of UTF-8, got 513/,
        ],
        [
          'zero capacity',
          (c) => c.takeToken('k', { capacity: 0, refillPerSecond: 1 }),
          /capacity must be an integer from 1/,
        ],
        [
          'zero refill',
          (c) => c.takeToken('k', { capacity: 1, refillPerSecond: 0 }),
          /refillPerSecond must be a number from 0.001/,
        ],
        [
          'cost above capacity',
          (c) => c.takeToken('k', { capacity: 2, refillPerSecond: 1, cost: 3 }),
          /cost must be an integer from 0 to capacity \(2\), got 3/,
        ],
        ['namespace with a colon', (c) => c.addNonce('a:b', 'n', 1000), /namespace must be 1 to 64 of/],
        [
          'infinite nonce ttl',
          (c) => c.addNonce('sig', 'n', Number.POSITIVE_INFINITY),
          /ttlMs must be an integer/,
        ],
        [
          'value over 64 KiB',
          (c) => c.kvSet('k', 'x'.repeat(65_537), 1000),
          /value must be at most 65536 bytes of UTF-8, got 65537/,
        ],
        ['non-string value', (c) => c.kvSet('k', 42 as unknown as string, 1000), /value must be a string/],
      ];
      it.each(cases)('rejects %s with a message saying what is allowed', async (_label, call, message) => {
        const promise = call(c);
        await expect(promise).rejects.toBeInstanceOf(CounterInputError);
        await expect(promise).rejects.toThrow(message);
      });
    });

    describe('lifecycle', () => {
      it('answers ping while open and rejects every operation once closed', async () => {
        const other = await open();
        await expect(other.counters.ping()).resolves.toBeUndefined();
        await other.counters.close();
        await other.counters.close();
        await expect(other.counters.ping()).rejects.toBeInstanceOf(CountersUnavailableError);
        await expect(other.counters.consume('k', 1, 10)).rejects.toBeInstanceOf(CountersUnavailableError);
        await expect(other.counters.addNonce('sig', 'n', 1000)).rejects.toBeInstanceOf(
          CountersUnavailableError,
        );
        await other.close();
      });
    });
  });
}
