import { describe, expect, it } from 'vitest';
import { createKey, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`tenant update, deactivate and onboard, security (${driver.name})`, () => {
    const t = useWarden(driver);

    it('answers 401 without a credential', async () => {
      const id = '01936f6e-0000-7000-8000-000000000000';
      for (const [method, url] of [
        ['PUT', `/v1/tenants/${id}`],
        ['DELETE', `/v1/tenants/${id}`],
        ['POST', `/v1/tenants/${id}/onboard`],
      ] as const) {
        const res = await t.node.app.inject({ method, url, ...(method !== 'DELETE' ? { payload: {} } : {}) });
        expect(res.statusCode).toBe(401);
      }
    });

    it('keeps deactivation and onboarding to the operator (403 even for an owner)', async () => {
      const a = await onboardTenant(t, 'sec');
      const del = await t.node.app.inject({
        method: 'DELETE',
        url: `/v1/tenants/${a.tenantId}`,
        headers: a.auth,
      });
      expect(del.statusCode).toBe(403);
      expect(del.json().type).toBe('/problems/forbidden');
      const ob = await t.node.app.inject({
        method: 'POST',
        url: `/v1/tenants/${a.tenantId}/onboard`,
        headers: a.auth,
        payload: { owner_email: 'x@example.com', owner_password: 'long enough password' },
      });
      expect(ob.statusCode).toBe(403);
    });

    it('answers 403 to a viewer renaming its tenant, 404 to an owner renaming another tenant', async () => {
      const a = await onboardTenant(t, 'A');
      const b = await onboardTenant(t, 'B');
      const viewer = await createKey(t, a.auth, { name: 'v', role: 'viewer' });
      const res = await t.node.app.inject({
        method: 'PUT',
        url: `/v1/tenants/${a.tenantId}`,
        headers: viewer.auth,
        payload: { name: 'viewer rename' },
      });
      expect(res.statusCode).toBe(403);
      const cross = await t.node.app.inject({
        method: 'PUT',
        url: `/v1/tenants/${a.tenantId}`,
        headers: b.auth,
        payload: { name: 'hijacked' },
      });
      expect(cross.statusCode).toBe(404);
      expect(cross.json().type).toBe('/problems/tenant-not-found');
      const got = await t.node.app.inject({
        method: 'GET',
        url: `/v1/tenants/${a.tenantId}`,
        headers: t.auth,
      });
      expect(got.json().name).not.toBe('hijacked');
    });
  });
}
