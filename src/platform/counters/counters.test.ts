import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendUrl } from '../../../test/support/backends.js';
import { ManualClock } from '../clock.js';
import { type CountersHarness, describeCountersContract } from './contract.js';
import { CountersUnavailableError, createCounters, MemoryCounters, RedisCounters } from './index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeCountersContract(
  'memory',
  async () => {
    const clock = new ManualClock();
    const counters = new MemoryCounters({ clock });
    return {
      counters,
      exactTime: true,
      advance: async (ms) => clock.advance(ms),
      close: () => counters.close(),
    };
  },
  { propertyRuns: 300 },
);

const redisUrl = backendUrl('redis');

/** A Redis harness under a prefix of its own, so parallel runs on one server never meet. */
async function openRedis(url: string): Promise<CountersHarness & { prefix: string; raw: Redis }> {
  const prefix = `warden-test:${randomUUID()}:`;
  const counters = new RedisCounters({ url, prefix });
  const raw = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  return {
    counters,
    prefix,
    raw,
    exactTime: false,
    // Redis keeps its own time; a few ms more than asked covers timers that fire early.
    advance: (ms) => sleep(ms + 5),
    async close() {
      await counters.close();
      const keys = await raw.keys(`${prefix}*`);
      if (keys.length > 0) await raw.del(...keys);
      await raw.quit();
    },
  };
}

// Inside skipIf, so a run without Redis lists the contract as skipped rather than leaving it out.
describe.skipIf(!redisUrl)('on Redis', () => {
  describeCountersContract('redis', () => openRedis(redisUrl!), { propertyRuns: 60 });
});

