import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drivers } from '../../../test/support/drivers.js';
import { useWarden } from '../../../test/support/warden.js';
import { createLogger, fastRequestLine } from '../telemetry/logger.js';

const [pglite] = drivers();

describe('edge: documents, health, metrics, headers', () => {
  const t = useWarden(pglite!, { corsOrigins: ['https://console.example.com'] });

  it('serves a valid OpenAPI 3.1 document listing every route with its schemas and errors', async () => {
    const res = await t.node.app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const ops: [string, string, Record<string, unknown>][] = [];
    for (const [path, item] of Object.entries(
      doc.paths as Record<string, Record<string, Record<string, unknown>>>,
    )) {
      for (const [method, op] of Object.entries(item)) ops.push([method, path, op]);
    }
    const names = ops.map(([m, p]) => `${m.toUpperCase()} ${p}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'POST /v1/tenants',
        'GET /v1/tenants',
        'GET /v1/tenants/{id}',
        'GET /v1/platform/events/dead',
        'POST /v1/platform/events/dead/replay',
      ]),
    );
    for (const [method, path, op] of ops) {
      const responses = op.responses as Record<string, unknown>;
      expect(Object.keys(responses), `${method} ${path}`).toContain('401');
      expect(Object.keys(responses), `${method} ${path}`).toContain('500');
    }
    const create = doc.paths['/v1/tenants'].post;
    expect(create.requestBody.content['application/json'].schema.required).toEqual(['name']);
    expect(Object.keys(create.responses)).toEqual(
      expect.arrayContaining(['201', '400', '409', '413', '415']),
    );
  });

  it('serves the API docs page and an explanation for every problem type', async () => {
    const docs = await t.node.app.inject({ method: 'GET', url: '/docs/' });
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
    const problem = await t.node.app.inject({ method: 'GET', url: '/problems/validation-failed' });
    expect(problem.json()).toMatchObject({ type: '/problems/validation-failed', status: 400 });
    expect(problem.json().description).toMatch(/field/);
  });

  it('answers liveness, and readiness with each backend checked', async () => {
    expect((await t.node.app.inject({ method: 'GET', url: '/health/live' })).json()).toEqual({
      status: 'ok',
    });
    const ready = await t.node.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(Object.keys(ready.json().checks).sort()).toEqual(['counters', 'database', 'objects']);
  });

  it('exports Prometheus metrics labelled by route template, never by raw path', async () => {
    await t.node.app.inject({
      method: 'GET',
      url: '/v1/tenants/01936f6e-0000-7000-8000-00000000abcd',
      headers: t.auth,
    });
    const res = await t.node.app.inject({ method: 'GET', url: '/metrics' });
    expect(res.headers['content-type']).toMatch(/text\/plain/);
    expect(res.body).toMatch(
      /warden_http_requests_total\{method="GET",route="\/v1\/tenants\/:id",status="404"\} 1/,
    );
    expect(res.body).toMatch(/warden_http_request_duration_seconds_bucket/);
    expect(res.body).toMatch(/warden_process_cpu_seconds_total/);
    expect(res.body).toMatch(/warden_outbox_backlog/);
    expect(res.body).not.toContain('00000000abcd');
  });

  it('echoes a well-formed X-Request-Id and replaces a malformed one', async () => {
    const kept = await t.node.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'trace-abc.123' },
    });
    expect(kept.headers['x-request-id']).toBe('trace-abc.123');
    const replaced = await t.node.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { 'x-request-id': 'bad id <script>' },
    });
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sets security headers and allows CORS only for configured origins', async () => {
    const res = await t.node.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://console.example.com' },
    });
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toMatch(/max-age/);
    expect(res.headers['access-control-allow-origin']).toBe('https://console.example.com');
    const other = await t.node.app.inject({
      method: 'GET',
      url: '/health/live',
      headers: { origin: 'https://evil.example' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses a route method that does not exist with a problem', async () => {
    const res = await t.node.app.inject({ method: 'DELETE', url: '/v1/tenants', headers: t.auth });
    expect(res.statusCode).toBe(404);
    expect(res.json().type).toBe('/problems/not-found');
  });
});

describe('edge: per-principal rate limit', () => {
  const t = useWarden(pglite!, { rateLimitPerSecond: 1, rateLimitBurst: 3 });

  it('answers 429 with Retry-After once the bucket is empty', async () => {
    const statuses: number[] = [];
    let limited: { headers: Record<string, unknown>; json: () => Record<string, unknown> } | undefined;
    for (let i = 0; i < 5; i++) {
      const res = await t.node.app.inject({ method: 'GET', url: '/v1/tenants', headers: t.auth });
      statuses.push(res.statusCode);
      if (res.statusCode === 429) limited = res;
    }
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual([429, 429]);
    expect(limited!.headers['retry-after']).toBe('1');
    expect(limited!.json()).toMatchObject({ type: '/problems/rate-limited', status: 429, retry_after: 1 });
  });
});

describe('edge: load shedding', () => {
  const t = useWarden(pglite!, { maxInFlightRequests: 2 });

  it('sheds requests past the in-flight cap with 503 overloaded, serves the rest, and never sheds liveness', async () => {
    // Readiness awaits real file-system I/O, so concurrent requests overlap on this node.
    const results = await Promise.all(
      Array.from({ length: 160 }, () =>
        fetch(`${t.node.url}/health/ready`).then(async (r) => ({
          status: r.status,
          retry: r.headers.get('retry-after'),
          body: await r.json(),
        })),
      ),
    );
    const shed = results.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThan(0);
    for (const r of shed) {
      expect(r.retry).toBe('1');
      expect((r.body as { type: string }).type).toBe('/problems/overloaded');
    }
    expect(results.every((r) => r.status === 200 || r.status === 503)).toBe(true);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThan(0);
    const live = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${t.node.url}/health/live`).then((r) => r.status)),
    );
    expect(live.every((s) => s === 200)).toBe(true);
  });
});

