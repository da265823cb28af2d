import { describe, expect, it } from 'vitest';
import {
  createKey,
  type OnboardedTenant,
  onboardTenant,
} from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`api keys routes, errors (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    const post = (payload: unknown, headers: Record<string, string> = a.auth) =>
      t.node.app.inject({ method: 'POST', url: '/v1/api-keys', headers, payload: payload as object });

    it('onboards a tenant for the cases below', async () => {
      a = await onboardTenant(t, 'err');
    });

    it.each([
      [{}, 'body.name', /required/],
      [{ name: '' }, 'body.name', /fewer than 1/],
      [{ name: 'x', role: 'superuser' }, 'body.role', /./],
      [{ name: 'x', scopes: ['not a scope'] }, 'body.scopes.0', /pattern/],
      [{ name: 'x', scopes: 'agents:*' }, 'body.scopes', /array/],
      [{ name: 'x', expires_at: 'tomorrow' }, 'body.expires_at', /date-time/],
      [{ name: 'x', extra: 1 }, 'body.extra', /unknown property/],
    ])('rejects %j with validation-failed naming %s', async (payload, field, message) => {
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ type: '/problems/validation-failed', field });
      expect(res.json().detail).toMatch(message);
    });

    it('rejects an expiry in the past with invalid-expiry', async () => {
      const res = await post({ name: 'old', expires_at: '2020-01-01T00:00:00Z' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ type: '/problems/invalid-expiry', field: 'body.expires_at' });
    });

    it('refuses a role above the caller’s with role-not-grantable, and writes nothing', async () => {
      const dev = await createKey(t, a.auth, { name: 'dev', role: 'developer' });
      const res = await post({ name: 'escalate', role: 'admin' }, dev.auth);
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ type: '/problems/role-not-grantable', field: 'body.role' });
      const owner = await post({ name: 'escalate', role: 'owner' }, dev.auth);
      expect(owner.json().type).toBe('/problems/role-not-grantable');
      const list = await t.node.app.inject({ method: 'GET', url: '/v1/api-keys?limit=200', headers: a.auth });
      expect(list.json().items.map((k: { name: string }) => k.name)).not.toContain('escalate');
    });

    it('refuses a scoped key minting a broader key', async () => {
      const scoped = await createKey(t, a.auth, { name: 'scoped', role: 'admin', scopes: ['apikeys:*'] });
      const unscoped = await post({ name: 'wide', role: 'viewer' }, scoped.auth);
      expect(unscoped.statusCode).toBe(403);
      expect(unscoped.json()).toMatchObject({ type: '/problems/role-not-grantable', field: 'body.scopes' });
      const narrower = await post({ name: 'narrow', role: 'viewer', scopes: ['apikeys:read'] }, scoped.auth);
      expect(narrower.statusCode).toBe(201);
    });

    it('answers api-key-not-found for an unknown id and 400 for a malformed one', async () => {
      const missing = await t.node.app.inject({
        method: 'DELETE',
        url: '/v1/api-keys/01936f6e-0000-7000-8000-000000000000',
        headers: a.auth,
      });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().type).toBe('/problems/api-key-not-found');
      const bad = await t.node.app.inject({ method: 'DELETE', url: '/v1/api-keys/nope', headers: a.auth });
      expect(bad.json()).toMatchObject({ type: '/problems/validation-failed', field: 'params.id' });
    });

    it('answers 401 for an expired key, also once it is cached', async () => {
      const soon = new Date(Date.now() + 1500).toISOString();
      const k = await createKey(t, a.auth, { name: 'expiring', role: 'viewer', expires_at: soon });
      expect(
        (await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: k.auth })).statusCode,
      ).toBe(200);
      await new Promise((r) => setTimeout(r, 1600));
      const res = await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: k.auth });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ type: '/problems/unauthenticated', detail: 'API key expired' });
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    });

    it('answers 401 for a revoked, an unknown and a malformed key', async () => {
      const k = await createKey(t, a.auth, { name: 'to-revoke', role: 'viewer' });
      await t.node.app.inject({ method: 'DELETE', url: `/v1/api-keys/${k.id}`, headers: a.auth });
      const cases: [string, string][] = [
        [k.key, 'API key revoked'],
        [`wdn_k_${'A'.repeat(43)}`, 'unknown API key'],
        ['wdn_k_short', 'malformed api key'],
      ];
      for (const [key, detail] of cases) {
        const res = await t.node.app.inject({
          method: 'GET',
          url: '/v1/api-keys',
          headers: { authorization: `Bearer ${key}` },
        });
        expect(res.statusCode).toBe(401);
        expect(res.json()).toMatchObject({ type: '/problems/unauthenticated', detail });
      }
    });

    it('answers tenant-required when the operator names no tenant', async () => {
      const res = await post({ name: 'x' }, t.auth);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        type: '/problems/tenant-required',
        field: 'header.x-warden-tenant',
      });
      const unknown = await post(
        { name: 'x' },
        { ...t.auth, 'x-warden-tenant': '01936f6e-0000-7000-8000-000000000000' },
      );
      expect(unknown.statusCode).toBe(404);
      expect(unknown.json().type).toBe('/problems/tenant-not-found');
    });
  });
}
