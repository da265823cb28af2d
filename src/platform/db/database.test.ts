import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { useDatabase } from '../../../test/support/db.js';
import { drivers } from '../../../test/support/drivers.js';
import { MIGRATION_SOURCES } from '../../module-list.js';
import { DataDirLockedError, openDatabase } from './database.js';
import { DataDirNotEmptyError } from './embedded-init.js';
import { migrate } from './migrate.js';
import { NestedConnectionError } from './pglite-dialect.js';
import { compactParams } from './pglite-thread.js';
import { parseBytea, serializeBytea } from './pglite-thread-protocol.js';

const T1 = '01936f6e-0000-7000-8000-000000000001';
const T2 = '01936f6e-0000-7000-8000-000000000002';

for (const driver of drivers()) {
  describe(`database (${driver.name})`, () => {
    const t = useDatabase(driver);

    it('gives every new tenant-scoped table an RLS policy by default', async () => {
      await sql`create schema if not exists scratch`.execute(t.db.kysely);
      await sql`create table scratch.notes (id int primary key, tenant_id uuid not null, body text)`.execute(
        t.db.kysely,
      );
      const n = await sql<{ n: number }>`select platform.enforce_tenant_rls(array['scratch']) as n`.execute(
        t.db.kysely,
      );
      expect(n.rows[0]?.n).toBe(1);
      await sql`insert into scratch.notes values (1, ${T1}, 'one'), (2, ${T2}, 'two')`.execute(t.db.kysely);
      const seen = await t.db.withTenant(T1, (trx) =>
        sql<{ id: number }>`select id from scratch.notes`.execute(trx),
      );
      expect(seen.rows.map((r) => r.id)).toEqual([1]);
      // Writing a row for another tenant fails the policy's WITH CHECK.
      await expect(
        t.db.withTenant(T1, (trx) =>
          sql`insert into scratch.notes values (3, ${T2}, 'smuggled')`.execute(trx),
        ),
      ).rejects.toThrow(/row-level security/);
      // Outside a tenant transaction, the owner sees all (operator and background work).
      const all = await sql<{ n: number }>`select count(*) as n from scratch.notes`.execute(t.db.kysely);
      expect(all.rows[0]?.n).toBe(2);
    });

    it('sees nothing in a tenant-scoped table when no tenant is set (fail closed)', async () => {
      const rows = await t.db.transaction(async (trx) => {
        await sql`set local role warden_app`.execute(trx);
        return sql`select * from scratch.notes`.execute(trx);
      });
      expect(rows.rows).toEqual([]);
    });

    it('does not leak the tenant setting to the next transaction on the connection', async () => {
      await t.db.withTenant(T1, async () => {});
      const r = await t.db.transaction((trx) =>
        sql<{
          v: string | null;
          u: string;
        }>`select current_setting('app.tenant_id', true) as v, current_user as u`.execute(trx),
      );
      expect(r.rows[0]?.v ?? '').toBe('');
      expect(r.rows[0]?.u).not.toBe('warden_app');
    });

    it('refuses a tenant id that is not a UUID', async () => {
      await expect(t.db.withTenant("x'; drop table y; --", async () => 1)).rejects.toThrow(/not a tenant id/);
    });

    it('returns int8 as exact numbers and numeric as strings on both drivers', async () => {
      const r = await sql<{
        a: number;
        b: string;
      }>`select 9007199254740991::int8 as a, 12.345::numeric as b`.execute(t.db.kysely);
      expect(r.rows[0]).toEqual({ a: 9007199254740991, b: '12.345' });
      await expect(sql`select 9007199254740993::int8 as a`.execute(t.db.kysely)).rejects.toThrow(
        /exact range/,
      );
    });

    it('sends and reads bytea byte for byte on both drivers, views of a larger buffer included', async () => {
      const whole = randomBytes(4096);
      whole[10] = 0;
      whole[11] = 0xff;
      const view = whole.subarray(7, 1031); // byteOffset 7 into a larger buffer
      const r = await sql<{ a: Uint8Array; n: number; h: string; e: Uint8Array }>`
        select ${view}::bytea as a, octet_length(${view}::bytea) as n, encode(sha256(${view}::bytea), 'hex') as h,
          ${new Uint8Array(0)}::bytea as e`.execute(t.db.kysely);
      const row = r.rows[0]!;
      expect(row.n).toBe(1024);
      expect(row.h).toBe(createHash('sha256').update(view).digest('hex'));
      expect(Buffer.from(row.a).equals(view)).toBe(true);
      expect(row.e.length).toBe(0);
    });

    it('rolls back every statement of a failed transaction', async () => {
      await expect(
        t.db.transaction(async (trx) => {
          await sql`insert into scratch.notes values (10, ${T1}, 'kept?')`.execute(trx);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      const r = await sql`select * from scratch.notes where id = 10`.execute(t.db.kysely);
      expect(r.rows).toEqual([]);
    });

    it('migrates idempotently and refuses an applied migration whose text changed', async () => {
      const again = await migrate(t.db, MIGRATION_SOURCES);
      expect(again.applied).toEqual([]);
      const dir = mkdtempSync(join(tmpdir(), 'warden-mig-'));
      mkdirSync(join(dir, 'm'));
      writeFileSync(join(dir, 'm', '001_first.sql'), 'create table extra_mod.a (id int);');
      const sources = [...MIGRATION_SOURCES, { module: 'extra_mod', dir: join(dir, 'm') }];
      expect((await migrate(t.db, sources)).applied).toEqual([
        { module: 'extra_mod', version: 1, name: 'first' },
      ]);
      writeFileSync(join(dir, 'm', '001_first.sql'), 'create table extra_mod.a (id bigint);');
      await expect(migrate(t.db, sources)).rejects.toThrow(/was changed after it was applied/);
      rmSync(dir, { recursive: true, force: true });
    });

    it('leaves no trace of a migration that fails halfway', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'warden-mig-'));
      writeFileSync(
        join(dir, '001_bad.sql'),
        'create table broken_mod.a (id int); select no_such_function();',
      );
      await expect(migrate(t.db, [...MIGRATION_SOURCES, { module: 'broken_mod', dir }])).rejects.toThrow(
        /broken_mod\/1_bad failed/,
      );
      const r = await sql`select to_regclass('broken_mod.a') as t`.execute(t.db.kysely);
      expect(r.rows[0]).toEqual({ t: null });
      rmSync(dir, { recursive: true, force: true });
    });
  });
}

