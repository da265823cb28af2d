import { randomBytes, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../platform/clock.js';
import type { Principal } from '../../platform/http/auth.js';
import type { AuthzAuditInput } from './audit-records.js';
import { mintToken } from './delegation-token.js';
import type { RootKeys } from './root-keys.js';
import { createVerifier } from './verifier.js';

const tenant = randomUUID();
const agentId = 'a'.repeat(64);
const agent: Principal = { kind: 'agent', id: agentId, tenantId: tenant, roles: ['agent'] };

/** In-memory root keys: `load` counts its calls and can be told to fail like a database outage. */
function memoryKeys(keys: Map<string, Uint8Array>) {
  const loaded = new Map<string, Uint8Array>();
  const state = { loads: 0, failing: false };
  const rootKeys: RootKeys = {
    cached: (t) => loaded.get(t),
    async load(t) {
      state.loads++;
      if (state.failing) throw new Error('database unavailable');
      const k = keys.get(t);
      if (k) loaded.set(t, k);
      return k !== undefined;
    },
    async ensure() {
      throw new Error('not used here');
    },
  };
  return { rootKeys, state };
}

function setup() {
  const key = randomBytes(32);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const { rootKeys, state } = memoryKeys(new Map([[tenant, key]]));
  const denials: AuthzAuditInput[] = [];
  const verifier = createVerifier({ rootKeys, clock, onDenied: (r) => denials.push(r) });
  const now = Math.floor(clock.now() / 1000);
  const token = mintToken({
    rootKey: key,
    tokenId: randomUUID(),
    tenant,
    holder: agentId,
    actions: ['sandbox.*'],
    resources: ['repo:acme/*'],
    notAfter: now + 60,
    maxDepth: 0,
  });
  return { verifier, clock, state, denials, token, key, now };
}

describe('authorize (the in-process check)', () => {
  it('allows the holder inside the caveats, loading the tenant key once, and answers the same object on a hit', async () => {
    const { verifier, state, token } = setup();
    const first = await verifier.authorize(agent, 'sandbox.exec', 'repo:acme/w', token);
    expect(first).toMatchObject({ allowed: true, tenantId: tenant, holder: agentId, holders: [agentId] });
    const again = await verifier.authorize(agent, 'sandbox.exec', 'repo:acme/w', token);
    expect(again).toBe(first);
    expect(Object.isFrozen(again)).toBe(true);
    expect(state.loads).toBe(1);
  });

  it('refuses every principal but an agent, and an agent without a token', async () => {
    const { verifier, token, denials } = setup();
    for (const kind of ['user', 'api_key', 'operator'] as const) {
      const r = await verifier.authorize(
        { kind, id: agentId, tenantId: tenant, roles: ['owner'] },
        'sandbox.exec',
        'repo:acme/w',
        token,
      );
      expect(r).toMatchObject({ allowed: false, reason: 'holder_mismatch' });
    }
    const missing = await verifier.authorize(agent, 'sandbox.exec', 'repo:acme/w');
    expect(missing).toMatchObject({ allowed: false, reason: 'token_missing' });
    if (!missing.allowed)
      expect([missing.problem.status, missing.problem.type]).toEqual([
        401,
        '/problems/delegation-token-missing',
      ]);
    expect(denials).toHaveLength(4);
  });

  it('never loads another tenant’s key: a token of another tenant is tenant_unknown', async () => {
    const { verifier, state, token } = setup();
    const elsewhere: Principal = { ...agent, tenantId: randomUUID() };
    expect(await verifier.authorize(elsewhere, 'sandbox.exec', 'repo:acme/w', token)).toMatchObject({
      allowed: false,
      reason: 'tenant_unknown',
    });
    expect(state.loads).toBe(0);
  });

  it('fails closed when the root key cannot be loaded', async () => {
    const { verifier, state, token } = setup();
    state.failing = true;
    const r = await verifier.authorize(agent, 'sandbox.exec', 'repo:acme/w', token);
    expect(r).toMatchObject({ allowed: false, reason: 'internal_error' });
    if (!r.allowed) expect(r.problem.status).toBe(503);
  });

  it('honours expiry on a cached token as the clock moves', async () => {
    const { verifier, clock, token } = setup();
    expect((await verifier.authorize(agent, 'sandbox.exec', 'repo:acme/w', token)).allowed).toBe(true);
    clock.advance(61_000);
    expect(await verifier.authorize(agent, 'sandbox.exec', 'repo:acme/w', token)).toMatchObject({
      allowed: false,
      reason: 'token_expired',
    });
  });

  it('refuses a revoked id even if it was cached, and records each denial for the audit log without the token', async () => {
    const { verifier, token, denials, now } = setup();
    const granted = await verifier.authorize(agent, 'sandbox.exec', 'repo:acme/w', token);
    if (!granted.allowed) throw new Error('expected a grant');
    verifier.revoke(granted.tokenId, now + 60);
    const r = await verifier.authorize(agent, 'sandbox.exec', 'repo:acme/w', token);
    expect(r).toMatchObject({ allowed: false, reason: 'token_revoked' });
    expect(denials.at(-1)).toEqual({
      tenantId: tenant,
      eventType: 'delegation.denied',
      actor: `agent:${agentId}`,
      resourceId: 'repo:acme/w',
      action: 'sandbox.exec',
      outcome: 'deny',
      metadata: { reason: 'token_revoked', detail: expect.any(String), token_id: granted.tokenId },
    });
    expect(JSON.stringify(denials)).not.toContain(token);
  });

  it('asks the database once its revocation memory overflowed, and fails closed without one', async () => {
    const key = randomBytes(32);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const now = Math.floor(clock.now() / 1000);
    const mint = (tokenId: string) =>
      mintToken({
        rootKey: key,
        tokenId,
        tenant,
        holder: agentId,
        actions: ['sandbox.*'],
        resources: ['*'],
        notAfter: now + 60,
        maxDepth: 0,
      });
    const revokedInDb = new Set<string>();
    const asked: string[] = [];
    const make = (withDb: boolean) =>
      createVerifier({
        rootKeys: memoryKeys(new Map([[tenant, key]])).rootKeys,
        clock,
        onDenied: () => {},
        maxRevoked: 1,
        ...(withDb
          ? {
              isRevoked: async (id: string) => {
                asked.push(id);
                return revokedInDb.has(id);
              },
            }
          : {}),
      });
    const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
    const verifier = make(true);
    // Before any overflow, no database read on the path.
    expect(await verifier.authorize(agent, 'sandbox.exec', 'x', mint(c))).toMatchObject({ allowed: true });
    expect(asked).toEqual([]);
    verifier.revoke(a, now + 60); // remembered
    revokedInDb.add(a);
    verifier.revoke(b, now + 60); // memory full: forgotten here, so the database decides from now on
    revokedInDb.add(b);
    expect(await verifier.authorize(agent, 'sandbox.exec', 'x', mint(a))).toMatchObject({
      reason: 'token_revoked',
    });
    expect(await verifier.authorize(agent, 'sandbox.exec', 'x', mint(b))).toMatchObject({
      reason: 'token_revoked',
    });
    expect(await verifier.authorize(agent, 'sandbox.exec', 'x', mint(c))).toMatchObject({ allowed: true });
    expect(asked).toEqual([b, c]);
    // Once every forgotten revocation has expired, the database is no longer asked.
    clock.advance(61_000);
    asked.length = 0;
    const later = mintToken({
      rootKey: key,
      tokenId: randomUUID(),
      tenant,
      holder: agentId,
      actions: ['*'],
      resources: ['*'],
      notAfter: now + 600,
      maxDepth: 0,
    });
    expect(await verifier.authorize(agent, 'sandbox.exec', 'x', later)).toMatchObject({ allowed: true });
    expect(asked).toEqual([]);
    // A node that cannot ask refuses every token while it may have forgotten one.
    const blind = make(false);
    blind.revoke(a, now + 600);
    blind.revoke(b, now + 600);
    expect(await blind.authorize(agent, 'sandbox.exec', 'x', later)).toMatchObject({
      allowed: false,
      reason: 'internal_error',
    });
  });

  it('answers a denial for any input it cannot read rather than throwing', async () => {
    const { verifier } = setup();
    for (const bad of ['', '!!!', 'A'.repeat(40_000), 42 as unknown as string, null as unknown as string]) {
      const r = await verifier.authorize(agent, 'sandbox.exec', 'repo:acme/w', bad);
      expect(r.allowed).toBe(false);
    }
  });
});
