/**
 * The two servers the edge benchmark compares, each run in its own process:
 *   edge  the full Warden edge: request id, load shedding, security headers, operator auth,
 *         per-principal token bucket (in-process counters), TypeBox validation, permission check,
 *         one JSON log line per request through the production logger (redaction on; to
 *         /dev/null), Prometheus metrics
 *   bare  node:http doing the same parse, the same checks by hand, and the same reply
 * Prints "listening <port>".
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Type } from 'typebox';
import { systemClock } from '../../src/platform/clock.js';
import { MemoryCounters } from '../../src/platform/counters/index.js';
import { operatorAuthenticator, operatorOnly, secretEquals } from '../../src/platform/http/auth.js';
import { createEdge, errorResponses } from '../../src/platform/http/edge.js';
import { HttpMetrics } from '../../src/platform/http/metrics.js';
import { batchedDestination, createLogger } from '../../src/platform/telemetry/logger.js';

export const TOKEN = 'wdn_op_bench_token_0123456789abcdef';
const mode = process.argv[2];
// A clean exit on SIGINT lets --cpu-prof write its profile.
process.on('SIGINT', () => process.exit(0));

const Body = Type.Object(
  {
    agent_id: Type.String({ minLength: 1, maxLength: 128 }),
    action: Type.String({ minLength: 1, maxLength: 128 }),
    amount: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

if (mode === 'edge') {
  // Built once, as src/server.ts does.
  const authenticators = [operatorAuthenticator(TOKEN)];
  const app = await createEdge({
    // The production logger (redaction, ISO time, level labels), batched as on stdout, to /dev/null.
    logger: createLogger({ level: 'info', destination: batchedDestination('/dev/null') }),
    bodyLimitBytes: 1024 * 1024,
    trustProxy: false,
    corsOrigins: [],
    authenticators: () => authenticators,
    authorize: () => operatorOnly,
    rateLimit: {
      limiter: new MemoryCounters({ clock: systemClock }),
      perSecond: 1_000_000,
      burst: 1_000_000,
    },
    maxInFlight: 4096,
    maxEventLoopDelayMs: 1000,
    metrics: new HttpMetrics(),
    version: 'bench',
    readiness: () => ({}),
  });
  app.post(
    '/v1/bench/echo',
    {
      config: { permission: 'bench:echo' },
      schema: { body: Body, response: { 200: Body, ...errorResponses(400, 401) } },
    },
    async (request) => request.body,
  );
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`listening ${new URL(address).port}\n`);
} else {
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    if (!auth.startsWith('Bearer ') || !secretEquals(auth.slice(7), TOKEN)) {
      res.writeHead(401, { 'content-type': 'application/problem+json' }).end('{"status":401}');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: { agent_id?: unknown; action?: unknown; amount?: unknown };
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end();
        return;
      }
      const ok =
        typeof body.agent_id === 'string' &&
        body.agent_id.length > 0 &&
        typeof body.action === 'string' &&
        Number.isInteger(body.amount) &&
        Object.keys(body).length === 3;
      if (!ok) {
        res.writeHead(400, { 'content-type': 'application/problem+json' }).end('{"status":400}');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ agent_id: body.agent_id, action: body.action, amount: body.amount }));
    });
  });
  server.listen(0, '127.0.0.1', () =>
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`),
  );
}
