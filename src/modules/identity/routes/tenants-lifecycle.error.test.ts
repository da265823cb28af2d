import { describe, expect, it } from 'vitest';
import { drivers, useWarden } from '../../../../test/support/warden.js';

const MISSING = '01936f6e-0000-7000-8000-000000000000';

for (const driver of drivers()) {
  describe(`tenant update, deactivate and onboard, errors (${driver.name})`, () => {
    const t = useWarden(driver);
    const create = async (name: string) =>
      (
        await t.node.app.inject({ method: 'POST', url: '/v1/tenants', headers: t.auth, payload: { name } })
      ).json();
    const put = (id: string, payload: unknown, headers: Record<string, string> = {}) =>
      t.node.app.inject({
        method: 'PUT',
        url: `/v1/tenants/${id}`,
        headers: { ...t.auth, ...headers },
        payload: payload as object,
      });
    const onboard = (id: string, payload: unknown) =>
      t.node.app.inject({
        method: 'POST',
        url: `/v1/tenants/${id}/onboard`,
        headers: t.auth,
        payload: payload as object,
      });

    it('answers 412 precondition-failed for a stale If-Match and changes nothing', async () => {
      const tenant = await create('Stale');
      expect((await put(tenant.id, { name: 'Stale 2' })).statusCode).toBe(200);
      const res = await put(tenant.id, { name: 'Lost Update' }, { 'if-match': '"1"' });
      expect(res.statusCode).toBe(412);
      expect(res.json()).toMatchObject({ type: '/problems/precondition-failed', field: 'header.if-match' });
      const got = await t.node.app.inject({
        method: 'GET',
        url: `/v1/tenants/${tenant.id}`,
        headers: t.auth,
      });
      expect(got.json()).toMatchObject({ name: 'Stale 2', version: 2 });
    });

    it('answers invalid-if-match for a malformed If-Match', async () => {
      const tenant = await create('Weak');
      const res = await put(tenant.id, { name: 'x' }, { 'if-match': 'W/"1"' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ type: '/problems/invalid-if-match', field: 'header.if-match' });
    });

    it('answers tenant-name-taken for a rename onto another tenant’s name', async () => {
      await create('Taken Name');
      const tenant = await create('Free Name');
      const res = await put(tenant.id, { name: 'taken name' });
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ type: '/problems/tenant-name-taken', field: 'body.name' });
    });

    it('answers validation-failed naming the field for a bad body', async () => {
      const tenant = await create('Valid');
      for (const [payload, field] of [
        [{}, 'body.name'],
        [{ name: ' padded ' }, 'body.name'],
        [{ name: 'x', status: 'active' }, 'body.status'],
      ] as const) {
        const res = await put(tenant.id, payload);
        expect(res.statusCode).toBe(400);
        expect(res.json()).toMatchObject({ type: '/problems/validation-failed', field });
      }
    });

    it('answers tenant-not-found for update, deactivate and onboard of an unknown tenant', async () => {
      expect((await put(MISSING, { name: 'x' })).json().type).toBe('/problems/tenant-not-found');
      const del = await t.node.app.inject({
        method: 'DELETE',
        url: `/v1/tenants/${MISSING}`,
        headers: t.auth,
      });
      expect(del.statusCode).toBe(404);
      expect(del.json().type).toBe('/problems/tenant-not-found');
      const ob = await onboard(MISSING, {
        owner_email: 'x@example.com',
        owner_password: 'long enough password',
      });
      expect(ob.statusCode).toBe(404);
      expect(ob.json().type).toBe('/problems/tenant-not-found');
    });

    it('answers tenant-deactivated for updating or onboarding a deactivated tenant', async () => {
      const tenant = await create('Gone');
      await t.node.app.inject({ method: 'DELETE', url: `/v1/tenants/${tenant.id}`, headers: t.auth });
      const res = await put(tenant.id, { name: 'Back' });
      expect(res.statusCode).toBe(409);
      expect(res.json().type).toBe('/problems/tenant-deactivated');
      const ob = await onboard(tenant.id, {
        owner_email: 'gone@example.com',
        owner_password: 'long enough password',
      });
      expect(ob.json().type).toBe('/problems/tenant-deactivated');
    });

    it('answers tenant-already-onboarded for a second onboarding, and email-taken without partial writes', async () => {
      const tenant = await create('Twice');
      const body = { owner_email: 'twice@example.com', owner_password: 'long enough password' };
      expect((await onboard(tenant.id, body)).statusCode).toBe(201);
      const again = await onboard(tenant.id, { ...body, owner_email: 'other@example.com' });
      expect(again.statusCode).toBe(409);
      expect(again.json().type).toBe('/problems/tenant-already-onboarded');
      const other = await create('Collides');
      const taken = await onboard(other.id, body);
      expect(taken.statusCode).toBe(409);
      expect(taken.json()).toMatchObject({ type: '/problems/email-taken', field: 'body.owner_email' });
      // Nothing of the failed onboarding stayed: no root key, no key, no marker.
      expect(await t.node.secrets.get(t.node.db.kysely, `tenant/${other.id}/root-key`)).toBeUndefined();
      const keys = await t.node.db.kysely
        .selectFrom('identity.api_keys')
        .select('id')
        .where('tenant_id', '=', other.id)
        .execute();
      expect(keys).toHaveLength(0);
    });

    it.each([
      [{ owner_email: 'not-an-email', owner_password: 'long enough password' }, 'body.owner_email'],
      [{ owner_email: 'a@example.com', owner_password: 'short' }, 'body.owner_password'],
      [{ owner_email: 'a@example.com' }, 'body.owner_password'],
    ])('rejects onboarding body %j naming %s', async (payload, field) => {
      const tenant = await create(`Bad Body ${field} ${Math.random()}`);
      const res = await onboard(tenant.id, payload);
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ type: '/problems/validation-failed', field });
    });
  });
}
