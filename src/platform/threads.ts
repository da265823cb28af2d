/**
 * Starting the project's own worker threads from compiled code and from source alike.
 *
 * Built, a thread's entry is a .js module beside the caller. Run from source (tsx: development,
 * tests, benchmarks) it is a .ts module, and a worker does not inherit tsx's loader: a small
 * bootstrap registers it before importing the entry.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * @param callerUrl `import.meta.url` of the module starting the thread
 * @param entry the entry module's name beside it, without extension
 * @example
 *   const worker = startThread(import.meta.url, 'writer-worker', { workerData: { url } });
 */
export function startThread(callerUrl: string, entry: string, options: WorkerOptions = {}): Worker {
  const fromSource = callerUrl.endsWith('.ts');
  const url = new URL(`./${entry}.${fromSource ? 'ts' : 'js'}`, callerUrl);
  if (!fromSource) return new Worker(url, options);
  const boot = `import('tsx/esm/api').then((api) => { api.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
