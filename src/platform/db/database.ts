/**
 * The system of record: PGlite embedded (default) or PostgreSQL (`WARDEN_DATABASE_URL`), one SQL
 * dialect, one Kysely API. Modules receive a `Database` and reach their own schema only.
 *
 * Row-level security: `withTenant` runs a transaction as the non-superuser role `warden_app` with
 * `app.tenant_id` set, so every tenant-scoped table's RLS policy applies even if a query forgets
 * its `WHERE tenant_id = …`. `transaction` runs as the owner (operator and system work).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { MessagePort } from 'node:worker_threads';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql, type Transaction } from 'kysely';
import pg from 'pg';
import { beginFirstStart } from './embedded-init.js';
import { type EmbeddedPg, PGliteDialect } from './pglite-dialect.js';
import { PGlitePort, PGliteThread } from './pglite-thread.js';
import { INT8_OID, PGLITE_PARSERS, PGLITE_SERIALIZERS, parseInt8 } from './pglite-thread-protocol.js';
import { PREPARED, preparedStatements } from './prepared.js';

// biome-ignore lint/suspicious/noExplicitAny: each module narrows this to its own table types.
export type AnyDB = any;
export type Tx = Transaction<AnyDB>;
export type Executor = Kysely<AnyDB> | Transaction<AnyDB>;

/** Marks an async context as inside a transaction callback; `active` turns false when it ends, so
 * background work that merely started there (timers, wake-ups) is not mistaken for nesting. */
export interface TransactionMark {
  active: boolean;
}

/** The role tenant-scoped transactions run as; RLS policies apply to it. */
export const APP_ROLE = 'warden_app';

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  /** Owner access, outside any transaction. Prefer `transaction`/`withTenant` for writes. */
  readonly kysely: Kysely<AnyDB>;
  /** A transaction as the owner: RLS does not apply (operator and background work). */
  transaction<T>(fn: (trx: Tx) => Promise<T>): Promise<T>;
  /**
   * A transaction as `warden_app` with `app.tenant_id` set: RLS confines every statement to the tenant.
   *
   * @example
   *   await db.withTenant(tenantId, (trx) => trx.selectFrom('identity.api_keys').selectAll().execute());
   */
  withTenant<T>(tenantId: string, fn: (trx: Tx) => Promise<T>): Promise<T>;
  /** Runs `fn` on one connection for its whole duration (session-level advisory locks). */
  withConnection<T>(fn: (db: Kysely<AnyDB>) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * How another thread of this process reaches this database: PostgreSQL's URL (it opens a pool of
   * its own), a port attached to the embedded database's thread, or undefined (PGlite running on
   * this very thread).
   */
  threadLink(): ThreadLink | undefined;
  /** Whether `threadLink()` gives a link (checked without attaching anything). */
  readonly linkable: boolean;
}

/** See `Database.threadLink`; the other thread opens it with `openDatabase({ url })` or `openDatabase({ pglitePort })`. */
export type ThreadLink = { readonly url: string } | { readonly pglite: MessagePort };

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent, PGlite in `dataDir`. */
  url?: string | undefined;
  /**
   * Run PGlite on a worker thread (default true): SQL off the event loop and on another core. False
   * runs it on the calling thread.
   */
  pgliteThread?: boolean;
  /** PGlite data directory; `memory://` for a throwaway database (tests). */
  dataDir?: string | undefined;
  poolSize?: number;
  /** Per-statement timeout on PostgreSQL, so no request waits on the database forever. */
  statementTimeoutMs?: number;
  /** On another thread: the embedded database of the thread that attached this port. */
  pglitePort?: MessagePort | undefined;
  /**
   * A new embedded database starts as a copy of this data directory (a PGlite `dumpDataDir`
   * tarball) instead of running initdb (~2–3 s here, against ~0.5 s to load one): the tests make one
   * per process and start every database from it. Ignored when the data directory already holds one.
   */
  pgliteTemplate?: Blob | undefined;
}

// Both drivers must hand back the same JS types. int8 (counts, amounts in micro-units) becomes a
// number, refusing values past 2^53 rather than silently rounding them; numeric stays a decimal
// string (pglite-thread-protocol.ts holds the parsers, shared with the PGlite worker thread).

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

class WardenDatabase implements Database {
  constructor(
    readonly kind: 'pglite' | 'postgres',
    readonly kysely: Kysely<AnyDB>,
    /**
     * PGlite only: its single connection must not be asked for again inside a transaction callback
     * (that would wait forever), and this mark lets its driver refuse that loudly. PostgreSQL has a
     * pool and needs no mark — and an AsyncLocalStorage, once used, makes Node 20 run a hook on
     * every promise the process creates (~3 % of a decision's CPU).
     */
    private readonly inTransaction: AsyncLocalStorage<TransactionMark> | undefined,
    private readonly onClose: () => Promise<void>,
    private readonly link: (() => ThreadLink | undefined) | undefined = undefined,
  ) {}

  get linkable(): boolean {
    return this.link !== undefined;
  }

  threadLink(): ThreadLink | undefined {
    return this.link?.();
  }

