import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { drivers } from '../../../test/support/drivers.js';
import { type Database, openDatabase, type Tx } from '../db/database.js';
import { WriteBehind } from './write-behind.js';

for (const driver of drivers()) {
  describe(`write-behind (${driver.name})`, () => {
    let url: string | undefined;
    let db: Database;
    afterAll(async () => {
      await db?.close();
      await driver.dropDatabase(url);
    });
    const insertAll = async (trx: Tx, batch: number[]) => {
      for (const n of batch) await sql`insert into wb values (${n})`.execute(trx);
    };
    const rows = async () =>
      (await sql<{ n: number }>`select n from wb order by n`.execute(db.kysely)).rows.map((r) => r.n);

    it('writes what waits in one transaction per flush, bounded: the oldest are dropped and counted', async () => {
      url = await driver.createDatabase();
      db = await openDatabase(url ? { url } : { dataDir: 'memory://' });
      await sql`create table wb (n int primary key)`.execute(db.kysely);
      const w = new WriteBehind<number>(db, { write: insertAll, max: 3 });
      for (const n of [1, 2, 3, 4, 5]) w.add(n);
      expect(w.size).toBe(3);
      expect(w.dropped).toBe(2);
      expect(await w.flush()).toBe(3);
      expect(await w.flush()).toBe(0);
      expect(await rows()).toEqual([3, 4, 5]);
    });

    it('puts a failed batch back, all or nothing, and writes it on the next flush', async () => {
      let failing = true;
      const w = new WriteBehind<number>(db, {
        write: async (trx, batch) => {
          for (const n of batch) {
            await sql`insert into wb values (${n})`.execute(trx);
            if (failing && n === 7) throw new Error('database hiccup');
          }
        },
      });
      w.add(6);
      w.add(7);
      await expect(w.flush()).rejects.toThrow('database hiccup');
      expect(await rows()).toEqual([3, 4, 5]); // 6 was rolled back with 7
      expect(w.size).toBe(2);
      failing = false;
      w.add(8);
      expect(await w.flush()).toBe(3);
      expect(await rows()).toEqual([3, 4, 5, 6, 7, 8]);
    });

    it('keeps the newest `max` under a long flood (past several compactions) and on a failed flush', async () => {
      let failing = false;
      const w = new WriteBehind<number>(db, {
        write: async (trx, batch) => {
          if (failing) throw new Error('database down');
          await insertAll(trx, batch);
        },
        max: 3,
      });
      for (let n = 100; n < 110; n++) w.add(n);
      expect([w.size, w.dropped]).toEqual([3, 7]);
      failing = true;
      const attempt = w.flush(); // takes 107..109; two more arrive while it fails
      w.add(110);
      w.add(111);
      await expect(attempt).rejects.toThrow('database down');
      expect([w.size, w.dropped]).toEqual([3, 9]); // 107 and 108 made room for the newer two
      failing = false;
      expect(await w.flush()).toBe(3);
      expect((await rows()).filter((n) => n >= 100)).toEqual([109, 110, 111]);
    });

    it('refuses past the bound when told to (the caller fails closed), writes in batches, and keeps a failed batch whole', async () => {
      let failOn: number | undefined;
      const batches: number[] = [];
      const w = new WriteBehind<number>(db, {
        write: async (trx, batch) => {
          if (failOn !== undefined && batch.includes(failOn)) throw new Error('database hiccup');
          await insertAll(trx, batch);
        },
        max: 5,
        whenFull: 'refuse',
        maxBatch: 2,
        onWritten: (n) => batches.push(n),
      });
      for (const n of [200, 201, 202, 203, 204]) expect(w.add(n)).toBe(true);
      expect(w.add(205)).toBe(false);
      expect([w.size, w.dropped]).toEqual([5, 0]);
      failOn = 202;
      await expect(w.flush()).rejects.toThrow('database hiccup'); // 200–201 written, then 202–203 failed
      expect(batches).toEqual([2]);
      expect(w.size).toBe(3); // 202, 203 back in front of 204; nothing dropped
      failOn = undefined;
      // Two flushes at once run one after the other; the second finds nothing left.
      const [a, b] = await Promise.all([w.flush(), w.flush()]);
      expect([a, b]).toEqual([3, 0]);
      expect(batches).toEqual([2, 2, 1]);
      expect((await rows()).filter((n) => n >= 200)).toEqual([200, 201, 202, 203, 204]);
    });

    it('flushes on a timer of its own, reports a failed tick and retries it, and writes the rest on stop', async () => {
      let failing = true;
      const errors: unknown[] = [];
      const w = new WriteBehind<number>(db, {
        write: async (trx, batch) => {
          if (failing) throw new Error('database down');
          await insertAll(trx, batch);
        },
      });
      w.start(10, (err) => errors.push(err));
      w.add(300);
      const until = async (done: () => boolean | Promise<boolean>) => {
        for (let i = 0; i < 300 && !(await done()); i++) await new Promise((r) => setTimeout(r, 10));
      };
      await until(() => errors.length > 0);
      expect(String(errors[0])).toContain('database down');
      failing = false;
      await until(async () => (await rows()).includes(300));
      expect(await rows()).toContain(300);
      w.add(301);
      await w.stop(); // the timer is gone; what waited is written now
      expect(await rows()).toContain(301);
      w.add(302);
      await new Promise((r) => setTimeout(r, 50));
      expect(await rows()).not.toContain(302);
      expect(w.size).toBe(1);
    });
  });
}
