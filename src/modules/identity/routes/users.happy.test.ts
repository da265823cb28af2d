import { describe, expect, it } from 'vitest';
import { onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`users routes, happy paths (${driver.name})`, () => {
    const t = useWarden(driver);

    it('creates users in the caller’s tenant, lists and gets them, never returning a password hash', async () => {
      const a = await onboardTenant(t, 'users');
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/users',
        headers: a.auth,
        payload: { email: 'Ada@Example.com', role: 'approver', password: 'approver password 1' },
      });
      expect(res.statusCode).toBe(201);
      const user = res.json();
      expect(user).toMatchObject({
        email: 'Ada@Example.com',
        role: 'approver',
        status: 'active',
        tenant_id: a.tenantId,
      });
      expect(res.headers.location).toBe(`/v1/users/${user.id}`);
      expect(res.body).not.toMatch(/argon2|password/);
      const got = await t.node.app.inject({ method: 'GET', url: `/v1/users/${user.id}`, headers: a.auth });
      expect(got.json()).toEqual(user);
      const list = await t.node.app.inject({ method: 'GET', url: '/v1/users?limit=1', headers: a.auth });
      expect(list.json().items).toHaveLength(1);
      expect(list.json().next_cursor).not.toBeNull();
      const next = await t.node.app.inject({
        method: 'GET',
        url: `/v1/users?limit=1&cursor=${list.json().next_cursor}`,
        headers: a.auth,
      });
      expect(next.json().items[0].id).toBe(user.id);
    });

    it('creates an SSO-only user without a password, who cannot log in with one', async () => {
      const a = await onboardTenant(t, 'sso');
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/users',
        headers: a.auth,
        payload: { email: 'sso-only@example.com', role: 'viewer' },
      });
      expect(res.statusCode).toBe(201);
      const login = await t.node.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: 'sso-only@example.com', password: 'anything at all' },
      });
      expect(login.statusCode).toBe(401);
    });

    it('disables a user: data kept, status disabled, audit and event published', async () => {
      const a = await onboardTenant(t, 'disable');
      const u = (
        await t.node.app.inject({
          method: 'POST',
          url: '/v1/users',
          headers: a.auth,
          payload: { email: `d-${a.tenantId}@example.com`, role: 'viewer', password: 'viewer password 1' },
        })
      ).json();
      const del = await t.node.app.inject({ method: 'DELETE', url: `/v1/users/${u.id}`, headers: a.auth });
      expect(del.statusCode).toBe(200);
      expect(del.json()).toMatchObject({ id: u.id, status: 'disabled' });
      const rows = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select(['topic', 'payload'])
        .where('tenant_id', '=', a.tenantId)
        .execute();
      expect(rows.map((r) => r.topic)).toContain('identity.user.disabled');
      expect(
        rows
          .filter((r) => r.topic === 'audit.record')
          .map((r) => (r.payload as { event_type: string }).event_type),
      ).toEqual(expect.arrayContaining(['user.created', 'user.disabled']));
    });

    it('lets the operator create a user in a tenant named by X-Warden-Tenant', async () => {
      const a = await onboardTenant(t, 'op');
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/users',
        headers: { ...t.auth, 'x-warden-tenant': a.tenantId },
        payload: { email: `op-${a.tenantId}@example.com`, role: 'owner', password: 'operator made it' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json().tenant_id).toBe(a.tenantId);
    });
  });
}
