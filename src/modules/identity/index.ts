/**
 * The identity module: tenants, humans (users, sessions, API keys, SSO), roles, and agents.
 * Public face: `createIdentityModule(deps)`, and the types other modules may use.
 */
import type { Clock } from '../../platform/clock.js';
import type { Counters } from '../../platform/counters/types.js';
import type { Database } from '../../platform/db/database.js';
import { oneByOne, WriteBehind } from '../../platform/events/write-behind.js';
import type { Authenticator, Authorizer } from '../../platform/http/auth.js';
import type { SignatureAuthenticator } from '../../platform/http/edge.js';
import type { WardenModule } from '../../platform/module.js';
import type { SecretsStore } from '../../platform/secrets.js';
import { createAgentAuthenticator } from './agent-auth.js';
import { type AgentService, createAgentService } from './agent-service.js';
import { denialRecord, recordAudit } from './audit-records.js';
import { apiKeyAuthenticator, sessionAuthenticator } from './authenticators.js';
import { CredentialCache } from './credential-cache.js';
import { createHumansService, type HumansService } from './humans-service.js';
import { ApiKey, User } from './humans-types.js';
import { oidcAuthenticator, parseOidcIssuers } from './oidc.js';
import { authorize } from './roles.js';
import { registerAgentRoutes } from './routes/agents.js';
import { registerCreateApiKey } from './routes/api-keys-create.js';
import { registerListApiKeys } from './routes/api-keys-list.js';
import { registerRevokeApiKey } from './routes/api-keys-revoke.js';
import { registerLogin } from './routes/auth-login.js';
import { registerLogout } from './routes/auth-logout.js';
import { registerCurrentUser } from './routes/auth-user.js';
import { registerCreateTenant } from './routes/tenants-create.js';
import { registerDeactivateTenant } from './routes/tenants-deactivate.js';
import { registerGetTenant } from './routes/tenants-get.js';
import { registerListTenants } from './routes/tenants-list.js';
import { registerOnboardTenant } from './routes/tenants-onboard.js';
import { registerUpdateTenant } from './routes/tenants-update.js';
import { registerCreateUser } from './routes/users-create.js';
import { registerDisableUser } from './routes/users-disable.js';
import { registerGetUser } from './routes/users-get.js';
import { registerListUsers } from './routes/users-list.js';
import { createIdentityService, type IdentityService } from './service.js';
import { Tenant } from './types.js';

export { HumanEvents, TenantEvents } from './events.js';
export { OPERATOR_ONLY, ROLE_GRANTS, ROLES, type Role, roleGrants } from './roles.js';
export type { Tenant } from './types.js';

export interface IdentityModule extends WardenModule {
  readonly service: IdentityService;
  readonly agents: AgentService;
  /** Verifies agents' RFC 9421-signed requests, for the edge. */
  readonly agentAuthenticator: SignatureAuthenticator;
  readonly humans: HumansService;
  /** API keys, sessions, then OIDC bearer JWTs; the server puts the operator's first. */
  authenticators(): Authenticator[];
  /** Role-based authorization (roles.ts); denials become audit records off the hot path. */
  readonly authorize: Authorizer;
  /** Apply pending revocations, write buffered denials and last-used times now (tests, shutdown). */
  flush(): Promise<void>;
}

export interface IdentityModuleDeps {
  db: Database;
  counters: Counters;
  clock: Clock;
  onEventsCommitted: () => void;
  /** How old a request signature may be (seconds). */
  signatureMaxAgeSeconds: number;
  log: { warn(obj: object, msg: string): void };
  secrets: SecretsStore;
  /** How long a login session lives. */
  sessionTtlSeconds: number;
  /** `WARDEN_OIDC_ISSUERS`, validated here (a ConfigError names a bad entry). */
  oidcIssuers: unknown[];
  /** How often this node reads the revocation log (default 1 s). */
  revocationPollMs?: number;
}

export function createIdentityModule(deps: IdentityModuleDeps): IdentityModule {
  const ssoCache = new CredentialCache({ maxEntries: 10_000, ttlMs: 5 * 60_000, rejectionTtlMs: 10_000 });
  const humans = createHumansService({
    db: deps.db,
    secrets: deps.secrets,
    counters: deps.counters,
    clock: deps.clock,
    onEventsCommitted: deps.onEventsCommitted,
    sessionTtlMs: deps.sessionTtlSeconds * 1000,
    extraCaches: [ssoCache],
  });
  const service = createIdentityService({
    ...deps,
    onTenantDeactivated: (id) => humans.evict('tenant', id),
  });
  const agents = createAgentService(deps);
  const issuers = parseOidcIssuers(deps.oidcIssuers);
  const authenticators: Authenticator[] = [
    apiKeyAuthenticator(humans),
    sessionAuthenticator(humans),
    ...(issuers.length > 0
      ? [
          oidcAuthenticator({
            issuers,
            clock: deps.clock,
            cache: ssoCache,
            isTenantActive: (id) => humans.isTenantActive(id),
          }),
        ]
      : []),
  ];
  const denials = new WriteBehind(deps.db, { write: oneByOne(recordAudit) });
  const guarded: Authorizer = (principal, permission) => {
    const allowed = authorize(principal, permission);
    if (!allowed) denials.add(denialRecord(principal, permission));
    return allowed;
  };
  let timer: NodeJS.Timeout | undefined;
  let ticks = 0;
  let busy = false;
  async function flush(): Promise<void> {
    await humans.syncRevocations();
    await humans.flushLastUsed();
    if ((await denials.flush()) > 0) deps.onEventsCommitted();
  }

  return {
    humans,
    authenticators: () => authenticators,
    authorize: guarded,
    flush,
    async start() {
      await humans.initRevocationSeq();
      // One timer: the revocation log every tick; last-used times and denials every fifth.
      timer = setInterval(() => {
        if (busy) return;
        busy = true;
        const work = ++ticks % 5 === 0 ? flush() : humans.syncRevocations();
        work
          .catch(() => {
            // The next tick retries; a stale cache entry is still bounded by the cache TTL.
          })
          .finally(() => {
            busy = false;
          });
      }, deps.revocationPollMs ?? 1000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await flush().catch(() => {});
    },
    name: 'identity',
    service,
    agents,
    agentAuthenticator: createAgentAuthenticator({
      db: deps.db,
      counters: deps.counters,
      clock: deps.clock,
      maxAgeSeconds: deps.signatureMaxAgeSeconds,
      log: deps.log,
    }),
    registerRoutes(app) {
      app.addSchema(Tenant);
      registerCreateTenant(app, service);
      registerListTenants(app, service);
      registerGetTenant(app, service);
      registerUpdateTenant(app, service);
      registerDeactivateTenant(app, service);
      registerOnboardTenant(app, humans);
      app.addSchema(User);
      app.addSchema(ApiKey);
      registerCreateApiKey(app, humans);
      registerListApiKeys(app, humans);
      registerRevokeApiKey(app, humans);
      registerCreateUser(app, humans);
      registerListUsers(app, humans);
      registerGetUser(app, humans);
      registerDisableUser(app, humans);
      registerLogin(app, humans);
      registerLogout(app, humans);
      registerCurrentUser(app, humans);
      registerAgentRoutes(app, agents);
    },
  };
}
