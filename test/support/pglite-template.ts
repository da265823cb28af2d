/**
 * The freshly initialised PGlite data directory every embedded test database starts from
 * (DatabaseOptions.pgliteTemplate): loading it takes ~0.5–1 s where initdb takes 2–3 s, and a run
 * opens about a hundred embedded databases. Made once per run by the global setup (build.ts); it
 * holds no migrations, so every test still migrates its database from nothing.
 */
import { readFile } from 'node:fs/promises';
import { inject } from 'vitest';
import { TEMPLATE_KEY } from './build.js';

let template: Promise<Blob> | undefined;

export function pgliteTemplate(): Promise<Blob> {
  const path = (inject as (key: string) => unknown)(TEMPLATE_KEY);
  if (typeof path !== 'string')
    throw new Error('no PGlite template: run the tests through vitest (see test/support/build.ts)');
  template ??= readFile(path).then((bytes) => new Blob([bytes]));
  return template;
}
