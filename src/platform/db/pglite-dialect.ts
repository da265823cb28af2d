/**
 * A Kysely dialect for PGlite (PostgreSQL compiled to WASM, in-process).
 *
 * Hand-written because `kysely-pglite` 0.6.1 fails against the Kysely we use, and the dialect is
 * small: PGlite has exactly one connection, so the driver is a mutex around it. Queries reuse
 * Kysely's PostgreSQL compiler, adapter and introspector, so SQL is identical on both drivers.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

/** Thrown when code holding the single PGlite connection asks for it again: a sure deadlock. */
export class NestedConnectionError extends Error {
  constructor() {
    super(
      'database connection requested while this async context already holds the single PGlite connection ' +
        '(use the transaction object you were given instead of the database)',
    );
    this.name = 'NestedConnectionError';
  }
}

/**
 * What the dialect needs of PGlite: a PGlite instance on this thread, or `PGliteThread` (the same
 * database on a worker thread).
 */
export interface EmbeddedPg {
  readonly waitReady: Promise<void>;
  readonly closed: boolean;
  query<R>(
    sql: string,
    params: unknown[],
    options: { rowMode: 'object' },
  ): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(sql: string, options: { rowMode: 'object' }): Promise<{ rows: unknown[]; affectedRows?: number }[]>;
  close(): Promise<void>;
  /** The end of a connection use, where other threads share the database (pglite-thread.ts). */
  release?(): void;
}

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly pg: EmbeddedPg) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (query.parameters.length === 0) {
      // Without parameters use the simple protocol, as node-postgres does, so that a migration
      // script of several statements runs on both drivers.
      const results = await this.pg.exec(query.sql, { rowMode: 'object' });
      const last = results[results.length - 1];
      return {
        rows: (last?.rows ?? []) as R[],
        ...(last?.affectedRows !== undefined && query.query.kind !== 'SelectQueryNode'
          ? { numAffectedRows: BigInt(last.affectedRows) }
          : {}),
      };
    }
    const result = await this.pg.query<R>(query.sql, query.parameters as unknown[], { rowMode: 'object' });
    const affected = result.affectedRows;
    return {
      rows: result.rows,
      ...(affected !== undefined && query.query.kind !== 'SelectQueryNode'
        ? { numAffectedRows: BigInt(affected) }
        : {}),
    };
  }

  // biome-ignore lint/correctness/useYield: PGlite has no cursors over the wire; streaming is not offered.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streamQuery is not supported on PGlite; page with LIMIT/cursor instead');
  }
}

class PGliteDriver implements Driver {
  private readonly connection: PGliteConnection;
  private queue: Promise<void> = Promise.resolve();
  private release: (() => void) | undefined;
  constructor(
    private readonly pg: EmbeddedPg,
    private readonly holder: AsyncLocalStorage<{ active: boolean }>,
  ) {
    this.connection = new PGliteConnection(pg);
  }

  async init(): Promise<void> {
    await this.pg.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    if (this.holder.getStore()?.active) throw new NestedConnectionError();
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>((r) => {
      release = r;
    });
    await previous;
    this.release = release;
    return this.connection;
  }

  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const parts = ['begin'];
    if (settings.isolationLevel) parts.push(`isolation level ${settings.isolationLevel}`);
    if (settings.accessMode) parts.push(settings.accessMode);
    await conn.executeQuery({ sql: parts.join(' '), parameters: [], query: { kind: 'RawNode' } } as never);
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery({ sql: 'commit', parameters: [], query: { kind: 'RawNode' } } as never);
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery({ sql: 'rollback', parameters: [], query: { kind: 'RawNode' } } as never);
  }

  async releaseConnection(): Promise<void> {
    const release = this.release;
    this.release = undefined;
    this.pg.release?.();
    release?.();
  }

  async destroy(): Promise<void> {
    await this.queue;
    if (!this.pg.closed) await this.pg.close();
  }
}

/**
 * @example
 *   const db = new Kysely<DB>({ dialect: new PGliteDialect(await PGlite.create('./data')) });
 */
export class PGliteDialect implements Dialect {
  /**
   * @param holder marked active by the caller while a transaction callback runs, so that a nested
   *   request for the single connection fails loudly instead of waiting forever.
   */
  constructor(
    private readonly pg: EmbeddedPg,
    private readonly holder: AsyncLocalStorage<{ active: boolean }> = new AsyncLocalStorage(),
  ) {}
  createDriver(): Driver {
    return new PGliteDriver(this.pg, this.holder);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
}
