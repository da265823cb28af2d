/**
 * Vitest global setup: compiles the program once before any test runs. End-to-end tests start
 * `warden` as a real process from the compiled output (dist/), as `npm start` and the published
 * package do: from source through tsx each start cost ~0.8 s more (the loader transforms the
 * module tree), paid ~150 times a run. Building here keeps dist/ from ever being stale.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0)
    throw new Error(
      `npm run build failed (exit ${r.status}); end-to-end tests need dist/:\n${r.stdout}${r.stderr}`,
    );
}
