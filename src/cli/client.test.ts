import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CliError, resolveClient } from './client.js';

/** A peer that answers each request with the next scripted status (then 200). */
async function peer(script: { status: number; retryAfter?: string }[]) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const next = script.shift();
    if (next) {
      res.writeHead(next.status, {
        'content-type': 'application/problem+json',
        ...(next.retryAfter !== undefined ? { 'retry-after': next.retryAfter } : {}),
      });
      res.end(JSON.stringify({ title: 'Server overloaded', detail: 'busy', status: next.status }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

describe('the CLI client on a busy node', () => {
  it('repeats a read after the Retry-After of a 503 or 429', async () => {
    const p = await peer([
      { status: 503, retryAfter: '0' },
      { status: 429, retryAfter: '0' },
    ]);
    const client = resolveClient({ url: p.url, token: 't' });
    await expect(client.request('GET', '/v1/x')).resolves.toEqual({ ok: true });
    expect(p.seen).toEqual(['GET /v1/x', 'GET /v1/x', 'GET /v1/x']);
  });

  it('gives up after five repeats, and never repeats a write or an answer without a usable Retry-After', async () => {
    const busy = await peer(Array.from({ length: 10 }, () => ({ status: 503, retryAfter: '0' })));
    const err = await resolveClient({ url: busy.url, token: 't' })
      .request('GET', '/v1/x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).message).toMatch(/^503 Server overloaded: busy/);
    expect(busy.seen).toHaveLength(6);

    for (const [method, answer] of [
      ['POST', { status: 503, retryAfter: '0' }],
      ['GET', { status: 503 }],
      ['GET', { status: 503, retryAfter: '3600' }],
      ['GET', { status: 500, retryAfter: '0' }],
    ] as const) {
      const p = await peer([answer]);
      await expect(
        resolveClient({ url: p.url, token: 't' }).request(
          method,
          '/v1/x',
          method === 'POST' ? {} : undefined,
        ),
      ).rejects.toThrow(CliError);
      expect(p.seen).toHaveLength(1);
    }
  });
});
