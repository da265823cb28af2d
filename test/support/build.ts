/**
 * Vitest global setup, once per run before any test:
 *  - compiles the program. End-to-end tests start `warden` as a real process from the compiled
 *    output (dist/), as `npm start` and the published package do: from source through tsx each
 *    start cost ~0.8 s more (the loader transforms the module tree), paid ~150 times a run.
 *    Building here keeps dist/ from ever being stale;
 *  - makes the PGlite template every embedded test database starts from (pglite-template.ts) and
 *    tells the test processes where it is; it is removed after the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { TestProject } from 'vitest/node';

/** What the test processes read with `inject` (pglite-template.ts). */
export const TEMPLATE_KEY = 'pgliteTemplatePath';

export default async function setup(project: TestProject): Promise<() => void> {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(
      `npm run build failed (exit ${r.status}); end-to-end tests need dist/:\n${r.stdout}${r.stderr}`,
    );

  const dir = mkdtempSync(join(tmpdir(), 'warden-pglite-template-'));
  const path = join(dir, 'template.tar');
  const pg = await PGlite.create();
  try {
    writeFileSync(path, Buffer.from(await (await pg.dumpDataDir('none')).arrayBuffer()));
  } finally {
    await pg.close();
  }
  // vitest declares ProvidedContext empty and re-exports it, which TypeScript cannot augment.
  (project.provide as (key: string, value: unknown) => void)(TEMPLATE_KEY, path);
  return () => rmSync(dir, { recursive: true, force: true });
}
