import { describe, expect, it } from 'vitest';
import {
  createKey,
  type OnboardedTenant,
  onboardTenant,
} from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import type { IdentityModule } from '../../identity/index.js';
import type { AuditModule } from '../index.js';

const ROUTES = [
  ['POST', '/v1/audit/log', 'audit:write'],
  ['GET', '/v1/audit/logs', 'audit:read'],
  ['GET', '/v1/audit/logs/01936f6e-0000-7000-8000-000000000000', 'audit:read'],
  ['GET', '/v1/audit/sth', 'audit:read'],
  ['GET', '/v1/audit/consistency?first=1&second=1', 'audit:read'],
  ['POST', '/v1/audit/verify', 'audit:verify'],
  ['GET', '/v1/audit/export', 'audit:read'],
  ['GET', '/v1/audit/settings', 'audit:read'],
  ['PUT', '/v1/audit/settings', 'audit:write'],
  ['GET', '/v1/audit/key', 'audit:key'],
  [
    'GET',
    '/v1/audit/compliance/report?framework=soc2&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z',
    'audit:read',
  ],
] as const;

const bodyFor = (method: string, url: string) =>
  method === 'POST' && url.endsWith('/log')
    ? { product: 'crm', event_type: 'x.y', action: 'a', outcome: 'success' }
    : method === 'GET'
      ? undefined
      : {};

