import { describe, expect, it } from 'vitest';
import { drivers, useWarden } from '../../../../test/support/warden.js';

for (const driver of drivers()) {
  describe(`tenants routes, errors (${driver.name})`, () => {
    const t = useWarden(driver);
    const post = (payload: unknown, headers: Record<string, string> = {}) =>
      t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { ...t.auth, ...headers },
        payload: payload as object,
      });

    it.each([
      [{}, 'body.name', /must have required property/],
      [{ name: '' }, 'body.name', /fewer than 1/],
      [{ name: 'x'.repeat(201) }, 'body.name', /more than 200/],
      [{ name: ' padded ' }, 'body.name', /pattern/],
      [{ name: 42 }, 'body.name', /string/],
      [{ name: 'ok', extra: true }, 'body.extra', /unknown property "extra"/],
    ])('rejects %j with validation-failed naming %s', async (payload, field, message) => {
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      const body = res.json();
      expect(body).toMatchObject({ type: '/problems/validation-failed', status: 400, field });
      expect(body.detail).toMatch(message);
      expect(body.instance).toBe(res.headers['x-request-id']);
    });

    it('answers 409 tenant-name-taken for a duplicate name, ignoring case, and writes nothing', async () => {
      expect((await post({ name: 'Initech' })).statusCode).toBe(201);
      const res = await post({ name: 'INITECH' });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ type: '/problems/tenant-name-taken', field: 'body.name' });
      const count = await t.node.db.kysely
        .selectFrom('platform.outbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('topic', '=', 'identity.tenant.created')
        .where(({ ref }) => ref('payload'), '@>', JSON.stringify({ name: 'INITECH' }) as never)
        .executeTakeFirst();
      expect(Number(count?.n)).toBe(0);
    });

    it('answers 404 tenant-not-found for an unknown id and 400 for a malformed one', async () => {
      const missing = await t.node.app.inject({
        method: 'GET',
        url: '/v1/tenants/01936f6e-0000-7000-8000-000000000000',
        headers: t.auth,
      });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().type).toBe('/problems/tenant-not-found');
      const bad = await t.node.app.inject({ method: 'GET', url: '/v1/tenants/not-a-uuid', headers: t.auth });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({ type: '/problems/validation-failed', field: 'params.id' });
    });

    it('rejects a bad cursor and an out-of-range limit', async () => {
      const cursor = await t.node.app.inject({
        method: 'GET',
        url: '/v1/tenants?cursor=garbage',
        headers: t.auth,
      });
      expect(cursor.statusCode).toBe(400);
      expect(cursor.json()).toMatchObject({ type: '/problems/invalid-cursor', field: 'querystring.cursor' });
      const limit = await t.node.app.inject({
        method: 'GET',
        url: '/v1/tenants?limit=5000',
        headers: t.auth,
      });
      expect(limit.statusCode).toBe(400);
      expect(limit.json()).toMatchObject({ type: '/problems/validation-failed', field: 'querystring.limit' });
      expect(limit.json().detail).toMatch(/200/);
    });

    it('rejects malformed JSON, a wrong content type and an oversized body with their problem types', async () => {
      const malformed = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { ...t.auth, 'content-type': 'application/json' },
        payload: '{"name": ',
      });
      expect(malformed.statusCode).toBe(400);
      expect(malformed.json().type).toBe('/problems/malformed-json');
      const wrongType = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { ...t.auth, 'content-type': 'text/plain' },
        payload: 'name=x',
      });
      expect(wrongType.statusCode).toBe(415);
      expect(wrongType.json().type).toBe('/problems/unsupported-media-type');
      const huge = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { ...t.auth, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
      });
      expect(huge.statusCode).toBe(413);
      expect(huge.json().type).toBe('/problems/payload-too-large');
      const empty = await t.node.app.inject({
        method: 'POST',
        url: '/v1/tenants',
        headers: { ...t.auth, 'content-type': 'application/json' },
        payload: '',
      });
      expect(empty.statusCode).toBe(400);
      expect(empty.json().type).toBe('/problems/malformed-json');
    });

    it('refuses an Idempotency-Key reused for a different body, and a malformed key', async () => {
      const headers = { 'idempotency-key': 'reuse-1' };
      expect((await post({ name: 'Hooli' }, headers)).statusCode).toBe(201);
      const res = await post({ name: 'Pied Piper' }, headers);
      expect(res.statusCode).toBe(422);
      expect(res.json().type).toBe('/problems/idempotency-key-reused');
      const bad = await post({ name: 'Bad Key' }, { 'idempotency-key': 'spaces are not allowed' });
      expect(bad.statusCode).toBe(400);
      expect(bad.json()).toMatchObject({
        type: '/problems/validation-failed',
        field: 'header.idempotency-key',
      });
    });

    it('answers unknown routes with a not-found problem', async () => {
      const res = await t.node.app.inject({ method: 'GET', url: '/nope', headers: t.auth });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toMatchObject({ type: '/problems/not-found', status: 404 });
    });
  });
}
