/**
 * Counters throughput. Redis `consume` (one EVALSHA) is measured serially and with 50 calls in
 * flight, each beside a plain `INCRBY` on its own connection in the same run — the floor any
 * Redis counter pays for a round trip — and reported as a ratio, because absolute numbers on a
 * shared machine move from run to run. Then the in-process `consume` and `takeToken`.
 *
 *   npx tsx bench/counters.ts      (WARDEN_TEST_REDIS_URL, else redis://127.0.0.1:6379/15)
 *
 * Rounds alternate baseline and subject and the median is kept, so a noisy second hurts both.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { MemoryCounters } from '../src/platform/counters/memory.js';
import { RedisCounters } from '../src/platform/counters/redis.js';

const url = process.env.WARDEN_TEST_REDIS_URL || 'redis://127.0.0.1:6379/15';
const ROUND_MS = 1500;
const ROUNDS = 3;
const KEYS = 100;
const LIMIT = Number.MAX_SAFE_INTEGER;

/** Runs `op` from `inFlight` concurrent loops for `ms`; returns operations per second. */
async function measure(ms: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let done = 0;
  const end = performance.now() + ms;
  const started = performance.now();
  const loop = async (lane: number) => {
    let i = lane;
    // Reading the clock every call would cost more than an in-process op; check every 256.
    while (true) {
      for (let j = 0; j < 256; j++) await op(i++);
      done += 256;
      if (performance.now() >= end) return;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, (_, lane) => loop(lane * 7919)));
  return done / ((performance.now() - started) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const prefix = `warden-bench:${randomUUID()}:`;
  const counters = new RedisCounters({ url, prefix });
  const raw = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const rows: Array<[string, string, string]> = [];
  try {
    await counters.ping();
    await raw.ping();
    const consume = (i: number) => counters.consume(`k${i % KEYS}`, 1, LIMIT);
    const incrby = (i: number) => raw.incrby(`${prefix}base:k${i % KEYS}`, 1);

    for (const inFlight of [1, 50]) {
      await measure(300, inFlight, incrby); // warm-up: connections, JIT, script cache
      await measure(300, inFlight, consume);
      const base: number[] = [];
      const subject: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        base.push(await measure(ROUND_MS, inFlight, incrby));
        subject.push(await measure(ROUND_MS, inFlight, consume));
      }
      const b = median(base);
      const s = median(subject);
      const label = inFlight === 1 ? 'serial' : `${inFlight} in flight`;
      rows.push([`Redis INCRBY (baseline), ${label}`, fmt(b), '1.00']);
      rows.push([`Redis consume, ${label}`, fmt(s), (s / b).toFixed(2)]);
    }
  } finally {
    await counters.close();
    const keys = await raw.keys(`${prefix}*`);
    if (keys.length > 0) await raw.del(...keys);
    await raw.quit();
  }

  const memory = new MemoryCounters();
  const bucket = { capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 };
  const memConsume = (i: number) => memory.consume(`k${i % 1000}`, 1, LIMIT);
  const memTake = (i: number) => memory.takeToken(`k${i % 1000}`, bucket);
  await measure(300, 1, memConsume);
  await measure(300, 1, memTake);
  const mc: number[] = [];
  const mt: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    mc.push(await measure(ROUND_MS, 1, memConsume));
    mt.push(await measure(ROUND_MS, 1, memTake));
  }
  rows.push(['memory consume, serial', fmt(median(mc)), '']);
  rows.push(['memory takeToken, serial', fmt(median(mt)), '']);
  await memory.close();

  console.log(
    `counters bench — ${new Date().toISOString()} — node ${process.version} — ${url.replace(/\/\/[^@]*@/, '//')}`,
  );
  console.log(
    `median of ${ROUNDS} rounds of ${ROUND_MS} ms; ratio = consume / INCRBY at the same concurrency\n`,
  );
  console.log('| operation | ops/s | ratio |');
  console.log('| --- | ---: | ---: |');
  for (const [name, ops, ratio] of rows) console.log(`| ${name} | ${ops} | ${ratio} |`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