describe('edge: readiness with a backend down', () => {
  const t = useWarden(pglite!, { redisUrl: 'redis://127.0.0.1:1' });

  it('answers 503 naming the failed backend', async () => {
    const res = await t.node.app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(503);
    const body = res.json();
    expect(body.status).toBe('unavailable');
    expect(body.checks.counters.ok).toBe(false);
    expect(body.checks.database.ok).toBe(true);
  });
});

describe('edge: OTLP traces', () => {
  const received: unknown[] = [];
  const collector = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (req.url === '/v1/traces') received.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  let endpoint = '';
  beforeAll(async () => {
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => collector.close(() => r())));
  const t = useWarden(pglite!, {
    get otlpEndpoint() {
      return endpoint;
    },
  } as never);

  it('exports one server span per request to the OTLP/HTTP endpoint, continuing traceparent', async () => {
    await t.node.app.inject({
      method: 'GET',
      url: '/v1/tenants',
      headers: { ...t.auth, traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
    });
    const deadline = Date.now() + 8000;
    const spans = () =>
      received.flatMap((r) =>
        (
          (r as { resourceSpans: { scopeSpans: { spans: { name: string; traceId: string }[] }[] }[] })
            .resourceSpans ?? []
        ).flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans)),
      );
    while (Date.now() < deadline && !spans().some((s) => s.name === 'GET /v1/tenants'))
      await new Promise((r) => setTimeout(r, 100));
    const span = spans().find((s) => s.name === 'GET /v1/tenants');
    expect(span).toBeDefined();
    expect(span!.traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  });
});

