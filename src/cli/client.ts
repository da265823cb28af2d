/**
 * The CLI's HTTP client for a running Warden: base URL from `--url`/`WARDEN_URL` (default
 * http://127.0.0.1:8080), credential from `--token`/`WARDEN_TOKEN`, else the embedded operator
 * token file `<data dir>/admin-token`.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

export interface ClientOptions {
  url?: string;
  token?: string;
  dataDir?: string;
}

export function resolveClient(options: ClientOptions) {
  const base = (options.url ?? process.env.WARDEN_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
  let token = options.token ?? process.env.WARDEN_TOKEN;
  if (!token) {
    const path = resolve(options.dataDir ?? process.env.WARDEN_DATA_DIR ?? './.warden', 'admin-token');
    try {
      token = readFileSync(path, 'utf8').trim();
    } catch {
      // no local token: requests go without one and the server answers 401 with a clear reason
    }
  }
  /**
   * One exchange: the answer's text, once it is a success. A busy node answers 503 (shedding) or
   * 429 (rate limit) with Retry-After: a read is repeated after the time it asks for, a few times,
   * so a long export or verification survives a busy node. Writes are not: repeating one is the
   * caller's decision.
   */
  async function exchange(
    method: string,
    path: string,
    body: unknown,
    headers: Record<string, string>,
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: {
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
            ...headers,
          },
          body: body !== undefined ? JSON.stringify(body) : undefined,
          signal: AbortSignal.timeout(30_000),
        });
      } catch (err) {
        throw new CliError(
          `cannot reach Warden at ${base}: ${(err as Error).cause ?? (err as Error).message}`,
          EXIT.unreachable,
        );
      }
      const wait = retryAfterMs(res);
      if (method === 'GET' && wait !== undefined && attempt < MAX_RETRIES) {
        await res.arrayBuffer().catch(() => undefined);
        await new Promise((r) => setTimeout(r, wait));
        continue;
      }
      if (res.ok) return res;
      const text = await res.text();
      let p: { title?: string; detail?: string } = {};
      try {
        p = (JSON.parse(text) ?? {}) as typeof p;
      } catch {
        // not a problem document: its text is shown instead
      }
      throw new CliError(
        `${res.status} ${p.title ?? res.statusText}: ${p.detail ?? text.slice(0, 500)}`,
        EXIT.failed,
      );
    }
  }

  return {
    base,
    async request<T>(
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<T> {
      const text = await (await exchange(method, path, body, headers)).text();
      try {
        return (text ? JSON.parse(text) : undefined) as T;
      } catch {
        return undefined as T;
      }
    },
    /** The answer as sent (a large document written on as is, never re-serialized). */
    async requestText(method: string, path: string, headers: Record<string, string> = {}): Promise<string> {
      return (await exchange(method, path, undefined, headers)).text();
    },
    /** The answer's bytes as they arrive (a large document copied on without holding it whole). */
    async requestBody(
      method: string,
      path: string,
      headers: Record<string, string> = {},
    ): Promise<AsyncIterable<Uint8Array>> {
      const res = await exchange(method, path, undefined, headers);
      return (res.body ?? []) as AsyncIterable<Uint8Array>;
    },
  };
}

const MAX_RETRIES = 5;

/** For a 503 or 429 with a Retry-After of at most 30 s: how long to wait (ms); else undefined. */
function retryAfterMs(res: Response): number | undefined {
  if (res.status !== 503 && res.status !== 429) return undefined;
  const header = res.headers.get('retry-after');
  if (header === null || !/^\d{1,4}$/.test(header.trim())) return undefined; // seconds only, no dates
  const seconds = Number(header);
  if (!Number.isFinite(seconds) || seconds < 0 || seconds > 30) return undefined;
  return Math.max(100, seconds * 1000);
}
