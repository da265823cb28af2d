import { describe, expect, it } from 'vitest';
import { createKey, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`users routes, security (${driver.name})`, () => {
    const t = useWarden(driver);

    it('answers 401 without a credential and 403 for a role without users:create', async () => {
      expect((await t.node.app.inject({ method: 'GET', url: '/v1/users' })).statusCode).toBe(401);
      const a = await onboardTenant(t, 'sec');
      const viewer = await createKey(t, a.auth, { name: 'v', role: 'viewer' });
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/users',
        headers: viewer.auth,
        payload: { email: 'v@example.com', role: 'viewer' },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json().type).toBe('/problems/forbidden');
    });

    it('answers 404 to another tenant asking for, or disabling, a user', async () => {
      const a = await onboardTenant(t, 'A');
      const b = await onboardTenant(t, 'B');
      for (const method of ['GET', 'DELETE'] as const) {
        const res = await t.node.app.inject({ method, url: `/v1/users/${a.ownerId}`, headers: b.auth });
        expect(res.statusCode).toBe(404);
        expect(res.json().type).toBe('/problems/user-not-found');
      }
      const own = await t.node.app.inject({ method: 'GET', url: `/v1/users/${a.ownerId}`, headers: a.auth });
      expect(own.json().status).toBe('active');
    });
  });
}
