import { describe, expect, it } from 'vitest';
import { createKey, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`users routes, errors (${driver.name})`, () => {
    const t = useWarden(driver);

    it.each([
      [{ role: 'viewer' }, 'body.email'],
      [{ email: 'nope', role: 'viewer' }, 'body.email'],
      [{ email: 'a@example.com' }, 'body.role'],
      [{ email: 'a@example.com', role: 'root' }, 'body.role'],
      [{ email: 'a@example.com', role: 'viewer', password: 'short' }, 'body.password'],
      [{ email: 'a@example.com', role: 'viewer', password: 'x'.repeat(257) }, 'body.password'],
    ])('rejects %j with validation-failed naming %s', async (payload, field) => {
      const a = await onboardTenant(t, 'v');
      const res = await t.node.app.inject({ method: 'POST', url: '/v1/users', headers: a.auth, payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ type: '/problems/validation-failed', field });
    });

    it('answers email-taken for an email in use, ignoring case, in any tenant', async () => {
      const a = await onboardTenant(t, 'dup');
      const b = await onboardTenant(t, 'dup2');
      const body = { email: `dup-${a.tenantId}@example.com`, role: 'viewer' };
      expect(
        (await t.node.app.inject({ method: 'POST', url: '/v1/users', headers: a.auth, payload: body }))
          .statusCode,
      ).toBe(201);
      for (const auth of [a.auth, b.auth]) {
        const res = await t.node.app.inject({
          method: 'POST',
          url: '/v1/users',
          headers: auth,
          payload: { ...body, email: body.email.toUpperCase() },
        });
        expect(res.statusCode).toBe(409);
        expect(res.json()).toMatchObject({ type: '/problems/email-taken', field: 'body.email' });
      }
    });

    it('answers role-not-grantable when an admin creates an owner', async () => {
      const a = await onboardTenant(t, 'grant');
      const admin = await createKey(t, a.auth, { name: 'admin', role: 'admin' });
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/users',
        headers: admin.auth,
        payload: { email: `boss-${a.tenantId}@example.com`, role: 'owner' },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ type: '/problems/role-not-grantable', field: 'body.role' });
      const ok = await t.node.app.inject({
        method: 'POST',
        url: '/v1/users',
        headers: admin.auth,
        payload: { email: `dev-${a.tenantId}@example.com`, role: 'developer' },
      });
      expect(ok.statusCode).toBe(201);
    });

    it('answers user-not-found for get and disable of an unknown id', async () => {
      const a = await onboardTenant(t, 'nf');
      for (const method of ['GET', 'DELETE'] as const) {
        const res = await t.node.app.inject({
          method,
          url: '/v1/users/01936f6e-0000-7000-8000-000000000000',
          headers: a.auth,
        });
        expect(res.statusCode).toBe(404);
        expect(res.json().type).toBe('/problems/user-not-found');
      }
    });
  });
}