  transaction<T>(fn: (trx: Tx) => Promise<T>): Promise<T> {
    return this.kysely.transaction().execute((trx) => this.marked(() => fn(trx)));
  }

  private async marked<T>(fn: () => Promise<T>): Promise<T> {
    if (!this.inTransaction) return fn();
    const mark: TransactionMark = { active: true };
    try {
      return await this.inTransaction.run(mark, fn);
    } finally {
      mark.active = false;
    }
  }

  withTenant<T>(tenantId: string, fn: (trx: Tx) => Promise<T>): Promise<T> {
    // The id goes into a GUC the RLS policies cast to uuid: refuse anything else up front.
    if (!UUID_RE.test(tenantId)) return Promise.reject(new Error(`withTenant: not a tenant id: ${tenantId}`));
    return this.kysely.transaction().execute(async (trx) => {
      // One round trip: both settings are transaction-local, so nothing leaks to the next user of the connection.
      await sql`${PREPARED}select set_config('app.tenant_id', ${tenantId}, true), set_config('role', ${APP_ROLE}, true)`.execute(
        trx,
      );
      return this.marked(() => fn(trx));
    });
  }

  async withConnection<T>(fn: (db: Kysely<AnyDB>) => Promise<T>): Promise<T> {
    return this.kysely.connection().execute((conn) => fn(conn as unknown as Kysely<AnyDB>));
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.kysely);
  }

  async close(): Promise<void> {
    await this.kysely.destroy();
    await this.onClose();
  }
}

/**
 * Open the configured database.
 *
 * @example
 *   const db = await openDatabase({ dataDir: 'memory://' });
 *   await db.ping();
 */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) {
    const pool = new pg.Pool({
      connectionString: options.url,
      max: options.poolSize ?? 10,
      connectionTimeoutMillis: 10_000,
      statement_timeout: options.statementTimeoutMs ?? 30_000,
      application_name: 'warden',
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID
            ? parseInt8
            : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle client's error (server restart) must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    pool.on('connect', (client) => preparedStatements(client));
    const kysely = new Kysely<AnyDB>({ dialect: new PostgresDialect({ pool }) });
    const url = options.url;
    const db = new WardenDatabase(
      'postgres',
      kysely,
      undefined,
      async () => {},
      () => ({ url }),
    );
    await db.ping();
    return db;
  }
  if (options.pglitePort) return embeddedDatabase(new PGlitePort(options.pglitePort), async () => {});
  const dataDir = options.dataDir ?? './.warden/data';
  const memory = dataDir.startsWith('memory://');
  let unlock = async () => {};
  if (!memory) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    unlock = lockDataDir(dataDir);
  }
  let pglite: EmbeddedPg;
  const threaded = options.pgliteThread ?? true;
  try {
    const created = memory ? undefined : beginFirstStart(dataDir);
    // Only a database being made starts from the template, never an existing one.
    const template = memory || created ? options.pgliteTemplate : undefined;
    if (threaded) {
      const thread = new PGliteThread(memory ? undefined : dataDir, template);
      pglite = thread;
      await thread.waitReady.catch(async (err) => {
        await thread.close().catch(() => {});
        throw err;
      });
    } else
      pglite = await PGlite.create(memory ? undefined : dataDir, {
        parsers: PGLITE_PARSERS,
        serializers: PGLITE_SERIALIZERS,
        ...(template ? { loadDataDir: template } : {}),
      });
    // The cluster is complete and open: a later interruption no longer makes it a half-made one.
    created?.();
  } catch (err) {
    await unlock();
    throw err;
  }
  const thread = pglite instanceof PGliteThread ? pglite : undefined;
  return embeddedDatabase(
    pglite,
    unlock,
    thread && (() => (thread.closed ? undefined : { pglite: thread.attach() })),
  );
}

/** A Database on the embedded PGlite: in this thread, on its own thread, or through a port attached to that. */
function embeddedDatabase(
  pglite: EmbeddedPg,
  onClose: () => Promise<void>,
  threadLink?: () => ThreadLink | undefined,
): Database {
  const inTransaction = new AsyncLocalStorage<TransactionMark>();
  const kysely = new Kysely<AnyDB>({ dialect: new PGliteDialect(pglite, inTransaction) });
  return new WardenDatabase('pglite', kysely, inTransaction, onClose, threadLink);
}

/**
 * PGlite is one process's database: a second process opening the same directory would corrupt it.
 * A lock file holding our pid keeps a second `warden serve` out; a stale one (dead pid) is taken over.
 */
function lockDataDir(dataDir: string): () => Promise<void> {
  const path = join(dataDir, 'warden.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return async () => rmSync(path, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
        throw new DataDirLockedError(dataDir, pid);
      }
      rmSync(path, { force: true });
    }
  }
  throw new DataDirLockedError(dataDir, 0);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `the embedded database in ${dataDir} is in use by another Warden process (pid ${pid}); ` +
        'stop it, or point WARDEN_DATA_DIR elsewhere, or use WARDEN_DATABASE_URL for several nodes',
    );
    this.name = 'DataDirLockedError';
  }
}