describe('MemoryCounters bounds', () => {
  it('stays within maxEntries under a flood of unique nonces, still remembering the newest', async () => {
    // 100 new nonces a (simulated) second, five minutes each: the store remembers ten seconds of them.
    const clock = new ManualClock();
    const counters = new MemoryCounters({ clock, maxEntries: 1000, sweepIntervalMs: 0 });
    for (let i = 0; i < 10_000; i++) {
      if (i % 100 === 0) clock.advance(1000);
      expect(await counters.addNonce('sig', `flood-${i}`, 300_000)).toBe(true);
    }
    expect(counters.size).toBe(1000);
    expect(counters.evictions).toBe(9000);
    expect(await counters.addNonce('sig', 'flood-9999', 300_000)).toBe(false);
    expect(await counters.addNonce('sig', 'flood-9000', 300_000)).toBe(false);
    await counters.close();
  });

  it('never accepts a live nonce it had to forget: what may be a replay is refused (fail closed)', async () => {
    const clock = new ManualClock();
    const t0 = clock.now();
    const counters = new MemoryCounters({ clock, maxEntries: 1000, sweepIntervalMs: 0 });
    for (let i = 0; i < 2000; i++) {
      if (i % 100 === 0) clock.advance(1000);
      await counters.addNonce('sig', `n-${i}`, 300_000);
    }
    // n-0 … n-999 were evicted while live. Presented again with what is left of their lifetime (as
    // the signature verifier computes it from `created`), each is refused, up to a second later.
    clock.advance(5000);
    for (const i of [0, 500, 999]) {
      const expiry = t0 + 1000 * (1 + Math.floor(i / 100)) + 300_000;
      const left = expiry - clock.now();
      expect(await counters.addNonce('sig', `n-${i}`, left)).toBe(false);
      expect(await counters.addNonce('sig', `n-${i}`, left + 999)).toBe(false);
    }
    // A fresh nonce (a full lifetime from now) is accepted — and, the store being full, pushes out
    // n-1000 (written in the 11th second). One whose expiry is past every forgotten one by more
    // than the margin is accepted too; one within it is not.
    expect(await counters.addNonce('sig', 'fresh', 300_000)).toBe(true);
    const lastForgotten = t0 + 11 * 1000 + 300_000;
    expect(await counters.addNonce('sig', 'within', lastForgotten + 1000 - clock.now())).toBe(false);
    expect(await counters.addNonce('sig', 'later', lastForgotten + 1001 - clock.now())).toBe(true);
    await counters.close();
  });

  it('evicts the least recently written entry, so a busy counter outlives idle nonces', async () => {
    const clock = new ManualClock();
    const counters = new MemoryCounters({ clock, maxEntries: 3, sweepIntervalMs: 0 });
    await counters.consume('busy', 1, 100);
    await counters.addNonce('sig', 'a', 60_000);
    await counters.addNonce('sig', 'b', 60_000);
    await counters.consume('busy', 1, 100);
    await counters.addNonce('sig', 'c', 60_000);
    expect(await counters.peek('busy')).toBe(2);
    expect(await counters.addNonce('sig', 'b', 60_000)).toBe(false);
    expect(counters.evictions).toBe(1);
    // The evicted live nonce is not accepted again (see above).
    expect(await counters.addNonce('sig', 'a', 60_000)).toBe(false);
    await counters.close();
  });

  it('keeps a busy token bucket alive without moving it on every write', async () => {
    const clock = new ManualClock();
    const counters = new MemoryCounters({ clock, maxEntries: 100, sweepIntervalMs: 0 });
    const bucket = { capacity: 1_000_000, refillPerSecond: 1 };
    counters.takeTokenNow('busy', bucket);
    // 1,000 other entries pass through the bound while the bucket is taken from between them.
    for (let i = 0; i < 1000; i++) {
      await counters.kvSet(`k-${i}`, 'v', 60_000);
      counters.takeTokenNow('busy', bucket);
    }
    expect(counters.takeTokenNow('busy', bucket).remaining).toBe(1_000_000 - 1002);
    await counters.close();
  });

  it('reclaims expired entries in bounded sweeps without counting them as evictions', async () => {
    const clock = new ManualClock();
    const counters = new MemoryCounters({ clock, sweepIntervalMs: 0, sweepBatch: 400 });
    for (let i = 0; i < 1000; i++) await counters.kvSet(`cache-${i}`, 'v', 1000);
    await counters.consume('kept', 1, 10);
    clock.advance(1000);
    counters.sweep();
    expect(counters.size).toBe(601);
    counters.sweep();
    counters.sweep();
    expect(counters.size).toBe(1);
    expect(await counters.peek('kept')).toBe(1);
    expect(counters.evictions).toBe(0);
    await counters.close();
  });

  it('sweeps on its own timer, and the timer does not hold the process open', async () => {
    // Node lists only timers that keep the event loop alive.
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const counters = new MemoryCounters({ sweepIntervalMs: 10 });
    expect(timers()).toBe(before);
    for (let i = 0; i < 100; i++) await counters.addNonce('sig', `short-${i}`, 5);
    // Poll rather than sleep a fixed time: a loaded CI machine may delay the timer.
    for (let waited = 0; counters.size > 0 && waited < 2000; waited += 10) await sleep(10);
    expect(counters.size).toBe(0);
    await counters.close();
  });

  it('mints no tokens when the clock steps back', async () => {
    const clock = new ManualClock();
    const counters = new MemoryCounters({ clock, sweepIntervalMs: 0 });
    const bucket = { capacity: 2, refillPerSecond: 1 };
    await counters.takeToken('skew', { ...bucket, cost: 2 });
    clock.advance(-60_000);
    expect(await counters.takeToken('skew', bucket)).toEqual({
      allowed: false,
      remaining: 0,
      retryAfterMs: 1000,
    });
    clock.advance(60_000 + 1000);
    expect(await counters.takeToken('skew', bucket)).toEqual({
      allowed: true,
      remaining: 0,
      retryAfterMs: 0,
    });
    await counters.close();
  });
});

describe('createCounters', () => {
  it('builds the in-process store without a Redis URL and the Redis one (not yet connected) with it', async () => {
    const memory = createCounters({ redisUrl: undefined, clock: new ManualClock() });
    expect(memory).toBeInstanceOf(MemoryCounters);
    const redis = createCounters({ redisUrl: 'redis://127.0.0.1:1/0' });
    expect(redis).toBeInstanceOf(RedisCounters);
    await memory.close();
    await redis.close();
  });
});

