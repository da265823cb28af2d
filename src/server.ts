/**
 * Assembles one Warden node: the platform kernel, every module, and the HTTP edge.
 *
 * Migrations of every module always run (one migration set; schemas are shared by all nodes);
 * `modules` only chooses what this node serves (routes, consumers, jobs).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { Type } from 'typebox';
import { MIGRATION_SOURCES } from './module-list.js';
import { createAuditModule } from './modules/audit/index.js';
import { createAuthzModule } from './modules/authz/index.js';
import { createIdentityModule } from './modules/identity/index.js';
import { createPolicyModule } from './modules/policy/index.js';
import { systemClock } from './platform/clock.js';
import { ConfigError, type WardenConfig } from './platform/config.js';
import { createCounters } from './platform/counters/index.js';
import type { Counters } from './platform/counters/types.js';
import { type Database, openDatabase } from './platform/db/database.js';
import { migrate } from './platform/db/migrate.js';
import { EventBus } from './platform/events/bus.js';
import { NatsTransport } from './platform/events/nats-transport.js';
import { operatorAuthenticator } from './platform/http/auth.js';
import { createEdge, type Edge, errorResponses } from './platform/http/edge.js';
import { purgeIdempotencyKeys, registerIdempotency } from './platform/http/idempotency.js';
import { HttpMetrics } from './platform/http/metrics.js';
import { JobQueue } from './platform/jobs.js';
import type { WardenModule } from './platform/module.js';
import { LocalObjectStore, type ObjectStore } from './platform/objects.js';
import { loadOrCreateKeyFile, type MasterKey, parseMasterKeys, SecretsStore } from './platform/secrets.js';
import { createLogger } from './platform/telemetry/logger.js';
import { startTracing, type Tracing } from './platform/telemetry/tracing.js';
import { VERSION } from './version.js';

export interface WardenNode {
  readonly config: WardenConfig;
  readonly app: Edge;
  readonly db: Database;
  readonly bus: EventBus;
  readonly jobs: JobQueue;
  readonly counters: Counters;
  readonly secrets: SecretsStore;
  readonly objects: ObjectStore;
  readonly log: Logger;
  readonly modules: WardenModule[];
  /** `http://host:port` once listening. */
  url: string;
  listen(): Promise<string>;
  close(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
  /** Shorter retry delays, poll intervals etc. for tests. */
  fast?: boolean;
  /** A new embedded database starts from this data directory dump (tests: DatabaseOptions.pgliteTemplate). */
  pgliteTemplate?: Blob;
}

