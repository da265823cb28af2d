import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { attenuate, inspect } from '../../../../sdk/src/index.js';
import { mintDelegation, registerAgent, verifyAs } from '../../../../test/support/authz-fixtures.js';
import { type OnboardedTenant, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { ADMIN_TOKEN, drivers, useWarden } from '../../../../test/support/warden.js';
import { systemClock } from '../../../platform/clock.js';
import { createAuthzModule } from '../index.js';

for (const driver of drivers()) {
  describe(`delegations, happy paths (${driver.name})`, () => {
    const t = useWarden(driver);
    let tenant: OnboardedTenant;

    it('mints a token for an agent, and the agent is authorized by it', async () => {
      tenant = await onboardTenant(t, 'authzHappy');
      const agent = await registerAgent(t, tenant.key);
      const minted = await mintDelegation(t, tenant.auth, {
        agent_id: agent.id,
        actions: ['sandbox.*', 'llm.call'],
        resources: ['repo:acme/**'],
        ttl_seconds: 600,
        max_depth: 1,
      });
      expect(minted.status).toBe(201);
      expect(minted.body).toMatchObject({
        tenant_id: tenant.tenantId,
        agent_id: agent.id,
        status: 'active',
        created_by: `api_key:${tenant.keyId}`,
        caveats: {
          holder: agent.id,
          actions: ['sandbox.*', 'llm.call'],
          resources: ['repo:acme/**'],
          max_depth: 1,
        },
      });
      const expires = Date.parse(minted.body.expires_at as string);
      expect(Math.abs(expires - (Date.now() + 600_000))).toBeLessThan(5_000);
      const token = minted.body.token!;

      const ok = await verifyAs(agent, token, 'sandbox.exec', 'repo:acme/widgets/main');
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({
        allowed: true,
        token_id: minted.body.id,
        holder: agent.id,
        holders: [agent.id],
        remaining_depth: 1,
      });
      // The same token again is a cache hit with the same answer.
      expect((await verifyAs(agent, token, 'llm.call', 'repo:acme/x')).status).toBe(200);

      // Only the id and caveats are stored, never the token.
      const rows = await sql<{
        row: string;
      }>`select row_to_json(d)::text as row from authz.delegations d where id = ${minted.body.id}`.execute(
        t.node.db.kysely,
      );
      expect(rows.rows).toHaveLength(1);
      expect(rows.rows[0]!.row).not.toContain(token.slice(-20));
    });

    it('lets the holder attenuate offline for a sub-agent, who is then authorized for the narrower grant', async () => {
      const parent = await registerAgent(t, tenant.key, { name: 'parent' });
      const child = await registerAgent(t, tenant.key, { name: 'child' });
      const token = (
        await mintDelegation(t, tenant.auth, {
          agent_id: parent.id,
          actions: ['sandbox.*'],
          resources: ['repo:acme/**'],
          max_depth: 1,
        })
      ).body.token!;
      const narrowed = attenuate(token, {
        holder: child.id,
        actions: ['sandbox.exec'],
        resources: ['repo:acme/widgets'],
        ttlSeconds: 60,
      });
      expect(inspect(narrowed).effective).toMatchObject({ holder: child.id, holders: [parent.id, child.id] });

      const ok = await verifyAs(child, narrowed, 'sandbox.exec', 'repo:acme/widgets');
      expect(ok.status).toBe(200);
      expect(ok.body).toMatchObject({ holders: [parent.id, child.id], remaining_depth: 0 });
      // Narrowed: the child cannot use what the parent could.
      const wider = await verifyAs(child, narrowed, 'sandbox.create', 'repo:acme/widgets');
      expect(wider.body.type).toBe('/problems/delegation-action-not-permitted');
      // And the parent can no longer present the narrowed token: it is bound to the child.
      expect((await verifyAs(parent, narrowed, 'sandbox.exec', 'repo:acme/widgets')).status).toBe(403);
    });

    it('inspects a token for people: caveats, effective grant, signature, stored record', async () => {
      const agent = await registerAgent(t, tenant.key);
      const minted = await mintDelegation(t, tenant.auth, {
        agent_id: agent.id,
        actions: ['llm.call'],
        resources: ['model:*'],
      });
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/delegations/inspect',
        headers: tenant.auth,
        payload: { token: minted.body.token },
      });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.caveats.map((c: { text: string }) => c.text)).toEqual([
        `tenant = ${tenant.tenantId}`,
        `holder = ${agent.id}`,
        'actions = llm.call',
        'resources = model:*',
        expect.stringMatching(/^not_after = \d+$/),
        'depth <= 0',
      ]);
      expect(body).toMatchObject({
        token_id: minted.body.id,
        signature_valid: true,
        problem: null,
        effective: { holder: agent.id, actions: ['llm.call'], resources: ['model:*'], remaining_depth: 0 },
        delegation: { id: minted.body.id, status: 'active' },
      });
      const got = await t.node.app.inject({
        method: 'GET',
        url: `/v1/delegations/${minted.body.id}`,
        headers: tenant.auth,
      });
      expect(got.statusCode).toBe(200);
      expect(got.json()).toEqual(body.delegation);
      expect(got.body).not.toContain(minted.body.token);
    });

    it('revokes by token id: the token and its attenuations are refused at once; revoking again is a no-op', async () => {
      const agent = await registerAgent(t, tenant.key);
      const sub = await registerAgent(t, tenant.key, { name: 'sub' });
      const minted = await mintDelegation(t, tenant.auth, {
        agent_id: agent.id,
        actions: ['llm.call'],
        resources: ['model:*'],
        max_depth: 1,
      });
      const token = minted.body.token!;
      const child = attenuate(token, { holder: sub.id });
      expect((await verifyAs(agent, token, 'llm.call', 'model:x')).status).toBe(200);
      expect((await verifyAs(sub, child, 'llm.call', 'model:x')).status).toBe(200);

      const revoke = () =>
        t.node.app.inject({
          method: 'POST',
          url: '/v1/delegations/revoke',
          headers: tenant.auth,
          payload: { token_id: minted.body.id, reason: 'rotated out' },
        });
      const first = await revoke();
      expect(first.statusCode).toBe(200);
      expect(first.json()).toMatchObject({
        status: 'revoked',
        revoked_by: `api_key:${tenant.keyId}`,
        revoke_reason: 'rotated out',
      });
      const refused = await verifyAs(agent, token, 'llm.call', 'model:x');
      expect(refused.status).toBe(401);
      expect(refused.body.type).toBe('/problems/delegation-token-revoked');
      expect((await verifyAs(sub, child, 'llm.call', 'model:x')).body.type).toBe(
        '/problems/delegation-token-revoked',
      );

      const second = await revoke();
      expect(second.statusCode).toBe(200);
      expect(second.json().revoked_at).toBe(first.json().revoked_at);
      const events = await sql<{ n: number }>`select count(*)::int as n from platform.outbox
        where topic = 'authz.delegation.revoked' and payload->>'token_id' = ${minted.body.id}`.execute(
        t.node.db.kysely,
      );
      expect(events.rows[0]!.n).toBe(1);
    });

    it('records mints, revocations and denials as audit records of product authz', async () => {
      const agent = await registerAgent(t, tenant.key);
      const minted = await mintDelegation(t, tenant.auth, {
        agent_id: agent.id,
        actions: ['llm.call'],
        resources: ['model:*'],
      });
      expect((await verifyAs(agent, minted.body.token!, 'sandbox.exec', 'model:x')).status).toBe(403);
      const authz = t.node.modules.find((m) => m.name === 'authz') as unknown as { flush(): Promise<void> };
      await authz.flush();
      const rows = await sql<{ payload: Record<string, unknown> }>`select payload from platform.outbox
        where topic = 'audit.record' and tenant_id = ${tenant.tenantId} and payload->>'product' = 'authz'
        order by id`.execute(t.node.db.kysely);
      const ofToken = rows.rows
        .map((r) => r.payload)
        .filter(
          (p) =>
            p.resource_id === minted.body.id ||
            (p.metadata as { token_id?: string }).token_id === minted.body.id,
        );
      expect(ofToken.map((p) => [p.event_type, p.outcome])).toEqual([
        ['delegation.minted', 'success'],
        ['delegation.denied', 'deny'],
      ]);
      expect(ofToken[1]).toMatchObject({
        actor: `agent:${agent.id}`,
        action: 'sandbox.exec',
        resource_id: 'model:x',
        metadata: { reason: 'action_not_permitted', token_id: minted.body.id },
      });
      expect(JSON.stringify(ofToken)).not.toContain(minted.body.token);
    });

    it('works for a tenant created without onboarding: the root key is made on first use, and a later onboarding keeps old tokens valid', async () => {
      const created = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: t.auth,
        payload: { name: `No onboarding ${Date.now()}` },
      });
      const tenantId = created.json().id as string;
      const asOperator = { ...t.auth, 'x-warden-tenant': tenantId };
      const agent = await registerAgent(t, ADMIN_TOKEN, { tenantId });
      const [a, b] = await Promise.all(
        [0, 1].map(() =>
          mintDelegation(t, asOperator, {
            agent_id: agent.id,
            actions: ['llm.call'],
            resources: ['model:*'],
          }),
        ),
      );
      expect(a!.status).toBe(201);
      expect(b!.status).toBe(201);
      expect(a!.body.created_by).toBe('operator:operator');
      const versions = await sql<{ n: number }>`select count(*)::int as n from platform.secrets
        where name = ${`tenant/${tenantId}/root-key`}`.execute(t.node.db.kysely);
      expect(versions.rows[0]!.n).toBe(1);

      const onboard = await t.node.app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenantId}/onboard`,
        headers: t.auth,
        payload: { owner_email: `late-${Date.now()}@example.com`, owner_password: 'a long enough password' },
      });
      expect(onboard.statusCode).toBe(201);
      // A node that has not loaded the key yet (a fresh one) must still verify the earlier tokens.
      const fresh = createAuthzModule({
        db: t.node.db,
        secrets: t.node.secrets,
        clock: systemClock,
        agents: { get: async () => ({ id: agent.id, status: 'active' }) },
        onEventsCommitted: () => {},
        log: { warn: () => {} },
      });
      const principal = { kind: 'agent' as const, id: agent.id, tenantId, roles: ['agent'] };
      for (const m of [a!, b!]) {
        expect(await fresh.authorize(principal, 'llm.call', 'model:y', m.body.token)).toMatchObject({
          allowed: true,
          tokenId: m.body.id,
        });
      }
      expect((await verifyAs(agent, a!.body.token!, 'llm.call', 'model:y')).status).toBe(200);
      const inspected = await t.node.app.inject({
        method: 'POST',
        url: '/v1/delegations/inspect',
        headers: asOperator,
        payload: { token: a!.body.token },
      });
      expect(inspected.json().signature_valid).toBe(true);
    });
  });
}
