/**
 * Plain-SQL migrations, one folder per module, each module in its own PostgreSQL schema.
 *
 * Applied at start-up and by `warden migrate`, under a session-level advisory lock so that N nodes
 * starting together migrate once: the first takes the lock and migrates, the others wait on the
 * lock, then find nothing left to do. Each file runs in its own transaction with its bookkeeping
 * row, so a failed file leaves no trace. An applied file whose text changed is refused.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import type { Database } from './database.js';

export interface MigrationSource {
  /** The module name; also its PostgreSQL schema. */
  module: string;
  /** Folder holding `NNN_name.sql` files. */
  dir: string;
}

export interface Migration {
  module: string;
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

export interface MigrateResult {
  applied: { module: string; version: number; name: string }[];
  tenantTables: number;
}

export class MigrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationError';
  }
}

const FILE_RE = /^(\d{3,})_([a-z0-9_]+)\.sql$/;
// A constant key for pg_advisory_lock: "warden migrations".
const LOCK_KEY = 7_236_405_111;

export function readMigrations(sources: MigrationSource[]): Migration[] {
  const out: Migration[] = [];
  for (const source of sources) {
    if (!/^[a-z][a-z0-9_]*$/.test(source.module))
      throw new MigrationError(`bad module name ${source.module}`);
    const files = readdirSync(source.dir)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    let expected = 1;
    for (const file of files) {
      const m = FILE_RE.exec(file);
      if (!m) throw new MigrationError(`${source.dir}/${file}: migration files are named NNN_name.sql`);
      const version = Number(m[1]);
      if (version !== expected) {
        throw new MigrationError(`${source.module}: expected migration ${expected}, found ${file}`);
      }
      expected++;
      const text = readFileSync(join(source.dir, file), 'utf8');
      out.push({
        module: source.module,
        version,
        name: m[2]!,
        sql: text,
        checksum: createHash('sha256').update(text).digest('hex'),
      });
    }
  }
  return out;
}

/**
 * Apply every pending migration of the given modules, in order.
 *
 * @example
 *   await migrate(db, [{ module: 'platform', dir: platformMigrationsDir }], (done, total) => bar.update(done));
 */
export async function migrate(
  db: Database,
  sources: MigrationSource[],
  onProgress?: (done: number, total: number, current: string) => void,
): Promise<MigrateResult> {
  const migrations = readMigrations(sources);
  const schemas = [...new Set(sources.map((s) => s.module))];
  return db.withConnection(async (conn) => {
    await sql`select pg_advisory_lock(${LOCK_KEY})`.execute(conn);
    try {
      await sql`create schema if not exists platform`.execute(conn);
      await sql`create table if not exists platform.schema_migrations (
        module text not null,
        version integer not null,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now(),
        primary key (module, version))`.execute(conn);
      const rows = await sql<{ module: string; version: number; checksum: string }>`
        select module, version, checksum from platform.schema_migrations`.execute(conn);
      const applied = new Map(rows.rows.map((r) => [`${r.module}/${r.version}`, r.checksum]));
      const pending: Migration[] = [];
      for (const m of migrations) {
        const sum = applied.get(`${m.module}/${m.version}`);
        if (sum === undefined) pending.push(m);
        else if (sum !== m.checksum) {
          throw new MigrationError(
            `migration ${m.module}/${String(m.version).padStart(3, '0')}_${m.name} was changed after it was applied; ` +
              'add a new migration instead of editing an applied one',
          );
        }
      }
      const done: MigrateResult['applied'] = [];
      for (const [i, m] of pending.entries()) {
        onProgress?.(i, pending.length, `${m.module}/${m.name}`);
        await sql`begin`.execute(conn);
        try {
          await sql.raw(`create schema if not exists ${m.module}`).execute(conn);
          await sql.raw(m.sql).execute(conn);
          await sql`insert into platform.schema_migrations (module, version, name, checksum)
                    values (${m.module}, ${m.version}, ${m.name}, ${m.checksum})`.execute(conn);
          await sql`commit`.execute(conn);
        } catch (err) {
          await sql`rollback`.execute(conn);
          throw new MigrationError(
            `migration ${m.module}/${m.version}_${m.name} failed: ${(err as Error).message}`,
          );
        }
        done.push({ module: m.module, version: m.version, name: m.name });
      }
      onProgress?.(pending.length, pending.length, 'done');
      const enforced = await sql<{
        n: number;
      }>`select platform.enforce_tenant_rls(${schemas}::text[]) as n`.execute(conn);
      return { applied: done, tenantTables: enforced.rows[0]?.n ?? 0 };
    } finally {
      await sql`select pg_advisory_unlock(${LOCK_KEY})`.execute(conn);
    }
  });
}