for (const driver of drivers()) {
  describe(`audit routes, security (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    let b: OnboardedTenant;
    let aRecord: string;

    it('onboards two tenants; A appends a record', async () => {
      a = await onboardTenant(t, 'audit-A');
      b = await onboardTenant(t, 'audit-B');
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/log',
        headers: a.auth,
        payload: { product: 'crm', event_type: 'secret.read', action: 'read', outcome: 'success' },
      });
      aRecord = res.json().record_id;
    });

    it('answers 401 without a credential on every audit route', async () => {
      for (const [method, url] of ROUTES) {
        const body = bodyFor(method, url);
        const res = await t.node.app.inject({ method, url, ...(body ? { payload: body } : {}) });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        expect(res.json().type).toBe('/problems/unauthenticated');
      }
    });

    it('answers 403 naming the permission to a role without it, on every route', async () => {
      // A key scoped to nothing audit-related holds none of the audit permissions.
      const none = await createKey(t, a.auth, { name: 'no-audit', role: 'admin', scopes: ['users:read'] });
      for (const [method, url, permission] of ROUTES) {
        const body = bodyFor(method, url);
        const res = await t.node.app.inject({
          method,
          url,
          headers: none.auth,
          ...(body ? { payload: body } : {}),
        });
        expect(res.statusCode, `${method} ${url}`).toBe(403);
        expect(res.json()).toMatchObject({ type: '/problems/forbidden' });
        expect(res.json().detail).toContain(permission);
      }
    });

    it('gives a viewer the public key but not the log (no audit:read)', async () => {
      const viewer = await createKey(t, a.auth, { name: 'viewer', role: 'viewer' });
      const logs = await t.node.app.inject({ method: 'GET', url: '/v1/audit/logs', headers: viewer.auth });
      expect(logs.statusCode).toBe(403);
      expect(logs.json()).toMatchObject({ type: '/problems/forbidden' });
      expect(logs.json().detail).toMatch(/audit:read/);
      const key = await t.node.app.inject({ method: 'GET', url: '/v1/audit/key', headers: viewer.auth });
      expect(key.statusCode).toBe(200);
    });

    it('lets an auditor read and verify but not append or change settings; a developer cannot verify', async () => {
      const auditor = await createKey(t, a.auth, { name: 'auditor', role: 'auditor' });
      const req = (
        method: 'GET' | 'POST' | 'PUT',
        url: string,
        headers: Record<string, string>,
        payload?: object,
      ) => t.node.app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
      expect((await req('GET', `/v1/audit/logs/${aRecord}`, auditor.auth)).statusCode).toBe(200);
      expect((await req('POST', '/v1/audit/verify', auditor.auth, {})).json().ok).toBe(true);
      expect(
        (
          await req('POST', '/v1/audit/log', auditor.auth, {
            product: 'x',
            event_type: 'x',
            action: 'x',
            outcome: 'x',
          })
        ).statusCode,
      ).toBe(403);
      expect((await req('PUT', '/v1/audit/settings', auditor.auth, { redaction_kinds: [] })).statusCode).toBe(
        403,
      );
      const developer = await createKey(t, a.auth, { name: 'developer', role: 'developer' });
      expect((await req('GET', '/v1/audit/logs', developer.auth)).statusCode).toBe(200);
      const verify = await req('POST', '/v1/audit/verify', developer.auth, {});
      expect(verify.statusCode).toBe(403);
      expect(verify.json().detail).toMatch(/audit:verify/);
    });

    it('keeps tenant A’s records from tenant B: not found, not listed, not verified, not exported', async () => {
      const get = await t.node.app.inject({
        method: 'GET',
        url: `/v1/audit/logs/${aRecord}`,
        headers: b.auth,
      });
      expect(get.statusCode).toBe(404);
      expect(get.json().type).toBe('/problems/audit-record-not-found');
      const verify = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/verify',
        headers: b.auth,
        payload: { record_id: aRecord },
      });
      expect(verify.statusCode).toBe(404);
      expect(verify.json().type).toBe('/problems/audit-record-not-found');
      const list = await t.node.app.inject({
        method: 'GET',
        url: '/v1/audit/logs?limit=200',
        headers: b.auth,
      });
      expect(list.json().items.every((r: { tenant_id: string }) => r.tenant_id === b.tenantId)).toBe(true);
      expect(JSON.stringify(list.json())).not.toContain(aRecord);
      const exported = await t.node.app.inject({ method: 'GET', url: '/v1/audit/export', headers: b.auth });
      expect(exported.json().manifest.tenant_id).toBe(b.tenantId);
      expect(JSON.stringify(exported.json())).not.toContain(aRecord);
      const sthB = (await t.node.app.inject({ method: 'GET', url: '/v1/audit/sth', headers: b.auth })).json();
      expect(sthB.log_id).toBe(b.tenantId);
      // An API key cannot pick another tenant with the operator's header.
      const hop = await t.node.app.inject({
        method: 'GET',
        url: `/v1/audit/logs/${aRecord}`,
        headers: { ...b.auth, 'x-warden-tenant': a.tenantId },
      });
      expect(hop.statusCode).toBe(404);
    });

    it('lets the operator read a tenant’s log only by naming it', async () => {
      const without = await t.node.app.inject({ method: 'GET', url: '/v1/audit/logs', headers: t.auth });
      expect(without.statusCode).toBe(400);
      expect(without.json().type).toBe('/problems/tenant-required');
      const named = await t.node.app.inject({
        method: 'GET',
        url: `/v1/audit/logs/${aRecord}`,
        headers: { ...t.auth, 'x-warden-tenant': a.tenantId },
      });
      expect(named.statusCode).toBe(200);
    });

    it('records a tenant API key’s 403 denial in the tenant’s log, readable through GET /logs', async () => {
      const viewer = await createKey(t, a.auth, { name: 'denied-viewer', role: 'viewer' });
      const denied = await t.node.app.inject({
        method: 'GET',
        url: '/v1/audit/export',
        headers: viewer.auth,
      });
      expect(denied.statusCode).toBe(403);
      await (t.node.modules.find((m) => m.name === 'identity') as IdentityModule).flush();
      await t.node.bus.flush();
      const res = await t.node.app.inject({
        method: 'GET',
        url: `/v1/audit/logs?event_type=authorization.denied&actor=${encodeURIComponent(`api_key:${viewer.id}`)}`,
        headers: a.auth,
      });
      expect(res.statusCode).toBe(200);
      expect(res.json().items).toHaveLength(1);
      const record = res.json().items[0];
      expect(record).toMatchObject({
        tenant_id: a.tenantId,
        product: 'identity',
        event_type: 'authorization.denied',
        actor: `api_key:${viewer.id}`,
        action: 'audit:read',
        outcome: 'denied',
        status: 'active',
        metadata: { permission: 'audit:read', roles: ['viewer'] },
      });
      // It is a leaf like any other: it proves into the signed head.
      const one = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/verify',
        headers: a.auth,
        payload: { record_id: record.record_id },
      });
      expect(one.json()).toMatchObject({ ok: true, checked: { records: 1 } });
      // The outbox event's id is the record's id, so a second delivery (a redelivery after a crash
      // between handling and marking done) appends nothing.
      const event = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .selectAll()
        .where('id', '=', record.record_id)
        .executeTakeFirstOrThrow();
      const consumer = (t.node.modules.find((m) => m.name === 'audit') as AuditModule).consumers!()[0]!;
      await t.node.db.transaction((trx) =>
        consumer.handle(
          {
            id: event.id,
            topic: event.topic,
            tenantId: event.tenant_id,
            payload: event.payload,
            createdAt: new Date(event.created_at).toISOString(),
          },
          trx,
        ),
      );
      const again = await t.node.app.inject({
        method: 'GET',
        url: `/v1/audit/logs?event_type=authorization.denied&actor=${encodeURIComponent(`api_key:${viewer.id}`)}`,
        headers: a.auth,
      });
      expect(again.json().items).toHaveLength(1);
    });
  });
}