describe('RedisCounters when Redis does not answer', () => {
  let blackHole: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Accepts connections and never replies: a hung server, the case a command timeout is for.
    blackHole = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    port = (blackHole.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  it('rejects with CountersUnavailableError when the server is unreachable', async () => {
    const counters = new RedisCounters({ url: 'redis://127.0.0.1:1/0', commandTimeoutMs: 500 });
    const started = Date.now();
    await expect(counters.ping()).rejects.toBeInstanceOf(CountersUnavailableError);
    await expect(counters.consume('k', 1, 10)).rejects.toBeInstanceOf(CountersUnavailableError);
    expect(Date.now() - started).toBeLessThan(2000);
    await counters.close();
  });

  it('rejects after the command timeout when the server hangs', async () => {
    const counters = new RedisCounters({ url: `redis://127.0.0.1:${port}/0`, commandTimeoutMs: 200 });
    const started = Date.now();
    await expect(counters.takeToken('k', { capacity: 1, refillPerSecond: 1 })).rejects.toThrow(
      /counters unavailable: redis: Command timed out/,
    );
    expect(Date.now() - started).toBeLessThan(1500);
    await counters.close();
  });
});

describe.skipIf(!redisUrl)('RedisCounters on a real server', () => {
  let h: Awaited<ReturnType<typeof openRedis>>;
  beforeAll(async () => {
    h = await openRedis(redisUrl!);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps working after the server forgets its scripts (NOSCRIPT → EVAL)', async () => {
    expect(await h.counters.consume('noscript', 2, 10)).toMatchObject({ used: 2 });
    await h.raw.script('FLUSH');
    expect(await h.counters.consume('noscript', 2, 10)).toMatchObject({ allowed: true, used: 4 });
    expect(await h.counters.takeToken('noscript', { capacity: 2, refillPerSecond: 1 })).toMatchObject({
      remaining: 1,
    });
  });

  it('stores keys under the prefix, each with an expiry except a counter without a window', async () => {
    const c = h.counters;
    await c.takeToken('ttl', { capacity: 10, refillPerSecond: 2, cost: 3 }); // 1.5 s to full again
    await c.consume('ttl-window', 1, 10, { windowMs: 60_000 });
    await c.consume('ttl-forever', 1, 10);
    await c.addNonce('sig', 'ttl', 30_000);
    await c.kvSet('ttl', 'v', 20_000);
    const pttl = (suffix: string) => h.raw.pttl(h.prefix + suffix);
    expect(await pttl('b:ttl')).toBeGreaterThan(1400);
    expect(await pttl('b:ttl')).toBeLessThanOrEqual(1500);
    expect(await pttl('c:ttl-window')).toBeGreaterThan(59_000);
    expect(await pttl('c:ttl-forever')).toBe(-1);
    expect(await pttl('n:sig:ttl')).toBeGreaterThan(29_000);
    expect(await pttl('v:ttl')).toBeGreaterThan(19_000);
    // A full bucket is no bucket: taking nothing from an absent key leaves no key behind.
    await c.takeToken('ttl-full', { capacity: 10, refillPerSecond: 2, cost: 0 });
    expect(await h.raw.exists(h.prefix + 'b:ttl-full')).toBe(0);
  });

  it('keeps a window through INCRBY and refunds rather than extending it', async () => {
    await h.counters.consume('window-kept', 1, 10, { windowMs: 10_000 });
    await h.raw.pexpire(h.prefix + 'c:window-kept', 5_000);
    await h.counters.consume('window-kept', 1, 10, { windowMs: 10_000 });
    await h.counters.refund('window-kept', 1);
    expect(await h.raw.pttl(h.prefix + 'c:window-kept')).toBeLessThanOrEqual(5_000);
  });
});
