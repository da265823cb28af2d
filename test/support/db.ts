/** A migrated database per test file on a driver, without the HTTP server. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { MIGRATION_SOURCES } from '../../src/module-list.js';
import { type Database, openDatabase } from '../../src/platform/db/database.js';
import { migrate } from '../../src/platform/db/migrate.js';
import type { Driver } from './drivers.js';
import { pgliteTemplate } from './pglite-template.js';

export interface TestDb {
  db: Database;
  url: string | undefined;
  dataDir: string;
}

export function useDatabase(driver: Driver): TestDb {
  const holder = {} as TestDb;
  beforeAll(async () => {
    holder.url = await driver.createDatabase();
    holder.dataDir = mkdtempSync(join(tmpdir(), 'warden-db-'));
    holder.db = await openDatabase({
      url: holder.url,
      dataDir: 'memory://',
      ...(holder.url ? {} : { pgliteTemplate: await pgliteTemplate() }),
    });
    await migrate(holder.db, MIGRATION_SOURCES);
  });
  afterAll(async () => {
    await holder.db?.close();
    await driver.dropDatabase(holder.url);
    rmSync(holder.dataDir, { recursive: true, force: true });
  });
  return holder;
}
