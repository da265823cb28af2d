/**
 * The servers the policy-http benchmark compares, each run alone in its own process:
 *   warden  a full embedded node (PGlite in a fresh temp data dir, every module): a tenant onboarded
 *           (its default policy set installed by the onboarding consumer), an agent registered, its
 *           delegation token minted, a developer API key; POST /v1/oversight/evaluate as shipped —
 *           edge, auth, token check through authz, evaluation, decision log and audit records
 *   bare    node:http doing the same checks in process with the same pure functions: RFC 9421
 *           signature with nonce and Content-Digest (identity/http-signature.ts), the delegation token
 *           through the token cache (authz/token-cache.ts), and the same default policy evaluated
 *           (policy/engine.ts), replying with a decision — no database, no log, no audit
 *   bare-audit  the same, plus the decision's audit record — the same `decision.made` record Warden
 *           writes, facts included — appended through the audit module's batched writer on the same
 *           database (BENCH_POSTGRES_URL, a scratch database; PGlite otherwise)
 *   bare-key, bare-key-audit  the same two with a bearer API key (SHA-256, constant-time compare)
 *           instead of a signature: bare-key-audit is the floor of Warden's API-key path (no Fastify,
 *           no request log, no rate limit, no admission control, nothing but the mandated work)
 * The agent's Ed25519 private key comes in AGENT_KEY (PKCS#8 DER, base64), so the load generator
 * signs as the agent both servers know. Prints `ready {json}` with the port, the credentials and
 * `statsPort` (GET: the audit backlog).
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
} from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { MIGRATION_SOURCES } from '../../src/module-list.js';
import { type AuditModule, createAuditModule } from '../../src/modules/audit/index.js';
import { mintToken } from '../../src/modules/authz/delegation-token.js';
import { createTokenCache } from '../../src/modules/authz/token-cache.js';
import { agentIdFor, registrationMessage } from '../../src/modules/identity/agent-keys.js';
import { verifyRequest } from '../../src/modules/identity/http-signature.js';
import { createActivation, createCelEnvironment } from '../../src/modules/policy/cel/compile.js';
import { decisionMadeRecord } from '../../src/modules/policy/decisions.js';
import { DEFAULT_POLICY } from '../../src/modules/policy/default-policy.js';
import { compileRules, decide, factsFromInput } from '../../src/modules/policy/engine.js';
import { auditPayload } from '../../src/modules/policy/events.js';
import { computeRisk } from '../../src/modules/policy/risk.js';
import type { DecisionInput } from '../../src/modules/policy/types.js';
import { systemClock } from '../../src/platform/clock.js';
import { loadConfig } from '../../src/platform/config.js';
import { MemoryCounters } from '../../src/platform/counters/index.js';
import { openDatabase } from '../../src/platform/db/database.js';
import { migrate } from '../../src/platform/db/migrate.js';
import { newId } from '../../src/platform/ids.js';
import { parseMasterKeys, SecretsStore } from '../../src/platform/secrets.js';
import { buildWarden } from '../../src/server.js';

const mode = process.argv[2];
const privateKey = createPrivateKey({
  key: Buffer.from(process.env.AGENT_KEY ?? '', 'base64'),
  format: 'der',
  type: 'pkcs8',
});
const publicKey = createPublicKey(privateKey);
const publicKeyText = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
let cleanup: () => Promise<void> | void = () => {};
// A clean exit on SIGINT/SIGTERM lets --cpu-prof write its profile, closes the node (the embedded
// database's worker thread stops writing) and then removes the data dir.
for (const s of ['SIGINT', 'SIGTERM'] as const)
  process.on(s, () => {
    Promise.resolve(cleanup()).finally(() => process.exit(0));
  });

/**
 * A side port answering `{"audit_backlog": n}`: the records the server has accepted and not yet
 * written, so the benchmark can tell a rate the audit log keeps up with from one it does not.
 */
async function statsServer(backlog: () => number): Promise<number> {
  const server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ audit_backlog: backlog() }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  server.unref();
  return (server.address() as AddressInfo).port;
}

/** The audit writer's settings from the environment, the rest defaults: both Warden and the floors use them. */
const auditConfig = loadConfig({
  env: Object.fromEntries(
    ['WARDEN_AUDIT_PREPARE_WORKERS', 'WARDEN_AUDIT_WRITER_THREAD', 'WARDEN_AUDIT_FLUSH_MS'].flatMap((k) =>
      process.env[k] === undefined ? [] : [[k, process.env[k]]],
    ),
  ),
  file: undefined,
});

