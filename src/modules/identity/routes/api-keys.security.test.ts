import { describe, expect, it } from 'vitest';
import { createKey, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import type { IdentityModule } from '../index.js';

for (const driver of drivers()) {
  describe(`api keys routes, security (${driver.name})`, () => {
    const t = useWarden(driver);
    const identity = () => t.node.modules.find((m) => m.name === 'identity') as IdentityModule;

    it('answers 401 without a credential on every api-key route', async () => {
      for (const [method, url] of [
        ['POST', '/v1/api-keys'],
        ['GET', '/v1/api-keys'],
        ['DELETE', '/v1/api-keys/01936f6e-0000-7000-8000-000000000000'],
      ] as const) {
        const res = await t.node.app.inject({
          method,
          url,
          ...(method === 'POST' ? { payload: { name: 'x' } } : {}),
        });
        expect(res.statusCode).toBe(401);
        expect(res.json().type).toBe('/problems/unauthenticated');
      }
    });

    it('answers 403 for a role without the permission, and records the denial off the hot path', async () => {
      const a = await onboardTenant(t, 'sec');
      const viewer = await createKey(t, a.auth, { name: 'viewer', role: 'viewer' });
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: viewer.auth,
        payload: { name: 'x' },
      });
      expect(res.statusCode).toBe(403);
      expect(res.json()).toMatchObject({ type: '/problems/forbidden' });
      expect(res.json().detail).toMatch(/apikeys:create/);
      const scoped = await createKey(t, a.auth, { name: 'scoped', role: 'admin', scopes: ['users:read'] });
      const narrowed = await t.node.app.inject({ method: 'GET', url: '/v1/api-keys', headers: scoped.auth });
      expect(narrowed.statusCode).toBe(403);
      await identity().flush();
      const rows = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select('payload')
        .where('topic', '=', 'audit.record')
        .where('tenant_id', '=', a.tenantId)
        .execute();
      const denials = rows
        .map((r) => r.payload as Record<string, unknown>)
        .filter((p) => p.outcome === 'denied');
      expect(denials).toContainEqual(
        expect.objectContaining({
          event_type: 'authorization.denied',
          actor: `api_key:${viewer.id}`,
          action: 'apikeys:create',
        }),
      );
      expect(denials).toContainEqual(
        expect.objectContaining({ actor: `api_key:${scoped.id}`, action: 'apikeys:read' }),
      );
    });

    it('keeps a key inside its own tenant: another tenant’s key ids are not found and not revoked', async () => {
      const a = await onboardTenant(t, 'A');
      const b = await onboardTenant(t, 'B');
      const res = await t.node.app.inject({
        method: 'DELETE',
        url: `/v1/api-keys/${a.keyId}`,
        headers: b.auth,
      });
      expect(res.statusCode).toBe(404);
      expect(res.json().type).toBe('/problems/api-key-not-found');
      expect(
        (await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: a.auth })).statusCode,
      ).toBe(200);
      const listB = await t.node.app.inject({ method: 'GET', url: '/v1/api-keys', headers: b.auth });
      expect(listB.json().items.every((k: { tenant_id: string }) => k.tenant_id === b.tenantId)).toBe(true);
      // An API key cannot pick another tenant with the operator's header.
      const hop = await t.node.app.inject({
        method: 'GET',
        url: '/v1/api-keys',
        headers: { ...b.auth, 'x-warden-tenant': a.tenantId },
      });
      expect(hop.json().items.every((k: { tenant_id: string }) => k.tenant_id === b.tenantId)).toBe(true);
    });

    it('stops every credential of a deactivated tenant at once', async () => {
      const a = await onboardTenant(t, 'deact');
      const k = await createKey(t, a.auth, { name: 'k', role: 'viewer' });
      expect(
        (await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: k.auth })).statusCode,
      ).toBe(200);
      const del = await t.node.app.inject({
        method: 'DELETE',
        url: `/v1/tenants/${a.tenantId}`,
        headers: t.auth,
      });
      expect(del.statusCode).toBe(200);
      for (const auth of [a.auth, k.auth]) {
        const res = await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: auth });
        expect(res.statusCode).toBe(401);
        expect(res.json().detail).toMatch(/deactivated/);
      }
    });

    it('never returns a secret after creation, nor echoes a presented key in a problem', async () => {
      const a = await onboardTenant(t, 'echo');
      const k = await createKey(t, a.auth, { name: 'k', role: 'viewer' });
      await t.node.app.inject({ method: 'DELETE', url: `/v1/api-keys/${k.id}`, headers: a.auth });
      const res = await t.node.app.inject({ method: 'GET', url: '/v1/api-keys', headers: k.auth });
      expect(res.body).not.toContain(k.key.slice(6));
      const list = await t.node.app.inject({ method: 'GET', url: '/v1/api-keys', headers: a.auth });
      expect(list.body).not.toContain(k.key.slice(14));
    });
  });
}