describe('logging', () => {
  it('redacts credentials wherever the known field names appear', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    log.info(
      {
        req: { headers: { authorization: 'Bearer wdn_op_topsecret' } },
        body: { password: 'hunter2', name: 'ok' },
      },
      'x',
    );
    expect(lines.join('')).not.toMatch(/topsecret|hunter2/);
    expect(lines.join('')).toContain('[REDACTED]');
  });

  it('writes the hand-built request line exactly as pino writes it', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _enc, cb) {
        lines.push(String(chunk));
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink });
    const fields = { method: 'POST', route: '/v1/tenants/:id', status: 201, ms: 1.25 };
    for (const principal of ['user:usr_"1\\é', undefined]) {
      log.child({ request_id: 'req-1' }).info({ ...fields, principal }, 'request');
      fastRequestLine(log)!({ requestId: 'req-1', ...fields, principal });
    }
    const untimed = lines.map((l) => l.replace(/"time":"[^"]+"/, '"time":"T"'));
    expect(untimed).toHaveLength(4);
    expect(untimed[1]).toBe(untimed[0]);
    expect(untimed[3]).toBe(untimed[2]);
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 'info', request_id: 'req-1', msg: 'request' });
  });
});

describe('edge: event-loop saturation', () => {
  const t = useWarden(pglite!, { maxEventLoopDelayMs: 100 });
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // Holds the event loop, as CPU-bound overload would.
    }
  };
  const tick = () => new Promise((r) => setTimeout(r, 1));

  it('serves right after one long stall, but sheds with 503 overloaded while the loop stays saturated', async () => {
    // One stall (a GC, a compile) is one sample: the next window is not shed.
    busy(400);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await t.node.app.inject({ method: 'GET', url: '/v1/tenants', headers: t.auth })).statusCode).toBe(
      200,
    );
    // Sustained: every timer tick of a whole window comes ~200 ms late.
    const until = performance.now() + 1300;
    while (performance.now() < until) {
      busy(200);
      await tick();
    }
    const res = await t.node.app.inject({ method: 'GET', url: '/v1/tenants', headers: t.auth });
    expect(res.statusCode).toBe(503);
    expect(res.headers['retry-after']).toBe('1');
    expect(res.json()).toMatchObject({ type: '/problems/overloaded', status: 503 });
    // Liveness is never shed.
    expect((await t.node.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    // Once the loop is quiet for a window, requests are served again.
    await new Promise((r) => setTimeout(r, 1200));
    expect((await t.node.app.inject({ method: 'GET', url: '/v1/tenants', headers: t.auth })).statusCode).toBe(
      200,
    );
  });
});

describe('edge: adaptive admission past the knee', () => {
  const t = useWarden(pglite!, { admissionTargetMs: 20 });
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end) {
      // Holds the event loop, as CPU-bound overload would.
    }
  };

  it('admits a shrinking share while the loop stays slow (the rest get a fast 503), and all again after', async () => {
    // Sustained: for a second, every turn of the loop takes ~60 ms (three times the target).
    const until = performance.now() + 1000;
    while (performance.now() < until) {
      busy(60);
      await new Promise((r) => setTimeout(r, 1));
    }
    const statuses: number[] = [];
    let problem: Record<string, unknown> | undefined;
    let headers: Record<string, unknown> = {};
    for (let i = 0; i < 40; i++) {
      const res = await t.node.app.inject({ method: 'GET', url: '/v1/tenants', headers: t.auth });
      statuses.push(res.statusCode);
      if (res.statusCode === 503) {
        problem = res.json();
        headers = res.headers;
      }
    }
    // Spread evenly: some admitted, most refused, never a crash or another status.
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 503).length).toBeGreaterThan(20);
    expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
    expect(problem).toMatchObject({ type: '/problems/overloaded', status: 503 });
    expect(problem!.detail).toMatch(/admits \d+ % of new requests/);
    expect(headers).toMatchObject({ 'retry-after': '1', 'x-content-type-options': 'nosniff' });
    expect(headers['x-request-id']).toBe(problem!.instance);
    // Liveness is never shed.
    expect((await t.node.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    // Back within the target, the share grows back to everything within about two seconds.
    await new Promise((r) => setTimeout(r, 2500));
    const after = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.node.app.inject({ method: 'GET', url: '/v1/tenants', headers: t.auth }),
      ),
    );
    expect(after.map((r) => r.statusCode)).toEqual(Array(20).fill(200));
  });
});
