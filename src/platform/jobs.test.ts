import { sql } from 'kysely';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { useDatabase } from '../../test/support/db.js';
import { drivers } from '../../test/support/drivers.js';
import { JobQueue, nextRun } from './jobs.js';

const log = pino({ level: 'silent' });

async function waitFor(check: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('condition not met in time');
}

describe('nextRun', () => {
  it('parses intervals and cron expressions, in UTC', () => {
    const from = new Date('2026-01-01T10:00:00Z');
    expect(nextRun('every 30s', from).toISOString()).toBe('2026-01-01T10:00:30.000Z');
    expect(nextRun('every 2h', from).toISOString()).toBe('2026-01-01T12:00:00.000Z');
    expect(nextRun('0 3 * * *', from).toISOString()).toBe('2026-01-02T03:00:00.000Z');
    expect(() => nextRun('every 10ms', from)).toThrow(/at least 100ms/);
    expect(() => nextRun('sometimes', from)).toThrow(/neither/);
  });
});

for (const driver of drivers()) {
  describe(`durable jobs (${driver.name})`, () => {
    const t = useDatabase(driver);
    const queues: JobQueue[] = [];
    const queue = (workerId: string) => {
      const q = new JobQueue({ db: t.db, log, pollMs: 20, retryBaseMs: 10, retryMaxMs: 40, workerId });
      queues.push(q);
      return q;
    };
    afterEach(async () => {
      for (const q of queues.splice(0)) await q.stop();
    });

    it('runs a delayed job once, not before its time', async () => {
      const q = queue('w1');
      const runs: number[] = [];
      q.define('test.delayed', { handler: async (job) => void runs.push(job.payload.n as number) });
      await q.start();
      const enqueuedAt = Date.now();
      await q.enqueue(t.db.kysely, 'test.delayed', { n: 1 }, { delayMs: 300 });
      await waitFor(() => runs.length === 1);
      expect(Date.now() - enqueuedAt).toBeGreaterThanOrEqual(250);
      await new Promise((r) => setTimeout(r, 150));
      expect(runs).toEqual([1]);
    });

    it('retries failures with backoff, then marks the job dead and lists it', async () => {
      const q = queue('w2');
      let attempts = 0;
      q.define('test.flaky', {
        maxAttempts: 3,
        handler: async () => {
          attempts++;
          throw new Error(`attempt ${attempts} failed`);
        },
      });
      await q.start();
      const id = await q.enqueue(t.db.kysely, 'test.flaky');
      await waitFor(async () => (await q.listDead()).some((j) => j.id === id));
      expect(attempts).toBe(3);
      expect((await q.listDead()).find((j) => j.id === id)).toMatchObject({
        attempts: 3,
        lastError: 'attempt 3 failed',
      });
    });

    it('enqueues in the caller transaction: a rolled-back enqueue never runs', async () => {
      const q = queue('w3');
      const runs: string[] = [];
      q.define('test.tx', { handler: async (job) => void runs.push(job.payload.tag as string) });
      await q.start();
      await expect(
        t.db.transaction(async (trx) => {
          await q.enqueue(trx, 'test.tx', { tag: 'rolled-back' });
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      await t.db.transaction((trx) => q.enqueue(trx, 'test.tx', { tag: 'committed' }));
      await waitFor(() => runs.includes('committed'));
      expect(runs).not.toContain('rolled-back');
    });

    it('keeps at most one queued job per unique key', async () => {
      const q = queue('w4');
      const first = await q.enqueue(
        t.db.kysely,
        'test.unique',
        {},
        { uniqueKey: 'only-one', delayMs: 60_000 },
      );
      const second = await q.enqueue(
        t.db.kysely,
        'test.unique',
        {},
        { uniqueKey: 'only-one', delayMs: 60_000 },
      );
      expect(first).toBeDefined();
      expect(second).toBeUndefined();
    });

    it('runs a job again after its worker died holding the lease (at least once)', async () => {
      const id = await new JobQueue({ db: t.db, log }).enqueue(t.db.kysely, 'test.orphan', { n: 9 });
      // A worker that claimed it and died: status running, lease already expired.
      await sql`update platform.jobs set status = 'running', attempts = 1, locked_by = 'dead-worker',
                locked_until = now() - interval '1 second' where id = ${id}`.execute(t.db.kysely);
      const q = queue('w5');
      const runs: string[] = [];
      q.define('test.orphan', { handler: async (job) => void runs.push(job.id) });
      await q.start();
      await waitFor(() => runs.includes(id!));
      const row = await sql<{
        status: string;
        attempts: number;
      }>`select status, attempts from platform.jobs where id = ${id}`.execute(t.db.kysely);
      expect(row.rows[0]).toEqual({ status: 'done', attempts: 2 });
    });

    it('runs a recurring job on its schedule, once per occurrence across two workers', async () => {
      const runs: string[] = [];
      for (const w of ['w6', 'w7']) {
        const q = queue(w);
        q.define('test.tick', { handler: async (job) => void runs.push(job.id) });
        q.every('test.tick', 'every 200ms');
        await q.start();
      }
      await waitFor(() => runs.length >= 3, 5000);
      expect(new Set(runs).size).toBe(runs.length);
    });

    it('refuses bad job names and bad schedules up front', async () => {
      const q = queue('w8');
      expect(() => q.define('Bad Name', { handler: async () => {} })).toThrow(/job name/);
      await expect(q.enqueue(t.db.kysely, 'Bad Name')).rejects.toThrow(/not valid/);
      expect(() => q.every('test.x', 'whenever')).toThrow(/neither/);
    });
  });
}
