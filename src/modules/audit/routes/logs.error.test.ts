import { describe, expect, it } from 'vitest';
import { type OnboardedTenant, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';

const UNKNOWN_ID = '01936f6e-0000-7000-8000-000000000000';
const valid = { product: 'runtime', event_type: 'sandbox.created', action: 'create', outcome: 'success' };

for (const driver of drivers()) {
  describe(`audit routes, errors (${driver.name})`, () => {
    const t = useWarden(driver, { bodyLimitBytes: 256 * 1024 });
    let a: OnboardedTenant;
    const get = (url: string) => t.node.app.inject({ method: 'GET', url, headers: a.auth });
    const post = (url: string, payload: unknown, headers: Record<string, string> = {}) =>
      t.node.app.inject({
        method: 'POST',
        url,
        headers: { ...a.auth, ...headers },
        payload: payload as object,
      });
    const expectProblem = (
      res: { statusCode: number; json(): Record<string, unknown> },
      status: number,
      type: string,
      field?: string,
    ) => {
      expect(res.statusCode).toBe(status);
      expect(res.json()).toMatchObject({ type: `/problems/${type}`, status, ...(field ? { field } : {}) });
      expect(String(res.json().detail).length).toBeGreaterThan(5);
    };

    it('onboards a tenant with a few records', async () => {
      a = await onboardTenant(t, 'audit-err');
      for (let i = 0; i < 3; i++) expect((await post('/v1/audit/log', valid)).statusCode).toBe(201);
    });

    it.each([
      [{ ...valid, product: undefined }, 'body.product'],
      [{ ...valid, product: 'Not A Product' }, 'body.product'],
      [{ ...valid, event_type: '' }, 'body.event_type'],
      [{ ...valid, outcome: 'OK!' }, 'body.outcome'],
      [{ ...valid, action: 'x'.repeat(201) }, 'body.action'],
      [{ ...valid, actor: '' }, 'body.actor'],
      [{ ...valid, metadata: [1, 2] }, 'body.metadata'],
      [{ ...valid, leaf_index: 4 }, 'body.leaf_index'],
    ])('POST /log refuses %j with validation-failed naming %s', async (payload, field) => {
      expectProblem(await post('/v1/audit/log', payload), 400, 'validation-failed', field);
    });

    it('POST /log refuses metadata over 64 KiB as canonical JSON, naming the field', async () => {
      const res = await post('/v1/audit/log', { ...valid, metadata: { blob: 'x'.repeat(70_000) } });
      expectProblem(res, 400, 'audit-invalid-record', 'metadata');
      expect(res.json().detail).toMatch(/65536 bytes/);
    });

    it('POST /log refuses a body over the node’s limit with payload-too-large, and a non-JSON body', async () => {
      const res = await post('/v1/audit/log', { ...valid, metadata: { blob: 'x'.repeat(300_000) } });
      expectProblem(res, 413, 'payload-too-large');
      const text = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/log',
        headers: { ...a.auth, 'content-type': 'text/plain' },
        payload: 'hello',
      });
      expectProblem(text, 415, 'unsupported-media-type');
    });

    it('POST /log refuses a string JCS cannot represent (a lone surrogate)', async () => {
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/log',
        headers: { ...a.auth, 'content-type': 'application/json' },
        payload: `{"product":"runtime","event_type":"x.y","action":"a","outcome":"success","metadata":{"note":"\\ud800"}}`,
      });
      expectProblem(res, 400, 'audit-invalid-record', 'metadata.note');
    });

    it.each([
      ['cursor=not-a-cursor', 400, 'audit-invalid-cursor', 'query.cursor'],
      [`cursor=${Buffer.from('L-1').toString('base64url')}`, 400, 'audit-invalid-cursor', 'query.cursor'],
      [`cursor=${'A'.repeat(65)}`, 400, 'validation-failed', 'querystring.cursor'],
      ['from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z', 400, 'audit-invalid-range', 'query.from'],
      ['from=yesterday', 400, 'validation-failed', 'querystring.from'],
      ['limit=0', 400, 'validation-failed', 'querystring.limit'],
      ['limit=201', 400, 'validation-failed', 'querystring.limit'],
      ['product=Bad%20Product', 400, 'validation-failed', 'querystring.product'],
      ['colour=red', 400, 'validation-failed', 'querystring.colour'],
    ])('GET /logs?%s answers %i %s', async (query, status, type, field) => {
      expectProblem(await get(`/v1/audit/logs?${query}`), status, type, field);
    });

    it('GET /logs/{id} answers audit-record-not-found for an unknown id and validation-failed for a malformed one', async () => {
      expectProblem(await get(`/v1/audit/logs/${UNKNOWN_ID}`), 404, 'audit-record-not-found');
      expectProblem(await get('/v1/audit/logs/nope'), 400, 'validation-failed', 'params.id');
    });

    it('GET /sth?tree_size answers invalid-range past the log, not-found for a size never signed', async () => {
      const sth = (await get('/v1/audit/sth')).json();
      const beyond = await get(`/v1/audit/sth?tree_size=${sth.tree_size + 1}`);
      expectProblem(beyond, 400, 'audit-invalid-range', 'query.tree_size');
      expect(beyond.json().detail).toContain(`log's size (${sth.tree_size})`);
      // Append one record and sign; the size just before it was signed only if a head landed there.
      const heads = await t.node.db.kysely
        .selectFrom('audit.tree_heads')
        .select('tree_size')
        .where('tenant_id', '=', a.tenantId)
        .execute();
      const signed = new Set(heads.map((h) => Number(h.tree_size)));
      const unsigned = [...Array(sth.tree_size).keys()].find((n) => n > 0 && !signed.has(n));
      if (unsigned !== undefined)
        expectProblem(await get(`/v1/audit/sth?tree_size=${unsigned}`), 404, 'audit-tree-head-not-found');
      else console.warn('[note] every size of this log had a head signed; the 404 case is covered below');
      await t.node.db.kysely
        .deleteFrom('audit.tree_heads')
        .where('tenant_id', '=', a.tenantId)
        .where('tree_size', '=', 1)
        .execute();
      expectProblem(
        await get('/v1/audit/sth?tree_size=1'),
        404,
        'audit-tree-head-not-found',
        'query.tree_size',
      );
      expectProblem(
        await get('/v1/audit/sth?tree_size=-1'),
        400,
        'validation-failed',
        'querystring.tree_size',
      );
      expectProblem(
        await get('/v1/audit/sth?tree_size=abc'),
        400,
        'validation-failed',
        'querystring.tree_size',
      );
    });

    it.each([
      ['first=3&second=2', 400, 'audit-invalid-range', 'query.first'],
      ['first=1&second=1000000', 400, 'audit-invalid-range', 'query.second'],
      ['first=0&second=2', 400, 'validation-failed', 'querystring.first'],
      ['second=2', 400, 'validation-failed', 'querystring.first'],
      ['first=1', 400, 'validation-failed', 'querystring.second'],
    ])('GET /consistency?%s answers %i %s', async (query, status, type, field) => {
      expectProblem(await get(`/v1/audit/consistency?${query}`), status, type, field);
    });

    it.each([
      [{ record_id: UNKNOWN_ID }, 404, 'audit-record-not-found', undefined],
      [{ from_index: 2, to_index: 1 }, 400, 'audit-invalid-range', 'body.from_index'],
      [{ from_index: 0, to_index: 1_000_000 }, 400, 'audit-invalid-range', 'body.to_index'],
      [{ from_index: 1_000_000 }, 400, 'audit-invalid-range', 'body.from_index'],
      [{ from_index: -1 }, 400, 'validation-failed', 'body.from_index'],
      [{ record_id: 'nope' }, 400, 'validation-failed', 'body.record_id'],
      [{ everything: true }, 400, 'validation-failed', 'body.everything'],
    ])('POST /verify %j answers %i %s', async (payload, status, type, field) => {
      expectProblem(await post('/v1/audit/verify', payload), status, type, field);
    });

    it('GET /export refuses a reversed or malformed time range', async () => {
      expectProblem(
        await get('/v1/audit/export?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z'),
        400,
        'audit-invalid-range',
        'query.from',
      );
      expectProblem(await get('/v1/audit/export?to=soon'), 400, 'validation-failed', 'querystring.to');
    });

    it('GET /export refuses a bad page size or cursor, and a cursor mixed with a time range', async () => {
      const cursor = (c: unknown) => Buffer.from(JSON.stringify(c)).toString('base64url');
      expectProblem(await get('/v1/audit/export?limit=0'), 400, 'validation-failed', 'querystring.limit');
      expectProblem(
        await get('/v1/audit/export?limit=100001'),
        400,
        'validation-failed',
        'querystring.limit',
      );
      for (const bad of [
        'not-a-cursor',
        cursor({ t: 5, f: 4, e: 3 }),
        cursor({ t: 5, f: 0, e: 9 }),
        cursor([1]),
      ]) {
        expectProblem(
          await get(`/v1/audit/export?cursor=${bad}`),
          400,
          'audit-invalid-cursor',
          'query.cursor',
        );
      }
      // A well-formed cursor naming a tree size this log never signed.
      expectProblem(
        await get(`/v1/audit/export?cursor=${cursor({ t: 9_999_999, f: 0, e: 1 })}`),
        400,
        'audit-invalid-range',
        'query.cursor',
      );
      const page = (await get('/v1/audit/export?limit=1')).json();
      expect(page.manifest.next_cursor).toEqual(expect.any(String));
      expectProblem(
        await get(`/v1/audit/export?cursor=${page.manifest.next_cursor}&from=2026-01-01T00:00:00Z`),
        400,
        'audit-invalid-range',
        'query.cursor',
      );
    });

    it('PUT /settings refuses an unknown redaction kind and out-of-range retention', async () => {
      const put = (payload: unknown) =>
        t.node.app.inject({
          method: 'PUT',
          url: '/v1/audit/settings',
          headers: a.auth,
          payload: payload as object,
        });
      const kind = await put({ redaction_kinds: ['EMAIL', 'SHOE_SIZE'] });
      expectProblem(kind, 400, 'audit-invalid-settings', 'body.redaction_kinds');
      expect(kind.json().detail).toMatch(/SHOE_SIZE.*known: .*EMAIL/);
      expectProblem(
        await put({ retention_days: { runtime: 0 } }),
        400,
        'validation-failed',
        'body.retention_days.runtime',
      );
      expectProblem(await put({ retention_days: { 'Bad Product': 30 } }), 400, 'validation-failed');
      expectProblem(
        await put({ redaction_kinds: ['EMAIL', 'EMAIL'] }),
        400,
        'validation-failed',
        'body.redaction_kinds',
      );
      // Nothing was stored by the refused requests.
      expect((await get('/v1/audit/settings')).json()).toMatchObject({ redaction_kinds: null });
    });

    it.each([
      [
        'framework=sox&from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z',
        'validation-failed',
        'querystring.framework',
      ],
      ['framework=soc2&to=2026-02-01T00:00:00Z', 'validation-failed', 'querystring.from'],
      [
        'framework=soc2&from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
        'audit-invalid-range',
        'query.from',
      ],
    ])('GET /compliance/report?%s answers 400 %s', async (query, type, field) => {
      expectProblem(await get(`/v1/audit/compliance/report?${query}`), 400, type, field);
    });
  });
}