/** Resolve the operator token: configured, or generated once into `<data dir>/admin-token` (0600). */
export function resolveAdminToken(config: WardenConfig, log: Logger): string {
  if (config.adminToken) {
    if (config.adminToken.length < 16)
      throw new ConfigError('WARDEN_ADMIN_TOKEN', 'must be at least 16 characters');
    return config.adminToken;
  }
  const path = resolve(config.dataDir, 'admin-token');
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  mkdirSync(resolve(config.dataDir), { recursive: true, mode: 0o700 });
  const token = `wdn_op_${randomBytes(32).toString('base64url')}`;
  writeFileSync(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  log.warn({ path }, 'generated the operator token (WARDEN_ADMIN_TOKEN was unset); read it from this file');
  return token;
}

function resolveMasterKeys(config: WardenConfig, log: Logger): MasterKey[] {
  if (config.masterKey) {
    try {
      return parseMasterKeys(config.masterKey);
    } catch (err) {
      throw new ConfigError('WARDEN_MASTER_KEY', (err as Error).message);
    }
  }
  if (config.databaseUrl) {
    throw new ConfigError(
      'WARDEN_MASTER_KEY',
      'is required with WARDEN_DATABASE_URL: every node must seal secrets under the same key (32 random bytes, base64)',
    );
  }
  const file = loadOrCreateKeyFile(resolve(config.dataDir, 'master.key'));
  if (file.created)
    log.warn(
      { path: resolve(config.dataDir, 'master.key') },
      'generated the secrets master key file; back it up',
    );
  return file.keys;
}

/**
 * Build (but do not start listening) a node from its configuration.
 *
 * @example
 *   const node = await buildWarden(loadConfig());
 *   await node.listen();
 */
export async function buildWarden(config: WardenConfig, options: BuildOptions = {}): Promise<WardenNode> {
  const log = options.logger ?? createLogger({ level: config.logLevel });
  const tracing: Tracing | undefined = config.otlpEndpoint
    ? startTracing(config.otlpEndpoint, VERSION)
    : undefined;
  const adminToken = resolveAdminToken(config, log);
  const masterKeys = resolveMasterKeys(config, log);
  // authz always runs: every module calls its verifier in-process, and its revocation consumer must
  // run wherever that verifier does.
  const enabled = (name: string) =>
    name === 'authz' || config.modules.includes('all') || config.modules.includes(name);

  const db = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.dataDir.startsWith('memory://') ? config.dataDir : join(config.dataDir, 'data'),
    poolSize: config.databasePoolSize,
    pgliteTemplate: options.pgliteTemplate,
  });
  let counters: Counters | undefined;
  let bus: EventBus | undefined;
  try {
    const transport = config.natsUrl ? new NatsTransport({ url: config.natsUrl, log }) : undefined;
    bus = new EventBus({
      db,
      transport,
      log,
      pollMs: options.fast ? 50 : config.outboxPollMs,
      retryBaseMs: options.fast ? 20 : 1000,
      retryMaxMs: options.fast ? 200 : 5 * 60_000,
    });
    const jobs = new JobQueue({
      db,
      log,
      pollMs: options.fast ? 50 : 500,
      retryBaseMs: options.fast ? 20 : 1000,
    });
    counters = createCounters({ redisUrl: config.redisUrl, clock: systemClock });
    const secrets = new SecretsStore(db, masterKeys);
    const objects = new LocalObjectStore(resolve(config.dataDir, 'objects'));
    const wake = () => bus?.wake();

    const identity = createIdentityModule({
      db,
      counters,
      clock: systemClock,
      onEventsCommitted: wake,
      signatureMaxAgeSeconds: config.signatureMaxAgeSeconds,
      log,
      secrets,
      sessionTtlSeconds: config.sessionTtlSeconds,
      oidcIssuers: config.oidcIssuers,
    });
    const authz = createAuthzModule({
      db,
      secrets,
      clock: systemClock,
      agents: identity.agents,
      onEventsCommitted: wake,
      log,
    });
    const audit = createAuditModule({
      db,
      clock: systemClock,
      secrets,
      log,
      prepareWorkers: config.auditPrepareWorkers,
      flushIntervalMs: config.auditFlushMs,
      writerThread: config.auditWriterThread,
    });
    // Revision-checked and cached per node: suspension or revocation counts from the next call.
    const activeAgent = async (tenantId: string, agentId: string) => {
      const a = await identity.agents.current(tenantId, agentId);
      // Revoked is a status; suspended is a trust level (reinstate restores the previous one).
      return a && a.status === 'active' && a.trust_level !== 'suspended' ? a : undefined;
    };
    const policy = createPolicyModule({
      db,
      clock: systemClock,
      log,
      onEventsCommitted: wake,
      verifyDelegation: async (c) => {
        let presenter = c.principal;
        if (presenter.kind !== 'agent') {
          // An API key (or person) of the tenant asks on behalf of one of its agents: the token must
          // be bound to that agent, and the agent must be active. A stolen token still needs a
          // credential of the same tenant with oversight:evaluate (docs/security.md).
          const tenantId = presenter.tenantId;
          const agent = tenantId && c.agentId ? await activeAgent(tenantId, c.agentId) : undefined;
          if (!tenantId || !agent)
            return {
              ok: false,
              reason: 'holder_mismatch',
              detail: 'agent_id does not name an active agent of this tenant',
            };
          presenter = { kind: 'agent', id: agent.id, tenantId, roles: ['agent'] };
        }
        const r = await authz.authorize(presenter, c.action, c.resource, c.token);
        return r.allowed
          ? { ok: true, holders: r.holders }
          : { ok: false, reason: r.reason, detail: r.detail, problem: r.problem };
      },
      agents: activeAgent,
      // Decision records through the audit module's batched in-process append, not one outbox
      // event (and one bus delivery) per decision; only on nodes that run the audit module.
      appendAudit: enabled('audit') ? (record) => void audit.append(record) : undefined,
      // Simulation replays the tenant's `decision.made` records from the audit log, newest first.
      decisionHistory: async (tenantId, last) =>
        (await audit.recent(tenantId, { product: 'oversight', event_type: 'decision.made' }, last)).map(
          (r) => ({ at: r.timestamp, outcome: r.outcome ?? '', metadata: r.metadata }),
        ),
    });
    const modules: WardenModule[] = [identity, authz, audit, policy];

    const result = await migrate(db, MIGRATION_SOURCES);
    if (result.applied.length > 0)
      log.info(
        { applied: result.applied.map((a) => `${a.module}/${a.version}_${a.name}`) },
        'migrations applied',
      );

    const metrics = new HttpMetrics();
    metrics.gauge('warden_outbox_backlog', 'events committed but not yet relayed', () => bus!.backlog());
    metrics.gauge(
      'warden_audit_buffered',
      'audit records accepted and not yet written (held in memory: what a crash would lose)',
      () => audit.buffered,
    );
    const c = counters;
    // Built once: the edge asks for the list on every request.
    const authenticators = [operatorAuthenticator(adminToken), ...identity.authenticators()];
    const app = await createEdge({
      logger: log,
      bodyLimitBytes: config.bodyLimitBytes,
      trustProxy: config.trustProxy,
      corsOrigins: config.corsOrigins,
      authenticators: () => authenticators,
      authorize: () => identity.authorize,
      signatureAuthenticator: () => (enabled('identity') ? identity.agentAuthenticator : undefined),
      rateLimit:
        config.rateLimitPerSecond > 0
          ? { limiter: c, perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst }
          : undefined,
      maxInFlight: config.maxInFlightRequests,
      admissionTargetMs: config.admissionTargetMs,
      maxEventLoopDelayMs: config.maxEventLoopDelayMs,
      metrics,
      version: VERSION,
      readiness: () => ({
        database: () => db.ping(),
        counters: () => c.ping(),
        objects: () => objects.ping(),
        ...(transport ? { bus: () => transport.ping() } : {}),
      }),
    });
    tracing?.instrument(app);
    registerIdempotency(app, db);
    registerPlatformRoutes(app, bus, jobs);

    for (const m of modules) {
      if (!enabled(m.name)) continue;
      await m.registerRoutes?.(app);
      for (const consumer of m.consumers?.() ?? []) bus.subscribe(consumer);
      m.registerJobs?.(jobs);
    }
    jobs.define('platform.purge', {
      handler: async () => {
        await purgeIdempotencyKeys(db);
      },
    });
    jobs.every('platform.purge', 'every 1h');

    const node: WardenNode = {
      config,
      app,
      db,
      bus,
      jobs,
      counters: c,
      secrets,
      objects,
      log,
      modules,
      url: '',
      async listen() {
        await bus!.start();
        await jobs.start();
        for (const m of modules) if (enabled(m.name)) await m.start?.();
        const address = await app.listen({ host: config.host, port: config.port });
        node.url = address.replace('[::1]', 'localhost');
        return node.url;
      },
      async close() {
        // Stop taking requests and drain the ones in flight, then flush what they committed.
        await app.close();
        for (const m of modules)
          await m.stop?.().catch((err) => log.error({ err, module: m.name }, 'module stop failed'));
        await jobs.stop();
        await bus!.stop();
        await c.close();
        await tracing?.shutdown();
        await db.close();
      },
    };
    return node;
  } catch (err) {
    await bus?.stop().catch(() => {});
    await counters?.close().catch(() => {});
    await db.close().catch(() => {});
    throw err;
  }
}

