/**
 * Spawns `warden` and other scripts as real processes for end-to-end tests: `warden` from the
 * compiled output (dist/, built by test/support/build.ts before the run), fixtures from source.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Spawned {
  child: ChildProcess;
  lines: string[];
  waitFor(re: RegExp, ms?: number): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs a TypeScript entry point of this repository with tsx. */
export function spawnTs(entry: string, args: string[], env: Record<string, string | undefined>): Spawned {
  return spawnNode(['--import', 'tsx', entry, ...args], env);
}

/** The compiled CLI (built once per test run by test/support/build.ts). */
const CLI = 'dist/cli/main.js';

function spawnNode(argv: string[], env: Record<string, string | undefined>): Spawned {
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (buf: Buffer) => {
    for (const line of buf.toString().split('\n')) {
      if (!line) continue;
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.re.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    waitFor(re, ms = 30_000) {
      const found = lines.find((l) => re.test(l));
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${re}; output:\n${lines.slice(-20).join('\n')}`)),
          ms,
        );
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`process exited before ${re}; output:\n${lines.slice(-20).join('\n')}`));
        });
      });
    },
  };
}

/**
 * Runs one CLI command (compiled) to completion with a clean environment; `input` goes to stdin.
 *
 * @example const { code, stdout } = await runWarden(['tenant', 'list', '--json', '--url', url]);
 */
export function runWarden(
  args: string[],
  input = '',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

export function spawnWarden(args: string[], env: Record<string, string | undefined>): Spawned {
  return spawnNode([CLI, ...args], env);
}

/** The URL a `warden serve` printed in its "warden listening" log line. */
export async function listeningUrl(p: Spawned, ms = 30_000): Promise<string> {
  const line = await p.waitFor(/"msg":"warden listening"/, ms);
  return (JSON.parse(line) as { url: string }).url;
}
