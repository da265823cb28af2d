import { describe, expect, it } from 'vitest';
import { onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`tenant update, deactivate and onboard, happy paths (${driver.name})`, () => {
    const t = useWarden(driver);
    const create = async (name: string) =>
      (
        await t.node.app.inject({ method: 'POST', url: '/v1/tenants', headers: t.auth, payload: { name } })
      ).json();

    it('renames a tenant with a matching If-Match and returns the new ETag', async () => {
      const tenant = await create('Rename Me');
      const res = await t.node.app.inject({
        method: 'PUT',
        url: `/v1/tenants/${tenant.id}`,
        headers: { ...t.auth, 'if-match': '"1"' },
        payload: { name: 'Renamed' },
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: tenant.id, name: 'Renamed', version: 2 });
      expect(res.headers.etag).toBe('"2"');
      const unconditional = await t.node.app.inject({
        method: 'PUT',
        url: `/v1/tenants/${tenant.id}`,
        headers: t.auth,
        payload: { name: 'Renamed Again' },
      });
      expect(unconditional.json().version).toBe(3);
    });

    it('lets the tenant’s owner rename its own tenant', async () => {
      const a = await onboardTenant(t, 'own');
      const res = await t.node.app.inject({
        method: 'PUT',
        url: `/v1/tenants/${a.tenantId}`,
        headers: a.auth,
        payload: { name: `Owned ${a.tenantId}` },
      });
      expect(res.statusCode).toBe(200);
    });

    it('deactivates a tenant, keeps its data, and answers the same again', async () => {
      const a = await onboardTenant(t, 'deact');
      const res = await t.node.app.inject({
        method: 'DELETE',
        url: `/v1/tenants/${a.tenantId}`,
        headers: t.auth,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: a.tenantId, status: 'deactivated' });
      const again = await t.node.app.inject({
        method: 'DELETE',
        url: `/v1/tenants/${a.tenantId}`,
        headers: t.auth,
      });
      expect(again.json()).toEqual(res.json());
      const got = await t.node.app.inject({
        method: 'GET',
        url: `/v1/tenants/${a.tenantId}`,
        headers: t.auth,
      });
      expect(got.json().status).toBe('deactivated');
      const users = await t.node.app.inject({
        method: 'GET',
        url: '/v1/users',
        headers: { ...t.auth, 'x-warden-tenant': a.tenantId },
      });
      expect(users.json().items).toHaveLength(1);
    });

    it('onboards: two calls take a script from the operator token to a working tenant', async () => {
      const tenant = await create('Onboard Co');
      const res = await t.node.app.inject({
        method: 'POST',
        url: `/v1/tenants/${tenant.id}/onboard`,
        headers: t.auth,
        payload: { owner_email: 'founder@onboard.example', owner_password: 'a long enough secret' },
      });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(body.tenant).toMatchObject({ id: tenant.id, status: 'active' });
      expect(body.owner).toMatchObject({
        email: 'founder@onboard.example',
        role: 'owner',
        tenant_id: tenant.id,
      });
      expect(body.api_key).toMatchObject({ role: 'owner', tenant_id: tenant.id });
      expect(body.api_key.key).toMatch(/^wdn_k_/);
      expect(body.default_policy_set).toBe('warden/default');
      expect(JSON.stringify(body)).not.toContain('a long enough secret');
      // The owner key works at once, inside its tenant.
      const users = await t.node.app.inject({
        method: 'GET',
        url: '/v1/users',
        headers: { authorization: `Bearer ${body.api_key.key}` },
      });
      expect(users.statusCode).toBe(200);
      expect(users.json().items.map((u: { id: string }) => u.id)).toEqual([body.owner.id]);
      // The root key is in the secrets store, sealed: 32 bytes, not stored in clear.
      const root = await t.node.secrets.get(t.node.db.kysely, `tenant/${tenant.id}/root-key`);
      expect(root).toHaveLength(32);
      const row = await t.node.db.kysely
        .selectFrom('platform.secrets')
        .select(['ciphertext', 'tenant_id'])
        .where('name', '=', `tenant/${tenant.id}/root-key`)
        .executeTakeFirstOrThrow();
      expect(row.tenant_id).toBe(tenant.id);
      expect(Buffer.from(row.ciphertext as Uint8Array).includes(root!)).toBe(false);
      // The policy marker and the event the policy module consumes.
      const marker = await t.node.db.kysely
        .selectFrom('identity.tenant_onboarding')
        .selectAll()
        .where('tenant_id', '=', tenant.id)
        .executeTakeFirstOrThrow();
      expect(marker).toMatchObject({ default_policy_set: 'warden/default', owner_user_id: body.owner.id });
      const events = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select(['topic', 'payload'])
        .where('tenant_id', '=', tenant.id)
        .orderBy('created_at')
        .orderBy('id')
        .execute();
      expect(events.map((e) => e.topic)).toEqual(
        expect.arrayContaining([
          'identity.tenant.onboarded',
          'identity.user.created',
          'identity.api_key.created',
        ]),
      );
      const audit = events
        .filter((e) => e.topic === 'audit.record')
        .map((e) => (e.payload as { event_type: string }).event_type);
      expect(audit).toEqual(expect.arrayContaining(['tenant.onboarded', 'user.created', 'api_key.created']));
      // The owner can log in with the password.
      const login = await t.node.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: 'founder@onboard.example', password: 'a long enough secret' },
      });
      expect(login.statusCode).toBe(200);
    });

    it('publishes tenant.updated and tenant.deactivated audit records', async () => {
      const tenant = await create('Audited Tenant');
      await t.node.app.inject({
        method: 'PUT',
        url: `/v1/tenants/${tenant.id}`,
        headers: t.auth,
        payload: { name: 'Audited Tenant 2' },
      });
      await t.node.app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant.id}`, headers: t.auth });
      const rows = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select(['topic', 'payload'])
        .where('tenant_id', '=', tenant.id)
        .execute();
      const types = rows
        .filter((r) => r.topic === 'audit.record')
        .map((r) => (r.payload as { event_type: string }).event_type);
      expect([...types].sort()).toEqual(['tenant.deactivated', 'tenant.updated']);
      expect(rows.map((r) => r.topic)).toEqual(
        expect.arrayContaining(['identity.tenant.updated', 'identity.tenant.deactivated']),
      );
    });
  });
}
