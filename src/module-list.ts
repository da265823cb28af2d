/** The modules this program holds and the one migration set they share. */
import { fileURLToPath } from 'node:url';
import type { MigrationSource } from './platform/db/migrate.js';

/** Every module, in dependency order. */
export const MODULE_NAMES = ['identity', 'authz', 'audit', 'policy'] as const;

/** The kernel's migrations, then each module's schema. */
export const MIGRATION_SOURCES: MigrationSource[] = [
  { module: 'platform', dir: fileURLToPath(new URL('./platform/migrations', import.meta.url)) },
  ...MODULE_NAMES.map((name) => ({
    module: name,
    dir: fileURLToPath(new URL(`./modules/${name}/migrations`, import.meta.url)),
  })),
];
