/**
 * The authz module: delegation tokens (HMAC-chained macaroons rooted at a per-tenant key, attenuable,
 * holder-bound), their revocation, and the in-process check every module calls.
 * Public face: `createAuthzModule(deps)`, `authorize` on the module, and the token functions the SDK
 * and CLI share.
 *
 * @example
 *   const authz = createAuthzModule({ db, secrets, clock, agents: identity.agents, onEventsCommitted });
 *   const r = await authz.authorize(principal, 'sandbox.create', 'repo:acme/widgets', token);
 *   if (!r.allowed) throw r.problem;
 */
import { randomBytes } from 'node:crypto';
import type { Clock } from '../../platform/clock.js';
import type { Database } from '../../platform/db/database.js';
import type { Consumer } from '../../platform/events/bus.js';
import { oneByOne, WriteBehind } from '../../platform/events/write-behind.js';
import type { WardenModule } from '../../platform/module.js';
import type { SecretsStore } from '../../platform/secrets.js';
import { recordAudit } from './audit-records.js';
import { AuthzEvents, parseRevoked } from './events.js';
import { createRootKeys } from './root-keys.js';
import { registerGetDelegation } from './routes/delegations-get.js';
import { registerInspectDelegation } from './routes/delegations-inspect.js';
import { registerMintDelegation } from './routes/delegations-mint.js';
import { registerRevokeDelegation } from './routes/delegations-revoke.js';
import { registerVerifyDelegation } from './routes/delegations-verify.js';
import { type AgentLookup, createDelegationService, type DelegationService } from './service.js';
import { Delegation } from './types.js';
import { type Authorize, createVerifier, type Verifier } from './verifier.js';

export {
  type Attenuation,
  attenuateToken,
  DelegationTokenError,
  inspectToken,
  type TokenFailureCode,
  type TokenInspection,
} from './delegation-token.js';
export { AuthzProblems } from './errors.js';
export { AuthzEvents } from './events.js';
export type { AgentLookup } from './service.js';
export type {
  Authorize,
  AuthorizeDenial,
  AuthorizeDenialReason,
  AuthorizeGrant,
  AuthorizeResult,
} from './verifier.js';

export interface AuthzModule extends WardenModule {
  /**
   * The in-process check: `authorize(principal, action, resource, token)`. The principal must be the
   * agent the token is bound to. Never throws; a denial carries its reason and problem and is audited.
   */
  readonly authorize: Authorize;
  readonly delegations: DelegationService;
  /** This node's verified-token cache and revocations (tests, metrics). */
  readonly verifier: Verifier;
  /** Writes buffered denial records now (tests, shutdown). */
  flush(): Promise<void>;
}

export interface AuthzModuleDeps {
  db: Database;
  secrets: SecretsStore;
  clock: Clock;
  /** Identity's agent service (`identity.agents`): mint checks the agent belongs to the tenant. */
  agents: AgentLookup;
  /** Wakes the outbox relay after a commit. */
  onEventsCommitted: () => void;
  log: { warn(obj: object, msg: string): void };
  /**
   * Names this node's revocation consumer. Every node needs its own (a revocation must reach all of
   * them, and the bus shares one consumer name's events among nodes); it is a per-node consumer, so
   * the bus forgets it when the node is gone. Default: `embedded` on PGlite (one node per database),
   * a random id otherwise.
   */
  nodeId?: string;
  /** How often buffered denials are written (default 1 s). */
  flushIntervalMs?: number;
  maxCachedTokens?: number;
  maxRevoked?: number;
}

const DEFAULT_MAX_REVOKED = 1_000_000;

export function createAuthzModule(deps: AuthzModuleDeps): AuthzModule {
  const rootKeys = createRootKeys(deps);
  const denials = new WriteBehind(deps.db, { write: oneByOne(recordAudit) });
  const maxRevoked = deps.maxRevoked ?? DEFAULT_MAX_REVOKED;
  const verifier = createVerifier({
    rootKeys,
    clock: deps.clock,
    onDenied: (record) => denials.add(record),
    maxCachedTokens: deps.maxCachedTokens,
    maxRevoked,
    isRevoked: (tokenId) => delegations.isRevoked(tokenId),
  });
  const delegations = createDelegationService({
    db: deps.db,
    clock: deps.clock,
    rootKeys,
    agents: deps.agents,
    onEventsCommitted: deps.onEventsCommitted,
    onRevoked: (id, notAfter) => verifier.revoke(id, notAfter),
  });
  const nodeId = deps.nodeId ?? (deps.db.kind === 'pglite' ? 'embedded' : randomBytes(6).toString('hex'));
  /** Applies every unexpired revocation in the database (at start, and after missed events). */
  async function loadRevocations(): Promise<void> {
    const live = await delegations.liveRevocations(maxRevoked);
    for (const r of live) verifier.revoke(r.tokenId, r.notAfter);
    // More than the memory holds: the ones left out are unknown here until the longest-lived expires.
    if (live.length >= maxRevoked) verifier.assumeRevocationsIncomplete(live[0]!.notAfter);
  }
  // Per-node: the revoked set lives in this process and is loaded from the database at start, so
  // the node needs only the revocations made while it runs, and its consumer goes with it.
  const revocations: Consumer = {
    name: `authz.revocations.${nodeId}`,
    topics: [AuthzEvents.revoked],
    perNode: true,
    async handle(event) {
      const r = parseRevoked(event.payload);
      if (r) verifier.revoke(r.tokenId, r.notAfter);
      else deps.log.warn({ eventId: event.id }, 'ignored a malformed delegation revocation event');
    },
    resync: loadRevocations,
  };
  let timer: NodeJS.Timeout | undefined;
  let busy = false;

  async function flush(): Promise<void> {
    if ((await denials.flush()) > 0) deps.onEventsCommitted();
  }

  return {
    name: 'authz',
    authorize: verifier.authorize,
    delegations,
    verifier,
    flush,
    consumers: () => [revocations],
    async start() {
      // Revocations made before this node started; later ones arrive through the consumer above,
      // which the bus started before this runs, so none falls in between.
      await loadRevocations();
      timer = setInterval(() => {
        if (busy) return;
        busy = true;
        flush()
          .catch((err) => deps.log.warn({ err }, 'could not write delegation denial records; will retry'))
          .finally(() => {
            busy = false;
          });
      }, deps.flushIntervalMs ?? 1000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      await flush().catch((err) => deps.log.warn({ err }, 'could not write delegation denial records'));
    },
    registerRoutes(app) {
      app.addSchema(Delegation);
      registerMintDelegation(app, delegations);
      registerRevokeDelegation(app, delegations);
      registerInspectDelegation(app, delegations);
      registerGetDelegation(app, delegations);
      registerVerifyDelegation(app, verifier.authorize);
    },
  };
}
