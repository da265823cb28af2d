import { describe, expect, it } from 'vitest';
import { createKey, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import type { IdentityModule } from '../index.js';

for (const driver of drivers()) {
  describe(`api keys routes, happy paths (${driver.name})`, () => {
    const t = useWarden(driver);
    const identity = () => t.node.modules.find((m) => m.name === 'identity') as IdentityModule;

    it('creates a key shown once, stored hashed, listed with its prefix but never its secret', async () => {
      const a = await onboardTenant(t, 'keys');
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: a.auth,
        payload: { name: 'ci', role: 'developer', scopes: ['agents:*'] },
      });
      expect(res.statusCode).toBe(201);
      const key = res.json();
      expect(key).toMatchObject({
        name: 'ci',
        role: 'developer',
        scopes: ['agents:*'],
        tenant_id: a.tenantId,
      });
      expect(key.key).toMatch(/^wdn_k_[A-Za-z0-9_-]{43}$/);
      expect(key.key.startsWith(key.prefix)).toBe(true);
      expect(res.headers.location).toBe(`/v1/api-keys/${key.id}`);

      const list = await t.node.app.inject({ method: 'GET', url: '/v1/api-keys', headers: a.auth });
      expect(list.statusCode).toBe(200);
      expect(list.body).not.toContain(key.key);
      expect(list.json().items.map((k: { id: string }) => k.id)).toContain(key.id);

      const stored = await t.node.db.kysely
        .selectFrom('identity.api_keys')
        .select(['secret_hash', 'prefix'])
        .where('id', '=', key.id)
        .executeTakeFirstOrThrow();
      expect(Buffer.from(stored.secret_hash as Uint8Array).toString('utf8')).not.toContain(key.key);
      expect(Buffer.from(stored.secret_hash as Uint8Array)).toHaveLength(32);
    });

    it('authenticates with the new key inside its own tenant, and records last use', async () => {
      const a = await onboardTenant(t, 'use');
      const k = await createKey(t, a.auth, { name: 'reader', role: 'viewer' });
      const me = await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: k.auth });
      expect(me.statusCode).toBe(200);
      expect(me.json()).toMatchObject({
        kind: 'api_key',
        id: k.id,
        tenant_id: a.tenantId,
        roles: ['viewer'],
      });
      const tenant = await t.node.app.inject({
        method: 'GET',
        url: `/v1/tenants/${a.tenantId}`,
        headers: k.auth,
      });
      expect(tenant.statusCode).toBe(200);
      await identity().flush();
      const list = await t.node.app.inject({ method: 'GET', url: '/v1/api-keys', headers: a.auth });
      const listed = list.json().items.find((x: { id: string }) => x.id === k.id);
      expect(listed.last_used_at).not.toBeNull();
    });

    it('revokes a key: it stops working at once, and revoking again is a no-op', async () => {
      const a = await onboardTenant(t, 'revoke');
      const k = await createKey(t, a.auth, { name: 'short-lived', role: 'viewer' });
      expect(
        (await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: k.auth })).statusCode,
      ).toBe(200);
      const del = await t.node.app.inject({ method: 'DELETE', url: `/v1/api-keys/${k.id}`, headers: a.auth });
      expect(del.statusCode).toBe(200);
      expect(del.json().revoked_at).not.toBeNull();
      const after = await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: k.auth });
      expect(after.statusCode).toBe(401);
      expect(after.json()).toMatchObject({ type: '/problems/unauthenticated', detail: 'API key revoked' });
      const again = await t.node.app.inject({
        method: 'DELETE',
        url: `/v1/api-keys/${k.id}`,
        headers: a.auth,
      });
      expect(again.statusCode).toBe(200);
      expect(again.json().revoked_at).toBe(del.json().revoked_at);
    });

    it('a revocation written by another node reaches this node through the revocation log', async () => {
      const a = await onboardTenant(t, 'remote');
      const k = await createKey(t, a.auth, { name: 'cached', role: 'viewer' });
      expect(
        (await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: k.auth })).statusCode,
      ).toBe(200);
      // Another node revokes: the row and the log entry change, this node's cache does not.
      await t.node.db.transaction(async (trx) => {
        await trx
          .updateTable('identity.api_keys')
          .set({ revoked_at: new Date() })
          .where('id', '=', k.id)
          .execute();
        await trx
          .insertInto('identity.credential_revocations')
          .values({ tenant_id: a.tenantId, kind: 'api_key', subject_id: k.id })
          .execute();
      });
      expect(
        (await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: k.auth })).statusCode,
      ).toBe(200);
      await identity().humans.syncRevocations();
      expect(
        (await t.node.app.inject({ method: 'GET', url: '/v1/auth/user', headers: k.auth })).statusCode,
      ).toBe(401);
    });

    it('publishes identity.api_key.created and an audit.record without the secret', async () => {
      const a = await onboardTenant(t, 'events');
      const k = await createKey(t, a.auth, { name: 'audited', role: 'viewer' });
      await t.node.app.inject({ method: 'DELETE', url: `/v1/api-keys/${k.id}`, headers: a.auth });
      const rows = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select(['topic', 'payload'])
        .where('tenant_id', '=', a.tenantId)
        .execute();
      const text = JSON.stringify(rows);
      expect(text).not.toContain(k.key);
      const audit = rows
        .filter((r) => r.topic === 'audit.record')
        .map((r) => r.payload as Record<string, unknown>);
      expect(audit).toContainEqual(
        expect.objectContaining({
          product: 'identity',
          event_type: 'api_key.created',
          resource_id: k.id,
          outcome: 'success',
        }),
      );
      expect(audit).toContainEqual(
        expect.objectContaining({
          event_type: 'api_key.revoked',
          resource_id: k.id,
          actor: `api_key:${a.keyId}`,
        }),
      );
      expect(rows.map((r) => r.topic)).toContain('identity.api_key.created');
    });

    it('lets the operator manage keys of a tenant named by X-Warden-Tenant', async () => {
      const a = await onboardTenant(t, 'op');
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/api-keys',
        headers: { ...t.auth, 'x-warden-tenant': a.tenantId },
        payload: { name: 'from-operator', role: 'admin' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        tenant_id: a.tenantId,
        role: 'admin',
        created_by: 'operator:operator',
      });
    });
  });
}
