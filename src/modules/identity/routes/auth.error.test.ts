import { describe, expect, it } from 'vitest';
import { onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import { hashPassword, verifyPassword } from '../passwords.js';

for (const driver of drivers()) {
  describe(`auth routes, errors (${driver.name})`, () => {
    const t = useWarden(driver);
    const login = (email: string, password: string, ip = '127.0.0.1') =>
      t.node.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        remoteAddress: ip,
        payload: { email, password },
      });

    it('answers invalid-credentials alike for a wrong password and an unknown email, in comparable time', async () => {
      const a = await onboardTenant(t, 'creds');
      const time = async (email: string) => {
        const t0 = performance.now();
        const res = await login(email, 'definitely wrong', '10.0.0.1');
        return { res, ms: performance.now() - t0 };
      };
      const wrong = await time(a.ownerEmail);
      const unknown = await time(`nobody-${a.tenantId}@example.com`);
      for (const { res } of [wrong, unknown]) {
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ type: '/problems/invalid-credentials' });
      }
      expect(unknown.res.json().detail).toBe(wrong.res.json().detail);
      // Both paths run argon2. One-sided, so machine load cannot fail it: the unknown email takes at
      // least half of the fastest of three bare argon2id verifications measured here (a lookup that
      // skipped argon2 answers in well under a millisecond).
      const phc = await hashPassword('some password of the owner');
      let floor = Number.POSITIVE_INFINITY;
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await verifyPassword(phc, 'definitely wrong');
        floor = Math.min(floor, performance.now() - t0);
      }
      expect(unknown.ms).toBeGreaterThan(floor * 0.5);
    });

    it('answers account-disabled for a disabled user with the right password, and ends its sessions', async () => {
      const a = await onboardTenant(t, 'disabled');
      const email = `dis-${a.tenantId}@example.com`;
      const u = (
        await t.node.app.inject({
          method: 'POST',
          url: '/v1/users',
          headers: a.auth,
          payload: { email, role: 'viewer', password: 'viewer password 1' },
        })
      ).json();
      const { token } = (await login(email, 'viewer password 1', '10.0.0.2')).json();
      await t.node.app.inject({ method: 'DELETE', url: `/v1/users/${u.id}`, headers: a.auth });
      const res = await login(email, 'viewer password 1', '10.0.0.2');
      expect(res.statusCode).toBe(403);
      expect(res.json().type).toBe('/problems/account-disabled');
      const wrong = await login(email, 'not the password', '10.0.0.2');
      expect(wrong.json().type).toBe('/problems/invalid-credentials');
      const session = await t.node.app.inject({
        method: 'GET',
        url: '/v1/auth/user',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(session.statusCode).toBe(401);
      expect(session.json().detail).toBe('account disabled');
    });

    it('answers account-disabled for a user of a deactivated tenant', async () => {
      const a = await onboardTenant(t, 'deact');
      await t.node.app.inject({ method: 'DELETE', url: `/v1/tenants/${a.tenantId}`, headers: t.auth });
      const res = await login(a.ownerEmail, a.ownerPassword, '10.0.0.3');
      expect(res.statusCode).toBe(403);
      expect(res.json().type).toBe('/problems/account-disabled');
    });

    it('rate-limits failed logins per email with 429 too-many-login-attempts and Retry-After', async () => {
      const a = await onboardTenant(t, 'rl');
      for (let i = 0; i < 5; i++) {
        expect((await login(a.ownerEmail, `wrong ${i} password`, `10.1.0.${i}`)).statusCode).toBe(401);
      }
      const limited = await login(a.ownerEmail, a.ownerPassword, '10.1.0.99');
      expect(limited.statusCode).toBe(429);
      expect(limited.json()).toMatchObject({ type: '/problems/too-many-login-attempts' });
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      // Another account is not affected.
      const b = await onboardTenant(t, 'rl2');
      expect((await login(b.ownerEmail, b.ownerPassword, '10.1.0.100')).statusCode).toBe(200);
    });

    it('rate-limits failed logins per client address across emails', async () => {
      for (let i = 0; i < 50; i++) await login(`spray-${i}@example.com`, 'guess guess', '10.2.0.1');
      const res = await login('spray-last@example.com', 'guess guess', '10.2.0.1');
      expect(res.statusCode).toBe(429);
      expect(res.json().type).toBe('/problems/too-many-login-attempts');
    }, 120_000);

    it.each([
      [{ email: 'a@example.com' }, 'body.password'],
      [{ password: 'x' }, 'body.email'],
      [{ email: 'a@example.com', password: 'x'.repeat(257) }, 'body.password'],
    ])('rejects login body %j naming %s', async (payload, field) => {
      const res = await t.node.app.inject({ method: 'POST', url: '/v1/auth/login', payload });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ type: '/problems/validation-failed', field });
    });

    it('answers 401 for a forged, expired or malformed session token', async () => {
      for (const [token, detail] of [
        [`wdn_s_${'B'.repeat(43)}`, 'unknown session'],
        ['wdn_s_x', 'malformed session'],
      ]) {
        const res = await t.node.app.inject({
          method: 'GET',
          url: '/v1/auth/user',
          headers: { cookie: `warden_session=${token}` },
        });
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ type: '/problems/unauthenticated', detail });
      }
      const a = await onboardTenant(t, 'expired');
      const { token } = (await login(a.ownerEmail, a.ownerPassword, '10.0.0.9')).json();
      await t.node.db.kysely
        .updateTable('identity.sessions')
        .set({ expires_at: new Date(Date.now() - 1000) })
        .where('user_id', '=', a.ownerId)
        .execute();
      const res = await t.node.app.inject({
        method: 'GET',
        url: '/v1/auth/user',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(res.statusCode).toBe(401);
      expect(res.json().detail).toBe('session expired');
    });
  });
}
