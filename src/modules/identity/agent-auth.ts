/**
 * Authenticates agents' signed requests (RFC 9421, Ed25519, keyid = agent id) for the edge.
 *
 * Every request must cover `@method`, `@target-uri`, `content-digest` (when it has a body) and carry
 * `created`, `nonce` and `keyid`; a nonce is accepted once within the signature window (nonce set in
 * Counters), and a signature older than the window or from the future beyond the skew is refused.
 *
 * Public keys are parsed once and cached by keyid. Suspension, revocation and key rotation must
 * take effect on the next request on every node, so each request compares the cached entry's
 * revision with the one the agent service publishes in Counters (one in-process map read, or one
 * Redis GET in a cluster) and reloads from the database when it moved. A tenant's deactivation is
 * seen within CACHE_MAX_AGE_MS.
 */
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../../platform/clock.js';
import type { Counters } from '../../platform/counters/types.js';
import type { Database } from '../../platform/db/database.js';
import type { AuthResult, Principal } from '../../platform/http/auth.js';
import type { SignatureAuthenticator } from '../../platform/http/edge.js';
import { defineProblem } from '../../platform/http/problem.js';
import { decodePublicKey } from './agent-keys.js';
import { AGENT_REVISION_TTL_MS, agentRevisionKey } from './agent-service.js';
import { findAgentForAuth, touchAgents } from './agent-store.js';
import { type VerificationKey, type VerifyErrorCode, verifyRequest } from './http-signature.js';

export const SignatureProblems = {
  invalid: defineProblem({
    slug: 'signature-invalid',
    status: 401,
    title: 'Request signature invalid',
    description:
      'The HTTP message signature is missing, malformed, or does not verify with the agent’s key. `code` says which check failed.',
  }),
  componentMissing: defineProblem({
    slug: 'signature-component-missing',
    status: 401,
    title: 'Required component not signed',
    description:
      'Agent signatures must cover @method, @target-uri and, with a body, content-digest, and carry created, nonce and keyid.',
  }),
  digestMismatch: defineProblem({
    slug: 'signature-digest-mismatch',
    status: 401,
    title: 'Body does not match Content-Digest',
    description:
      'The body was changed after signing, or Content-Digest is missing: sign a Content-Digest (RFC 9530) of the exact body bytes.',
  }),
  replayed: defineProblem({
    slug: 'signature-replayed',
    status: 401,
    title: 'Signature nonce already used',
    description:
      'Each signed request needs a fresh nonce; a nonce is accepted once within the signature window.',
  }),
  stale: defineProblem({
    slug: 'signature-stale',
    status: 401,
    title: 'Signature outside its time window',
    description:
      'The signature’s created time is older than the window (default 300 s) or ahead of the server clock beyond the allowed skew. Check the agent’s clock.',
  }),
  agentInactive: defineProblem({
    slug: 'agent-inactive',
    status: 401,
    title: 'Agent cannot authenticate',
    description: 'The agent is unknown, suspended or revoked, or its tenant is deactivated.',
  }),
};

const CACHE_MAX = 10_000;
const CACHE_MAX_AGE_MS = 5_000;

interface CachedAgent {
  revision: string;
  loadedAt: number;
  verification: VerificationKey;
  principal: Principal;
  inactive: string | undefined;
}

function problemFor(code: VerifyErrorCode, detail: string) {
  const extra = { code };
  switch (code) {
    case 'component_missing':
    case 'nonce_missing':
    case 'content_digest_missing':
      return SignatureProblems.componentMissing.create(detail, extra);
    case 'content_digest_mismatch':
      return SignatureProblems.digestMismatch.create(detail, extra);
    case 'nonce_replayed':
      return SignatureProblems.replayed.create(detail, extra);
    case 'signature_expired':
    case 'signature_too_old':
    case 'signature_from_future':
      return SignatureProblems.stale.create(detail, extra);
    default:
      return SignatureProblems.invalid.create(detail, extra);
  }
}

export interface AgentAuthenticatorOptions {
  db: Database;
  counters: Counters;
  clock: Clock;
  maxAgeSeconds: number;
  log: { warn(obj: object, msg: string): void };
}

/**
 * @example
 *   edge({ signatureAuthenticator: () => createAgentAuthenticator({ db, counters, clock, maxAgeSeconds: 300, log }) })
 */
export function createAgentAuthenticator(options: AgentAuthenticatorOptions): SignatureAuthenticator {
  const { db, counters, clock } = options;
  const cache = new Map<string, CachedAgent>();
  const active = new Set<string>();
  // last_active is written in batches, off the request path.
  setInterval(() => {
    if (active.size === 0) return;
    const ids = [...active];
    active.clear();
    touchAgents(db.kysely, ids).catch((err) => options.log.warn({ err }, 'could not record agent activity'));
  }, 30_000).unref();

  async function load(agentId: string): Promise<CachedAgent | undefined> {
    const published = await counters.kvGet(agentRevisionKey(agentId));
    const cached = cache.get(agentId);
    if (cached && published === cached.revision && clock.now() - cached.loadedAt < CACHE_MAX_AGE_MS)
      return cached;
    const row = await findAgentForAuth(db.kysely, agentId);
    if (!row) return undefined;
    const revision = String(row.revision);
    if (published !== revision)
      await counters.kvSet(agentRevisionKey(agentId), revision, AGENT_REVISION_TTL_MS);
    const entry: CachedAgent = {
      revision,
      loadedAt: clock.now(),
      verification: {
        key: decodePublicKey(Buffer.from(row.public_key).toString('base64url'), 'public_key').key,
        alg: 'ed25519',
      },
      principal: { kind: 'agent', id: row.id, tenantId: row.tenant_id, roles: ['agent'] },
      inactive: row.revoked_at
        ? 'the agent was revoked'
        : row.trust_level === 'suspended'
          ? 'the agent is suspended'
          : row.tenant_status !== 'active'
            ? 'the agent’s tenant is deactivated'
            : undefined,
    };
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value as string);
    cache.set(agentId, entry);
    return entry;
  }

  return async (request: FastifyRequest, rawBody: Buffer | undefined): Promise<AuthResult> => {
    let agent: CachedAgent | undefined;
    const result = await verifyRequest(
      {
        method: request.method,
        url: `${request.protocol}://${request.host}${request.url}`,
        headers: request.headers as Record<string, string | string[] | undefined>,
        ...(rawBody ? { body: rawBody } : {}),
      },
      {
        keyFor: async (keyId) => {
          if (!/^[0-9a-f]{64}$/.test(keyId)) return undefined;
          agent = await load(keyId);
          return agent && !agent.inactive ? agent.verification : undefined;
        },
        maxAgeSeconds: options.maxAgeSeconds,
        now: () => clock.now(),
        requireNonce: true,
        checkNonce: (keyId, nonce, ttlSeconds) =>
          counters.addNonce('sig', `${keyId}:${nonce}`, Math.max(1000, ttlSeconds * 1000)),
      },
    );
    if (!result.ok) {
      if (result.code === 'key_unknown' && agent?.inactive) {
        return { reject: agent.inactive, problem: SignatureProblems.agentInactive.create(agent.inactive) };
      }
      if (result.code === 'key_unknown') {
        return {
          reject: result.detail,
          problem: SignatureProblems.agentInactive.create('no active agent has this keyid'),
        };
      }
      return { reject: result.detail, problem: problemFor(result.code, result.detail) };
    }
    active.add(result.keyId);
    return { principal: agent!.principal };
  };
}
