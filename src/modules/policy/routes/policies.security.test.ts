import { describe, expect, it } from 'vitest';
import {
  createKey,
  type OnboardedTenant,
  onboardTenant,
} from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import { policyClient, sandboxRules, uniqueName } from '../test/policy-fixtures.js';

for (const driver of drivers()) {
  describe(`policy routes, security (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    let b: OnboardedTenant;
    let policyId = '';

    it('sets up two tenants and a policy in the first', async () => {
      a = await onboardTenant(t, 'policy-sec-a');
      b = await onboardTenant(t, 'policy-sec-b');
      policyId = (await policyClient(t, a.auth).create({ name: uniqueName(), rules: sandboxRules })).json()
        .policy.id;
    });

    it('answers 401 without a credential on every policy route', async () => {
      const id = '01936f6e-0000-7000-8000-000000000000';
      for (const [method, url] of [
        ['POST', '/v1/oversight/policies'],
        ['GET', '/v1/oversight/policies'],
        ['GET', `/v1/oversight/policies/${id}`],
        ['GET', `/v1/oversight/policies/${id}/versions`],
        ['POST', `/v1/oversight/policies/${id}/versions`],
        ['GET', `/v1/oversight/policies/${id}/versions/1`],
        ['POST', `/v1/oversight/policies/${id}/versions/1/propose`],
        ['POST', `/v1/oversight/policies/${id}/versions/1/enforce`],
        ['POST', `/v1/oversight/policies/${id}/versions/1/revoke`],
        ['POST', `/v1/oversight/policies/${id}/versions/1/test`],
        ['POST', `/v1/oversight/policies/${id}/versions/1/shadow`],
        ['GET', `/v1/oversight/policies/${id}/versions/1/shadow-report`],
        ['POST', `/v1/oversight/policies/${id}/rollback`],
        ['POST', `/v1/oversight/policies/${id}/simulate`],
        ['POST', '/v1/oversight/evaluate'],
        ['POST', '/v1/oversight/evaluate/batch'],
      ] as const) {
        const res = await t.node.app.inject({ method, url, ...(method === 'POST' ? { payload: {} } : {}) });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        expect(res.json().type).toBe('/problems/unauthenticated');
      }
    });

    it('lets authors (developer) create and propose but not enforce, revoke or roll back', async () => {
      const dev = await createKey(t, a.auth, { name: 'author', role: 'developer' });
      const api = policyClient(t, dev.auth);
      const created = await api.create({ name: uniqueName('dev'), rules: sandboxRules });
      expect(created.statusCode).toBe(201);
      const id = created.json().policy.id;
      expect((await api.transition(id, 1, 'propose')).statusCode).toBe(200);
      for (const res of [
        await api.transition(id, 1, 'enforce'),
        await api.transition(id, 1, 'revoke'),
        await api.call('POST', `/v1/oversight/policies/${id}/rollback`, { reason: 'x' }),
      ]) {
        expect(res.statusCode).toBe(403);
        expect(res.json().type).toBe('/problems/forbidden');
      }
      // An admin enforces what the author proposed.
      const admin = await createKey(t, a.auth, { name: 'admin', role: 'admin' });
      expect((await policyClient(t, admin.auth).transition(id, 1, 'enforce')).statusCode).toBe(200);
    });

    it('lets a viewer read but not write or simulate', async () => {
      const viewer = await createKey(t, a.auth, { name: 'viewer', role: 'viewer' });
      const api = policyClient(t, viewer.auth);
      expect((await api.call('GET', `/v1/oversight/policies/${policyId}`)).statusCode).toBe(200);
      expect((await api.create({ name: uniqueName(), rules: sandboxRules })).statusCode).toBe(403);
      expect(
        (await api.call('POST', `/v1/oversight/policies/${policyId}/versions/1/test`, {})).statusCode,
      ).toBe(403);
      expect(
        (await api.call('POST', `/v1/oversight/policies/${policyId}/simulate`, { version: 1 })).statusCode,
      ).toBe(403);
    });

    it('hides another tenant’s policy behind 404 on every route', async () => {
      const other = policyClient(t, b.auth);
      const base = `/v1/oversight/policies/${policyId}`;
      for (const [method, url, payload] of [
        ['GET', base, undefined],
        ['GET', `${base}/versions`, undefined],
        ['GET', `${base}/versions/1`, undefined],
        ['POST', `${base}/versions`, { rules: sandboxRules }],
        ['POST', `${base}/versions/1/propose`, { reason: 'x' }],
        ['POST', `${base}/versions/1/enforce`, { reason: 'x' }],
        ['POST', `${base}/versions/1/revoke`, { reason: 'x' }],
        ['POST', `${base}/versions/1/test`, {}],
        ['POST', `${base}/versions/1/shadow`, { enabled: true, reason: 'x' }],
        ['GET', `${base}/versions/1/shadow-report`, undefined],
        ['POST', `${base}/rollback`, { reason: 'x' }],
        ['POST', `${base}/simulate`, { version: 1 }],
      ] as const) {
        const res = await other.call(method, url, payload);
        expect(res.statusCode, `${method} ${url}`).toBe(404);
        expect(res.json().type).toBe('/problems/policy-not-found');
      }
      const list = await other.call('GET', '/v1/oversight/policies?limit=200');
      expect(list.json().items.map((p: { id: string }) => p.id)).not.toContain(policyId);
    });

    it('lets the operator act in a tenant named by X-Warden-Tenant, and only there', async () => {
      const asOperator = { ...t.auth, 'x-warden-tenant': a.tenantId };
      const res = await t.node.app.inject({
        method: 'GET',
        url: `/v1/oversight/policies/${policyId}`,
        headers: asOperator,
      });
      expect(res.statusCode).toBe(200);
      const wrong = { ...t.auth, 'x-warden-tenant': b.tenantId };
      const hidden = await t.node.app.inject({
        method: 'GET',
        url: `/v1/oversight/policies/${policyId}`,
        headers: wrong,
      });
      expect(hidden.statusCode).toBe(404);
      const none = await t.node.app.inject({ method: 'GET', url: '/v1/oversight/policies', headers: t.auth });
      expect(none.json().type).toBe('/problems/tenant-required');
    });
  });
}
