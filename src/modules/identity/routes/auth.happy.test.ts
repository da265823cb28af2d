import { describe, expect, it } from 'vitest';
import { onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

const cookieOf = (setCookie: string | string[] | undefined) => {
  const header = Array.isArray(setCookie) ? setCookie[0]! : setCookie!;
  return { header, value: /^warden_session=([^;]*)/.exec(header)![1]! };
};

for (const driver of drivers()) {
  describe(`auth routes, happy paths (${driver.name})`, () => {
    const t = useWarden(driver);
    const login = (email: string, password: string, headers: Record<string, string> = {}) =>
      t.node.app.inject({ method: 'POST', url: '/v1/auth/login', headers, payload: { email, password } });

    it('logs in: an HttpOnly SameSite=Strict cookie and a token, both of which authenticate', async () => {
      const a = await onboardTenant(t, 'login');
      const res = await login(a.ownerEmail.toUpperCase(), a.ownerPassword);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.user).toMatchObject({ id: a.ownerId, role: 'owner' });
      expect(body.token).toMatch(/^wdn_s_/);
      const cookie = cookieOf(res.headers['set-cookie']);
      expect(cookie.value).toBe(body.token);
      expect(cookie.header).toMatch(/HttpOnly/);
      expect(cookie.header).toMatch(/SameSite=Strict/);
      expect(cookie.header).toMatch(/Path=\//);
      expect(cookie.header).not.toMatch(/Secure/); // plain HTTP here
      for (const headers of [
        { cookie: `theme=dark; warden_session=${body.token}` },
        { authorization: `Bearer ${body.token}` },
      ]) {
        const me = await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers });
        expect(me.statusCode).toBe(200);
        expect(me.json()).toMatchObject({
          kind: 'user',
          id: a.ownerId,
          tenant_id: a.tenantId,
          roles: ['owner'],
        });
        expect(me.json().user.email).toBe(a.ownerEmail);
      }
    });

    it('logs out: the session ends everywhere and the cookie is cleared', async () => {
      const a = await onboardTenant(t, 'logout');
      const { token } = (await login(a.ownerEmail, a.ownerPassword)).json();
      const headers = { cookie: `warden_session=${token}` };
      expect((await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers })).statusCode).toBe(
        200,
      );
      const out = await t.node.app.inject({ method: 'POST', url: '/v1/auth/logout', headers });
      expect(out.statusCode).toBe(204);
      expect(cookieOf(out.headers['set-cookie']).header).toMatch(/Max-Age=0/);
      const after = await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers });
      expect(after.statusCode).toBe(401);
      expect(after.json().detail).toBe('session ended');
    });

    it('rotates: every login issues a new token and ends the session it was sent with', async () => {
      const a = await onboardTenant(t, 'rotate');
      const first = (await login(a.ownerEmail, a.ownerPassword)).json().token;
      const second = (
        await login(a.ownerEmail, a.ownerPassword, { cookie: `warden_session=${first}` })
      ).json().token;
      expect(second).not.toBe(first);
      const old = await t.node.app.inject({
        method: 'GET',
        url: '/v1/auth/user',
        headers: { authorization: `Bearer ${first}` },
      });
      expect(old.statusCode).toBe(401);
      const fresh = await t.node.app.inject({
        method: 'GET',
        url: '/v1/auth/user',
        headers: { authorization: `Bearer ${second}` },
      });
      expect(fresh.statusCode).toBe(200);
    });

    it('records login success and failure as audit records', async () => {
      const a = await onboardTenant(t, 'audit');
      await login(a.ownerEmail, 'wrong password!!');
      await login(a.ownerEmail, a.ownerPassword);
      const rows = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select('payload')
        .where('topic', '=', 'audit.record')
        .where('tenant_id', '=', a.tenantId)
        .execute();
      const logins = rows
        .map((r) => r.payload as Record<string, unknown>)
        .filter((p) => p.action === 'login');
      expect(logins).toContainEqual(
        expect.objectContaining({
          event_type: 'login.failed',
          outcome: 'failure',
          actor: `user:${a.ownerId}`,
        }),
      );
      expect(logins).toContainEqual(
        expect.objectContaining({ event_type: 'login.succeeded', outcome: 'success' }),
      );
      expect(JSON.stringify(logins)).not.toContain(a.ownerPassword);
    });
  });

  describe(`auth routes behind a TLS proxy (${driver.name})`, () => {
    const t = useWarden(driver, { trustProxy: true });
    it('marks the cookie Secure when the request came over TLS', async () => {
      const a = await onboardTenant(t, 'tls');
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        headers: { 'x-forwarded-proto': 'https' },
        payload: { email: a.ownerEmail, password: a.ownerPassword },
      });
      expect(res.statusCode).toBe(200);
      expect(String(res.headers['set-cookie'])).toMatch(/; Secure/);
    });
  });
}
