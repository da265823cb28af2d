import { describe, expect, it } from 'vitest';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`tenants routes, happy paths (${driver.name})`, () => {
    const t = useWarden(driver);

    it('creates a tenant and returns it with its id, Location and ETag', async () => {
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: t.auth,
        payload: { name: 'Acme' },
      });
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(body).toMatchObject({ name: 'Acme', status: 'active', version: 1 });
      expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.headers.location).toBe(`/v1/tenants/${body.id}`);
      expect(res.headers.etag).toBe('"1"');
      const got = await t.node.app.inject({ method: 'GET', url: `/v1/tenants/${body.id}`, headers: t.auth });
      expect(got.statusCode).toBe(200);
      expect(got.json()).toEqual(body);
    });

    it('lists tenants in creation order with cursors that reach every tenant once', async () => {
      const names = Array.from({ length: 7 }, (_, i) => `Paged ${i}`);
      for (const name of names) {
        const r = await t.node.app.inject({
          method: 'POST',
          url: '/v1/tenants',
          headers: t.auth,
          payload: { name },
        });
        expect(r.statusCode).toBe(201);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await t.node.app.inject({
          method: 'GET',
          url: `/v1/tenants?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
          headers: t.auth,
        });
        expect(res.statusCode).toBe(200);
        const page = res.json() as { items: { name: string }[]; next_cursor: string | null };
        expect(page.items.length).toBeLessThanOrEqual(3);
        seen.push(...page.items.map((i) => i.name));
        cursor = page.next_cursor;
        pages++;
      } while (cursor && pages < 20);
      expect(seen.filter((n) => n.startsWith('Paged'))).toEqual(names);
      expect(new Set(seen).size).toBe(seen.length);
    });

    it('replays the first response for a retried create with the same Idempotency-Key', async () => {
      const headers = { ...t.auth, 'idempotency-key': 'create-globex-1' };
      const first = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers,
        payload: { name: 'Globex' },
      });
      const second = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers,
        payload: { name: 'Globex' },
      });
      expect(first.statusCode).toBe(201);
      expect(second.statusCode).toBe(201);
      expect(second.headers['idempotent-replayed']).toBe('true');
      expect(second.json().id).toBe(first.json().id);
    });

    it('publishes identity.tenant.created through the outbox in the same transaction', async () => {
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: t.auth,
        payload: { name: 'Evented' },
      });
      const id = res.json().id as string;
      const rows = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select(['topic', 'tenant_id', 'payload'])
        .where('tenant_id', '=', id)
        .execute();
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        topic: 'identity.tenant.created',
        payload: { tenant_id: id, name: 'Evented' },
      });
    });
  });
}