/** BENCH_POSTGRES_URL: a scratch database on that server (dropped by the returned function). */
async function scratchDatabase(): Promise<{ databaseUrl?: string; dropDatabase: () => Promise<void> }> {
  const pgAdmin = process.env.BENCH_POSTGRES_URL;
  if (!pgAdmin) return { dropDatabase: async () => {} };
  const name = `warden_bench_${randomBytes(5).toString('hex')}`;
  const admin = async (statement: string) => {
    const c = new pg.Client({ connectionString: pgAdmin });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  await admin(`create database ${name}`);
  const u = new URL(pgAdmin);
  u.pathname = `/${name}`;
  return {
    databaseUrl: u.toString(),
    dropDatabase: () => admin(`drop database if exists ${name} with (force)`),
  };
}

if (mode === 'warden') {
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-bench-policy-'));
  const ADMIN = `wdn_op_bench_${randomBytes(12).toString('hex')}`;
  // BENCH_POSTGRES_URL: the node on PostgreSQL, in a scratch database created here and dropped at exit.
  const { databaseUrl, dropDatabase } = await scratchDatabase();
  const node = await buildWarden(
    {
      // Only the audit writer's settings are taken from the environment (the benchmark compares them).
      ...auditConfig,
      host: '127.0.0.1',
      port: 0,
      dataDir,
      databaseUrl,
      redisUrl: process.env.BENCH_REDIS_URL || undefined,
      adminToken: ADMIN,
      masterKey: `k1:${randomBytes(32).toString('base64')}`,
      // The per-principal token bucket stays on the path, sized so it never refuses here.
      rateLimitPerSecond: 1_000_000,
      rateLimitBurst: 1_000_000,
    },
    {
      logger: pino({ level: 'info' }, pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 })),
    },
  );
  cleanup = async () => {
    await node.close().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    await dropDatabase().catch(() => {});
  };
  const url = await node.listen();
  const call = async (method: 'GET' | 'POST', path: string, auth: string, payload?: object) => {
    const send = () =>
      node.app.inject({
        method,
        url: path,
        headers: { authorization: `Bearer ${auth}` },
        ...(payload ? { payload } : {}),
      });
    let res = await send();
    // Setup right after start (argon2 at onboarding) can trip the event-loop admission check.
    for (let i = 0; res.statusCode === 503 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 200));
      res = await send();
    }
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const tenant = await call('POST', '/v1/tenants', ADMIN, { name: 'bench' });
  const onboarded = await call('POST', `/v1/tenants/${tenant.id}/onboard`, ADMIN, {
    owner_email: 'owner@bench.example',
    owner_password: 'correct horse battery staple',
  });
  const owner = onboarded.api_key.key as string;
  const { challenge } = await call('POST', '/v1/agents/challenge', owner);
  const agent = await call('POST', '/v1/agents', owner, {
    name: 'bench-agent',
    public_key: publicKeyText,
    challenge,
    signature: sign(null, registrationMessage(tenant.id, challenge, publicKeyText), privateKey).toString(
      'base64url',
    ),
    tier: 'standard',
  });
  const { token } = await call('POST', '/v1/delegations', owner, {
    agent_id: agent.id,
    actions: ['sandbox.*'],
    resources: ['sandbox:*'],
  });
  const key = await call('POST', '/v1/api-keys', owner, { name: 'gateway', role: 'developer' });
  // The default policy set arrives through the bus: wait for it to be active.
  for (let i = 0; ; i++) {
    const { items } = await call('GET', '/v1/oversight/policies', owner);
    if (items.some((p: { active_version: number | null }) => p.active_version !== null)) break;
    if (i > 200) throw new Error('the default policy set was not installed');
    await new Promise((r) => setTimeout(r, 50));
  }
  process.stdout.write(
    `ready ${JSON.stringify({ port: Number(new URL(url).port), apiKey: key.key, agentId: agent.id, token, statsPort: await statsServer(() => (node.modules.find((m) => m.name === 'audit') as AuditModule).buffered) })}\n`,
  );
} else if (mode === 'bare' || mode === 'bare-audit' || mode === 'bare-key' || mode === 'bare-key-audit') {
  const withAudit = mode.endsWith('-audit');
  const byApiKey = mode.startsWith('bare-key');
  const agentId = agentIdFor(Buffer.from(publicKeyText, 'base64url'));
  const tenantId = randomUUID();
  const rootKey = randomBytes(32);
  const token = mintToken({
    rootKey,
    tokenId: newId(),
    tenant: tenantId,
    holder: agentId,
    actions: ['sandbox.*'],
    resources: ['sandbox:*'],
    notAfter: Math.floor(Date.now() / 1000) + 3600,
    maxDepth: 0,
  });
  const apiKey = `wdn_bench_${randomBytes(24).toString('base64url')}`;
  const apiKeyHash = createHash('sha256').update(apiKey).digest();
  const tokens = createTokenCache({ maxEntries: 10_000 });
  const nonces = new MemoryCounters({ clock: systemClock });
  const compiled = compileRules(createCelEnvironment(), DEFAULT_POLICY.rules);
  if (!compiled.ok) throw new Error('the default policy does not compile');
  const policy = compiled.policy;
  // A fresh agent, as identity reports it.
  const facts = { id: agentId, tier: 'standard', trust_level: 'untrusted', metadata: {} };
  const verification = { key: publicKey, alg: 'ed25519' as const };
  let audit: ReturnType<typeof createAuditModule> | undefined;
  if (withAudit) {
    const { databaseUrl, dropDatabase } = await scratchDatabase();
    const dataDir = databaseUrl ? undefined : mkdtempSync(join(tmpdir(), 'warden-bench-floor-'));
    const db = await openDatabase({ url: databaseUrl, dataDir: dataDir ? join(dataDir, 'data') : undefined });
    await migrate(db, MIGRATION_SOURCES);
    // The audit module as Warden configures it (on its writer thread unless turned off).
    const a = createAuditModule({
      db,
      clock: systemClock,
      secrets: new SecretsStore(db, parseMasterKeys(`k1:${randomBytes(32).toString('base64')}`)),
      log: pino({ level: 'warn' }),
      prepareWorkers: auditConfig.auditPrepareWorkers,
      flushIntervalMs: auditConfig.auditFlushMs,
      writerThread: auditConfig.auditWriterThread,
    });
    await a.start!();
    audit = a;
    cleanup = async () => {
      await a.stop?.();
      await db.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      await dropDatabase().catch(() => {});
    };
  }

  /** The caller's agent id once authenticated (signature or API key), or a refusal. */
  async function authenticate(
    req: import('node:http').IncomingMessage,
    raw: Buffer,
    body: { agent_id?: unknown },
  ): Promise<{ ok: true; agent: string; actor: string } | { ok: false; detail: string }> {
    if (byApiKey) {
      const header = req.headers.authorization ?? '';
      const presented = createHash('sha256').update(header.slice(7)).digest();
      if (!header.startsWith('Bearer ') || !timingSafeEqual(presented, apiKeyHash))
        return { ok: false, detail: 'bad API key' };
      if (body.agent_id !== agentId) return { ok: false, detail: 'unknown agent' };
      return { ok: true, agent: agentId, actor: 'api_key:bench' };
    }
    const sig = await verifyRequest(
      {
        method: req.method ?? 'GET',
        url: `http://${req.headers.host}${req.url}`,
        headers: req.headers as Record<string, string | string[] | undefined>,
        body: raw,
      },
      {
        keyFor: (id) => (id === agentId ? verification : undefined),
        now: () => systemClock.now(),
        requireNonce: true,
        checkNonce: (keyId, nonce, ttl) =>
          nonces.addNonce('sig', `${keyId}:${nonce}`, Math.max(1000, ttl * 1000)),
      },
    );
    return sig.ok
      ? { ok: true, agent: sig.keyId, actor: `agent:${sig.keyId}` }
      : { ok: false, detail: sig.detail };
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      const fail = (status: number, detail: string) =>
        res
          .writeHead(status, { 'content-type': 'application/problem+json' })
          .end(JSON.stringify({ status, detail }));
      let body: {
        agent_id?: unknown;
        action: string;
        resource: { id: string };
        context?: Record<string, unknown>;
        delegation_token: string;
      };
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        return fail(400, 'body is not JSON');
      }
      const caller = await authenticate(req, raw, body ?? {});
      if (!caller.ok) return fail(401, caller.detail);
      if (
        typeof body?.action !== 'string' ||
        typeof body.resource?.id !== 'string' ||
        typeof body.delegation_token !== 'string'
      )
        return fail(400, 'action, resource.id and delegation_token are required');
      const now = Math.floor(Date.now() / 1000);
      const t = tokens.verify(body.delegation_token, {
        rootKeyFor: (id) => (id === tenantId ? rootKey : undefined),
        now,
        presenter: caller.agent,
        action: body.action,
        resource: body.resource.id,
      });
      if (!t.ok) return fail(403, t.detail);
      const at = new Date();
      const input: DecisionInput = {
        agent: { ...facts, metadata: {} },
        principal: { chain: [agentId], depth: 0, caller: caller.actor },
        action: body.action,
        resource: { id: body.resource.id },
        context: { ...(body.context ?? {}) },
        usage: {},
        now: at.toISOString(),
      };
      input.risk = computeRisk({
        agent: input.agent,
        action: input.action,
        context: input.context,
        delegationDepth: 0,
      });
      const v = decide(policy, body.action, createActivation(factsFromInput(input, at)));
      const decisionId = newId();
      // The very record the decision path writes, facts included (policy/decisions.ts).
      audit?.append({
        tenant_id: tenantId,
        ...auditPayload(
          decisionMadeRecord({
            tenantId,
            actor: caller.actor,
            input,
            decisionId,
            agentId,
            verdict: v,
            riskScore: input.risk.score,
            policy: { policy_id: tenantId, version_id: tenantId, version: 1 },
            approvalId: null,
            cached: false,
          }),
        ),
      } as Parameters<NonNullable<typeof audit>['append']>[0]);
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          decision_id: decisionId,
          decision: v.decision,
          reasons: v.reasons,
          rule_ids: v.ruleIds,
          risk: input.risk,
          evaluated_at: input.now,
        }),
      );
    });
  });
  const statsPort = await statsServer(() => audit?.buffered ?? 0);
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(`ready ${JSON.stringify({ port, agentId, token, apiKey, statsPort })}\n`);
  });
} else {
  process.stderr.write('usage: policy-server.ts warden|bare|bare-audit|bare-key|bare-key-audit\n');
  process.exit(2);
}
