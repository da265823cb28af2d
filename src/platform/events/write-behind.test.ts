import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { drivers } from '../../../test/support/drivers.js';
import { type Database, openDatabase } from '../db/database.js';
import { WriteBehind } from './write-behind.js';

for (const driver of drivers()) {
  describe(`write-behind (${driver.name})`, () => {
    let url: string | undefined;
    let db: Database;
    afterAll(async () => {
      await db?.close();
      await driver.dropDatabase(url);
    });
    const rows = async () =>
      (await sql<{ n: number }>`select n from wb order by n`.execute(db.kysely)).rows.map((r) => r.n);

    it('writes what waits in one transaction per flush, bounded: the oldest are dropped and counted', async () => {
      url = await driver.createDatabase();
      db = await openDatabase(url ? { url } : { dataDir: 'memory://' });
      await sql`create table wb (n int primary key)`.execute(db.kysely);
      const w = new WriteBehind<number>(
        db,
        (trx, n) => sql`insert into wb values (${n})`.execute(trx).then(() => {}),
        3,
      );
      for (const n of [1, 2, 3, 4, 5]) w.add(n);
      expect(w.size).toBe(3);
      expect(w.dropped).toBe(2);
      expect(await w.flush()).toBe(3);
      expect(await w.flush()).toBe(0);
      expect(await rows()).toEqual([3, 4, 5]);
    });

    it('puts a failed batch back, all or nothing, and writes it on the next flush', async () => {
      let failing = true;
      const w = new WriteBehind<number>(db, async (trx, n) => {
        await sql`insert into wb values (${n})`.execute(trx);
        if (failing && n === 7) throw new Error('database hiccup');
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
      const w = new WriteBehind<number>(
        db,
        async (trx, n) => {
          if (failing) throw new Error('database down');
          await sql`insert into wb values (${n})`.execute(trx);
        },
        3,
      );
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
  });
}
