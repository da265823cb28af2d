import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { drivers } from '../../../test/support/drivers.js';
import { type Database, openDatabase } from './database.js';
import { PREPARED } from './prepared.js';

for (const driver of drivers()) {
  describe(`prepared statements (${driver.name})`, () => {
    let url: string | undefined;
    let db: Database;
    afterAll(async () => {
      await db?.close();
      await driver.dropDatabase(url);
    });

    it('runs a marked statement, and on PostgreSQL prepares it once per connection', async () => {
      url = await driver.createDatabase();
      db = await openDatabase(url ? { url, poolSize: 1 } : { dataDir: 'memory://' });
      await sql`create table t (id int primary key, v text)`.execute(db.kysely);
      await sql`insert into t values (1, 'a'), (2, 'b')`.execute(db.kysely);
      const read = (id: number) =>
        sql<{ v: string }>`${PREPARED}select v from t where id = ${id}`.execute(db.kysely);
      for (const id of [1, 2, 1]) expect((await read(id)).rows).toEqual([{ v: id === 1 ? 'a' : 'b' }]);
      // An unmarked statement is not prepared.
      await sql`select v from t where id = ${1}`.execute(db.kysely);
      if (driver.name !== 'postgres') return;
      const held = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(
        db.kysely,
      );
      expect(held.rows.map((r) => r.statement)).toEqual([
        '/* warden:prepared */ select v from t where id = $1',
      ]);
    });

    // PGlite has no named statements, so this case exists on PostgreSQL only.
    if (driver.name === 'postgres')
      it('recovers when a migration changes the row a prepared statement returns', async () => {
        const readAll = () =>
          sql<Record<string, unknown>>`${PREPARED}select * from t where id = ${1}`.execute(db.kysely);
        expect((await readAll()).rows).toEqual([{ id: 1, v: 'a' }]);
        await sql`alter table t add column w int`.execute(db.kysely);
        // PostgreSQL refuses the old plan once; the connection then prepares under new names.
        const first = await readAll().catch((err: { code?: string }) => err);
        expect((first as { code?: string }).code).toBe('0A000');
        expect((await readAll()).rows).toEqual([{ id: 1, v: 'a', w: null }]);
      });
  });
}