/** Operator routes of the kernel: dead letters and dead jobs. */
function registerPlatformRoutes(app: Edge, bus: EventBus, jobs: JobQueue): void {
  const DeadLetter = Type.Object({
    consumer: Type.String(),
    event_id: Type.String(),
    topic: Type.String(),
    tenant_id: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Integer(),
    last_error: Type.Union([Type.String(), Type.Null()]),
    failed_at: Type.String({ format: 'date-time' }),
  });
  app.get(
    '/v1/platform/events/dead',
    {
      config: { permission: 'platform:admin' },
      schema: {
        tags: ['platform'],
        summary: 'List dead-lettered event deliveries',
        querystring: Type.Object(
          {
            consumer: Type.Optional(Type.String({ maxLength: 200 })),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(DeadLetter) }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => {
      const items = await bus.listDead({ consumer: request.query.consumer, limit: request.query.limit });
      return {
        items: items.map((d) => ({
          consumer: d.consumer,
          event_id: d.eventId,
          topic: d.topic,
          tenant_id: d.tenantId,
          attempts: d.attempts,
          last_error: d.lastError,
          failed_at: d.failedAt,
        })),
      };
    },
  );
  app.post(
    '/v1/platform/events/dead/replay',
    {
      config: { permission: 'platform:admin' },
      schema: {
        tags: ['platform'],
        summary: 'Replay dead-lettered deliveries',
        description: 'Queues dead deliveries again: all, one consumer’s, or one event’s.',
        body: Type.Object(
          {
            consumer: Type.Optional(Type.String({ maxLength: 200 })),
            event_id: Type.Optional(Type.String({ format: 'uuid' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ replayed: Type.Integer() }), ...errorResponses(400, 401, 403) },
      },
    },
    async (request) => ({
      replayed: await bus.replayDead({ consumer: request.body.consumer, eventId: request.body.event_id }),
    }),
  );
  app.get(
    '/v1/platform/jobs/dead',
    {
      config: { permission: 'platform:admin' },
      schema: {
        tags: ['platform'],
        summary: 'List jobs that used up their attempts',
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                id: Type.String(),
                name: Type.String(),
                attempts: Type.Integer(),
                last_error: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
          }),
          ...errorResponses(401, 403),
        },
      },
    },
    async () => ({
      items: (await jobs.listDead()).map((j) => ({
        id: j.id,
        name: j.name,
        attempts: j.attempts,
        last_error: j.lastError,
      })),
    }),
  );
}
