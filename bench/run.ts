/**
 * `npm run bench -- <name> [args]` runs bench/<name>.ts. Each benchmark measures its own baseline
 * in the same run and prints ratios; record the output in bench/RESULTS.md with the command.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

const [name, ...args] = process.argv.slice(2);
const available = readdirSync(new URL('.', import.meta.url))
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .map((f) => f.slice(0, -3))
  .sort();
if (!name || name === '--help' || !existsSync(new URL(`./${name}.ts`, import.meta.url))) {
  console.log(
    `usage: npm run bench -- <name> [args]\n\nbenchmarks:\n${available.map((a) => `  ${a}`).join('\n')}`,
  );
  process.exit(name && name !== '--help' ? 2 : 0);
}
// The servers the benchmarks start run the compiled program (bench/servers/built.mjs): build it.
const build = spawnSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
if (build.status !== 0) process.exit(build.status ?? 1);
const res = spawnSync(process.execPath, ['--import', 'tsx', `bench/${name}.ts`, ...args], {
  stdio: 'inherit',
});
process.exit(res.status ?? 1);
