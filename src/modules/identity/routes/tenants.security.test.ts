import { describe, expect, it } from 'vitest';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`tenants routes, security (${driver.name})`, () => {
    const t = useWarden(driver);

    it.each([
      ['no credential', {}],
      ['a wrong bearer token', { authorization: 'Bearer wdn_op_wrong' }],
      ['a malformed authorization header', { authorization: 'Basic Zm9vOmJhcg==' }],
    ])('answers 401 unauthenticated with WWW-Authenticate for %s', async (_label, headers) => {
      for (const [method, url] of [
        ['POST', '/v1/tenants'],
        ['GET', '/v1/tenants'],
        ['GET', '/v1/tenants/01936f6e-0000-7000-8000-000000000000'],
      ] as const) {
        const res = await t.node.app.inject({
          method,
          url,
          headers,
          ...(method === 'POST' ? { payload: { name: 'x' } } : {}),
        });
        expect(res.statusCode).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="warden"/);
        expect(res.json()).toMatchObject({ type: '/problems/unauthenticated', status: 401 });
      }
    });

    it('creates nothing for an unauthenticated create', async () => {
      await t.node.app.inject({ method: 'POST', url: '/v1/tenants', payload: { name: 'Sneaky' } });
      const list = await t.node.app.inject({ method: 'GET', url: '/v1/tenants?limit=200', headers: t.auth });
      expect(list.json().items.map((x: { name: string }) => x.name)).not.toContain('Sneaky');
    });

    it('confines a tenant-scoped transaction to its own tenant by row-level security', async () => {
      const a = (
        await t.node.app.inject({
          method: 'POST',
          url: '/v1/tenants',
          headers: t.auth,
          payload: { name: 'Tenant A' },
        })
      ).json();
      const b = (
        await t.node.app.inject({
          method: 'POST',
          url: '/v1/tenants',
          headers: t.auth,
          payload: { name: 'Tenant B' },
        })
      ).json();
      // Even a query that forgets its WHERE clause sees only the tenant it runs as.
      const visible = await t.node.db.withTenant(a.id, (trx) =>
        trx.selectFrom('identity.tenants').select('id').execute(),
      );
      expect(visible.map((r) => r.id)).toEqual([a.id]);
      const svc = t.node.modules.find((m) => m.name === 'identity') as unknown as {
        service: { getTenant(p: unknown, id: string): Promise<unknown> };
      };
      const principalOfA = { kind: 'api_key', id: 'k', tenantId: a.id, roles: ['owner'] };
      await expect(svc.service.getTenant(principalOfA, b.id)).rejects.toMatchObject({ status: 404 });
      await expect(svc.service.getTenant(principalOfA, a.id)).resolves.toMatchObject({ id: a.id });
      // A write into another tenant is refused by the policy's WITH CHECK.
      await expect(
        t.node.db.withTenant(a.id, (trx) =>
          trx.updateTable('identity.tenants').set({ name: 'hijacked' }).where('id', '=', b.id).execute(),
        ),
      ).resolves.toEqual([expect.objectContaining({ numUpdatedRows: 0n })]);
    });

    it('never echoes the credential in responses or problem bodies', async () => {
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { authorization: 'Bearer wdn_op_secret_guess_123' },
        payload: { name: 'x' },
      });
      expect(res.body).not.toContain('secret_guess');
    });
  });
}