describe('PGlite bytea codec', () => {
  it('sends bytes as they are and reads hex back, each result with a buffer of its own', () => {
    const bytes = randomBytes(300).subarray(3, 260);
    expect(serializeBytea(bytes)).toBe(bytes);
    const back = parseBytea(`\\x${bytes.toString('hex')}`);
    expect(Buffer.from(back).equals(bytes)).toBe(true);
    expect(back.buffer.byteLength).toBe(257);
    expect(parseBytea('\\x').length).toBe(0);
  });

  it('refuses what is not bytes, and bytea text that is not hex', () => {
    expect(() => serializeBytea('abc')).toThrow(TypeError);
    expect(() => serializeBytea([1, 2])).toThrow(TypeError);
    expect(() => parseBytea('abc\\000')).toThrow(/hex format/);
    expect(() => parseBytea('\\x0g')).toThrow(/well-formed/);
    expect(() => parseBytea('\\xabc')).toThrow(/well-formed/);
  });
});

describe('compactParams', () => {
  it('gives byte views their own buffer before they cross threads, and leaves everything else alone', () => {
    const pooled = Buffer.from('abc'); // a view into Node's shared 8 KiB pool
    const own = new Uint8Array([1, 2, 3]);
    const params = ['x', 1, null, pooled, own, ['a']];
    const out = compactParams(params);
    expect(out).not.toBe(params);
    expect(out[3]).not.toBe(pooled);
    expect((out[3] as Uint8Array).buffer.byteLength).toBe(3);
    expect(Buffer.from(out[3] as Uint8Array).toString()).toBe('abc');
    expect(out[4]).toBe(own);
    expect(out.filter((_, i) => i !== 3)).toEqual(params.filter((_, i) => i !== 3));
    const plain = ['x', own];
    expect(compactParams(plain)).toBe(plain);
  });
});

