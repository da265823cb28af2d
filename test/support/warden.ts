/**
 * Builds Warden nodes for tests on each database driver: PGlite always, PostgreSQL when
 * WARDEN_TEST_DATABASE_URL is set (each test file gets a fresh database, dropped afterwards).
 *
 * @example
 *   for (const driver of drivers()) describe(`tenants on ${driver.name}`, () => {
 *     const t = useWarden(driver);
 *     it('creates', async () => { const res = await t.node.app.inject(...) });
 *   });
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { loadConfig, type WardenConfig } from '../../src/platform/config.js';
import { buildWarden, type WardenNode } from '../../src/server.js';
import type { Driver } from './drivers.js';
import { pgliteTemplate } from './pglite-template.js';

export { type Driver, drivers } from './drivers.js';

export const ADMIN_TOKEN = 'wdn_op_test_operator_token_0123456789';
export const MASTER_KEY = `k1:${Buffer.alloc(32, 7).toString('base64')}`;

export interface TestWarden {
  node: WardenNode;
  dataDir: string;
  databaseUrl: string | undefined;
  auth: { authorization: string };
}

export function testConfig(overrides: Partial<WardenConfig> & { dataDir: string }): WardenConfig {
  return {
    ...loadConfig({ env: {}, file: undefined }),
    port: 0,
    logLevel: 'silent',
    adminToken: ADMIN_TOKEN,
    masterKey: MASTER_KEY,
    rateLimitPerSecond: 0,
    // Load shedding is tested where it is the subject (edge.test.ts); elsewhere a busy CI machine
    // must not turn into 503s.
    maxEventLoopDelayMs: 0,
    admissionTargetMs: 0,
    ...overrides,
  };
}

/** A node per test file (beforeAll/afterAll), on the given driver, with in-memory PGlite when embedded. */
export function useWarden(driver: Driver, overrides: Partial<WardenConfig> = {}): TestWarden {
  const holder = {} as TestWarden;
  beforeAll(async () => {
    holder.dataDir = mkdtempSync(join(tmpdir(), 'warden-test-'));
    holder.databaseUrl = await driver.createDatabase();
    const config = testConfig({
      dataDir: holder.databaseUrl ? holder.dataDir : holder.dataDir,
      databaseUrl: holder.databaseUrl,
      ...overrides,
    });
    holder.node = await buildWarden(config, {
      logger: pino({ level: 'silent' }),
      fast: true,
      ...(holder.databaseUrl ? {} : { pgliteTemplate: await pgliteTemplate() }),
    });
    await holder.node.listen();
    holder.auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
  });
  afterAll(async () => {
    await holder.node?.close();
    await driver.dropDatabase(holder.databaseUrl);
    rmSync(holder.dataDir, { recursive: true, force: true });
  });
  return holder;
}
