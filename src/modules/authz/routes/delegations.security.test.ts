import { beforeAll, describe, expect, it } from 'vitest';
import type { WardenAgent } from '../../../../sdk/src/index.js';
import { mintDelegation, registerAgent, verifyAs } from '../../../../test/support/authz-fixtures.js';
import {
  createKey,
  type OnboardedTenant,
  onboardTenant,
} from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`delegations, security (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    let b: OnboardedTenant;
    let agentA: WardenAgent;
    let agentB: WardenAgent;
    let token: string;
    let tokenId: string;

    beforeAll(async () => {
      a = await onboardTenant(t, 'authzSecA');
      b = await onboardTenant(t, 'authzSecB');
      agentA = await registerAgent(t, a.key);
      agentB = await registerAgent(t, b.key);
      const minted = await mintDelegation(t, a.auth, {
        agent_id: agentA.id,
        actions: ['llm.call'],
        resources: ['model:*'],
      });
      token = minted.body.token!;
      tokenId = minted.body.id!;
    });

    const routes = () => [
      {
        method: 'POST' as const,
        url: '/v1/delegations',
        payload: { agent_id: agentA.id, actions: ['a.b'], resources: ['r'] },
      },
      { method: 'POST' as const, url: '/v1/delegations/revoke', payload: { token_id: tokenId } },
      { method: 'POST' as const, url: '/v1/delegations/inspect', payload: { token } },
      {
        method: 'POST' as const,
        url: '/v1/delegations/verify',
        payload: { token, action: 'llm.call', resource: 'model:x' },
      },
      { method: 'GET' as const, url: `/v1/delegations/${tokenId}` },
    ];

    it('answers 401 without a credential on every route', async () => {
      for (const r of routes()) {
        const res = await t.node.app.inject(r);
        expect([res.statusCode, res.json().type], r.url).toEqual([401, '/problems/unauthenticated']);
      }
    });

    it('answers 403 to a role without the permission', async () => {
      const viewer = await createKey(t, a.auth, { name: 'viewer', role: 'viewer' });
      const expected: Record<string, number> = {
        '/v1/delegations': 403,
        '/v1/delegations/revoke': 403,
        '/v1/delegations/inspect': 200,
        '/v1/delegations/verify': 403,
      };
      for (const r of routes()) {
        const res = await t.node.app.inject({ ...r, headers: viewer.auth });
        expect(res.statusCode, r.url).toBe(expected[r.url] ?? 200);
        if (res.statusCode === 403) expect(res.json().type).toBe('/problems/forbidden');
      }
      // An agent may check its token but not mint, revoke or read records.
      for (const [path, body] of [
        ['/v1/delegations', { agent_id: agentA.id, actions: ['a.b'], resources: ['r'] }],
        ['/v1/delegations/revoke', { token_id: tokenId }],
      ] as const) {
        await expect(agentA.request(path, { method: 'POST', body })).rejects.toMatchObject({
          status: 403,
          problem: { type: '/problems/forbidden' },
        });
      }
    });

    it('binds the token to its agent: an API key presenting it is refused (403 holder-mismatch)', async () => {
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/delegations/verify',
        headers: a.auth,
        payload: { token, action: 'llm.call', resource: 'model:x' },
      });
      expect([res.statusCode, res.json().type]).toEqual([403, '/problems/delegation-token-holder-mismatch']);
    });

    it('hides tenant A’s delegations from tenant B (404), and B cannot revoke them', async () => {
      const get = await t.node.app.inject({
        method: 'GET',
        url: `/v1/delegations/${tokenId}`,
        headers: b.auth,
      });
      expect([get.statusCode, get.json().type]).toEqual([404, '/problems/delegation-not-found']);
      const revoke = await t.node.app.inject({
        method: 'POST',
        url: '/v1/delegations/revoke',
        headers: b.auth,
        payload: { token_id: tokenId },
      });
      expect([revoke.statusCode, revoke.json().type]).toEqual([404, '/problems/delegation-not-found']);
      const inspect = await t.node.app.inject({
        method: 'POST',
        url: '/v1/delegations/inspect',
        headers: b.auth,
        payload: { token },
      });
      expect([inspect.statusCode, inspect.json().type]).toEqual([404, '/problems/delegation-not-found']);
      for (const res of [get, revoke, inspect]) {
        expect(res.body).not.toContain(a.tenantId);
        expect(res.body).not.toContain(agentA.id);
      }
      // B cannot mint for A's agent either.
      const mint = await mintDelegation(t, b.auth, {
        agent_id: agentA.id,
        actions: ['a.b'],
        resources: ['r'],
      });
      expect([mint.status, mint.body.type]).toEqual([404, '/problems/delegation-agent-not-found']);
      // B's agent holding A's token gets nothing, and A's token still works for A's agent.
      const stolen = await verifyAs(agentB, token, 'llm.call', 'model:x');
      expect([stolen.status, stolen.body.type]).toEqual([401, '/problems/delegation-token-unknown-tenant']);
      expect((await verifyAs(agentA, token, 'llm.call', 'model:x')).status).toBe(200);
    });

    it('needs the operator to name a tenant', async () => {
      const res = await t.node.app.inject({
        method: 'GET',
        url: `/v1/delegations/${tokenId}`,
        headers: t.auth,
      });
      expect([res.statusCode, res.json().type]).toEqual([400, '/problems/tenant-required']);
      const named = await t.node.app.inject({
        method: 'GET',
        url: `/v1/delegations/${tokenId}`,
        headers: { ...t.auth, 'x-warden-tenant': a.tenantId },
      });
      expect(named.statusCode).toBe(200);
    });
  });
}