describe('database (pglite specifics)', () => {
  it('lets another client of the process share the embedded database without interleaving transactions', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    const link = db.threadLink();
    if (!link || !('pglite' in link)) throw new Error('a threaded PGlite gives a port');
    // The other client is on this thread here; on its own thread it is the same port and protocol.
    const other = await openDatabase({ pglitePort: link.pglite });
    try {
      await sql`create table shared (n int)`.execute(db.kysely);
      const order: string[] = [];
      let inside!: () => void;
      const entered = new Promise<void>((r) => {
        inside = r;
      });
      let finish!: () => void;
      const held = other.transaction(async (trx) => {
        await sql`insert into shared values (1)`.execute(trx);
        inside();
        await new Promise<void>((r) => {
          finish = r;
        });
        await sql`insert into shared values (2)`.execute(trx);
        order.push('other committed');
      });
      await entered;
      // The owner's statement waits for the other client's transaction, never runs inside it.
      const read = sql<{ n: number }>`select count(*)::int as n from shared`.execute(db.kysely).then((r) => {
        order.push(`owner read ${r.rows[0]!.n}`);
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(order).toEqual([]);
      finish();
      await Promise.all([held, read]);
      expect(order).toEqual(['other committed', 'owner read 2']);
      expect(other.linkable).toBe(false);
    } finally {
      await other.close();
      await db.close();
    }
  });

  it('rolls back what an attached client left open when its port closes, and lets the owner go on', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    const link = db.threadLink();
    if (!link || !('pglite' in link)) throw new Error('a threaded PGlite gives a port');
    const port = link.pglite;
    try {
      await sql`create table orphan (n int)`.execute(db.kysely);
      // A client that dies mid-transaction: raw protocol, no release.
      const reply = (id: number) =>
        new Promise<unknown>((resolve) => {
          const on = (m: { id: number }) => {
            if (m.id === id) {
              port.off('message', on);
              resolve(m);
            }
          };
          port.on('message', on);
        });
      port.postMessage({ id: 1, kind: 'exec', sql: 'begin' });
      await reply(1);
      port.postMessage({ id: 2, kind: 'exec', sql: 'insert into orphan values (1)' });
      await reply(2);
      const count = sql<{ n: number }>`select count(*)::int as n from orphan`.execute(db.kysely);
      port.close(); // its thread ended
      expect((await count).rows[0]!.n).toBe(0);
      await expect(db.ping()).resolves.toBeUndefined();
    } finally {
      await db.close();
    }
  });

  it('fails loudly instead of deadlocking when a transaction asks for a second connection', async () => {
    const db = await openDatabase({ dataDir: 'memory://' });
    try {
      await expect(db.transaction(async () => sql`select 1`.execute(db.kysely))).rejects.toBeInstanceOf(
        NestedConnectionError,
      );
      // The connection is usable afterwards.
      await expect(db.ping()).resolves.toBeUndefined();
    } finally {
      await db.close();
    }
  });

  it('keeps a second process out of a data directory in use, and persists across reopen', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-lock-'));
    const db = await openDatabase({ dataDir: dir });
    await sql`create table kept (v int); insert into kept values (42)`.execute(db.kysely);
    // A lock file naming a live process other than us (pid 1) keeps others out.
    writeFileSync(join(dir, 'warden.pid'), '1');
    await expect(openDatabase({ dataDir: dir })).rejects.toBeInstanceOf(DataDirLockedError);
    writeFileSync(join(dir, 'warden.pid'), String(process.pid));
    await db.close();
    const reopened = await openDatabase({ dataDir: dir });
    const r = await sql<{ v: number }>`select v from kept`.execute(reopened.kysely);
    expect(r.rows).toEqual([{ v: 42 }]);
    await reopened.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts a new database from a template, on its thread or not, and never lays one over an existing database', async () => {
    const maker = await PGlite.create();
    await maker.exec('create table from_template (v int); insert into from_template values (7)');
    const template = await maker.dumpDataDir('none');
    await maker.close();
    const dir = mkdtempSync(join(tmpdir(), 'warden-template-'));
    try {
      for (const pgliteThread of [true, false]) {
        const mem = await openDatabase({ dataDir: 'memory://', pgliteTemplate: template, pgliteThread });
        const m = await sql<{ v: number }>`select v from from_template`.execute(mem.kysely);
        expect(m.rows).toEqual([{ v: 7 }]);
        await mem.close();
      }
      const first = await openDatabase({ dataDir: dir, pgliteTemplate: template });
      await sql`insert into from_template values (8)`.execute(first.kysely);
      await first.close();
      // Reopened with the template again: the existing database is kept as it is.
      const again = await openDatabase({ dataDir: dir, pgliteTemplate: template });
      const r = await sql<{ v: number }>`select v from from_template order by v`.execute(again.kysely);
      expect(r.rows).toEqual([{ v: 7 }, { v: 8 }]);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes a first start that an interruption cannot spoil: a half-made cluster is cleared and redone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-initdb-'));
    try {
      // An interrupted first start: its marker, and part of a cluster beside it.
      writeFileSync(join(dir, '.warden-initdb'), 'first start of the embedded database by pid 1\n');
      mkdirSync(join(dir, 'base'));
      writeFileSync(join(dir, 'base', 'junk'), 'half');
      writeFileSync(join(dir, 'PG_VERSION'), '17\n');
      const first = await openDatabase({ dataDir: dir });
      await sql`create table kept (v int); insert into kept values (7)`.execute(first.kysely);
      await first.close();
      expect(existsSync(join(dir, '.warden-initdb'))).toBe(false);
      expect(existsSync(join(dir, 'base', 'junk'))).toBe(false);
      const again = await openDatabase({ dataDir: dir });
      expect((await sql<{ v: number }>`select v from kept`.execute(again.kysely)).rows).toEqual([{ v: 7 }]);
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a directory that holds other files and no database, and leaves them alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-foreign-'));
    try {
      writeFileSync(join(dir, 'notes.txt'), 'mine');
      await expect(openDatabase({ dataDir: dir })).rejects.toBeInstanceOf(DataDirNotEmptyError);
      expect(readdirSync(dir).sort()).toEqual(['notes.txt']);
      // The lock was released: once the directory is fixed, it opens.
      rmSync(join(dir, 'notes.txt'));
      const db = await openDatabase({ dataDir: dir });
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
