import { createHash, createPublicKey, generateKeyPairSync, verify as verifySignature } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type OnboardedTenant, onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, useWarden } from '../../../../test/support/warden.js';
import { type EvidencePackage, verifyEvidence } from '../evidence.js';
import { EVIDENCE_STREAM_END_FORMAT, EvidenceStreamVerifier, streamHeader } from '../evidence-stream.js';
import type { AuditModule } from '../index.js';
import { leafHash, verifyConsistency, verifyInclusion } from '../merkle.js';

const b64 = (s: string) => Buffer.from(s, 'base64');

/**
 * The signed bytes of a tree head built by hand from docs/audit-verification.md §3 (not with the
 * module's own encoder), as an outside verifier would.
 */
function documentedSignedBytes(h: {
  log_id: string;
  tree_size: number;
  timestamp: number;
  sha256_root_hash: string;
}): Buffer {
  const id = Buffer.from(h.log_id, 'utf8');
  const out = Buffer.alloc(52 + id.length);
  out[0] = 0; // version v1
  out[1] = 1; // signature type tree_hash
  out.writeBigUInt64BE(BigInt(h.timestamp), 2);
  out.writeBigUInt64BE(BigInt(h.tree_size), 10);
  b64(h.sha256_root_hash).copy(out, 18);
  out.writeUInt16BE(id.length, 50);
  id.copy(out, 52);
  return out;
}

for (const driver of drivers()) {
  describe(`audit log routes, happy paths (${driver.name})`, () => {
    const t = useWarden(driver);
    let a: OnboardedTenant;
    const get = (url: string, headers: Record<string, string> = a.auth) =>
      t.node.app.inject({ method: 'GET', url, headers });
    const append = (payload: Record<string, unknown>, headers: Record<string, string> = a.auth) =>
      t.node.app.inject({ method: 'POST', url: '/v1/audit/log', headers, payload });
    const record = (i: number, extra: Record<string, unknown> = {}) => ({
      product: i % 2 === 0 ? 'runtime' : 'metering',
      event_type: i % 3 === 0 ? 'sandbox.created' : 'usage.recorded',
      actor: `agent:a${i % 4}`,
      resource_id: `res-${i}`,
      action: i % 2 === 0 ? 'create' : 'record',
      outcome: i % 5 === 0 ? 'failure' : 'success',
      metadata: { i, note: `record ${i}` },
      ...extra,
    });

    it('onboards a tenant', async () => {
      a = await onboardTenant(t, 'audit-happy');
    });

    // Identity's own records (tenant created, onboarded…) share the tenant's log, so leaf indexes
    // are compared with each other, not with fixed numbers.
    const mine: { record_id: string; leaf_index: number }[] = [];

    it('appends a record durably: 201, its leaf index, leaf hash and location', async () => {
      const res = await append(record(0));
      expect(res.statusCode).toBe(201);
      const body = res.json();
      expect(body).toEqual({
        record_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        leaf_index: expect.any(Number),
        leaf_hash: expect.any(String),
      });
      expect(b64(body.leaf_hash)).toHaveLength(32);
      expect(res.headers.location).toBe(`/v1/audit/logs/${body.record_id}`);
      mine.push(body);
      for (let i = 1; i < 12; i++) {
        const next = (await append(record(i))).json();
        expect(next.leaf_index).toBeGreaterThan(mine.at(-1)!.leaf_index);
        mine.push(next);
      }
      const stored = await t.node.db.kysely
        .selectFrom('audit.records')
        .select(['record_id', 'leaf_index'])
        .where('tenant_id', '=', a.tenantId)
        .where('product', 'in', ['runtime', 'metering'])
        .orderBy('leaf_index')
        .execute();
      expect(stored.map((r) => ({ record_id: r.record_id, leaf_index: Number(r.leaf_index) }))).toEqual(
        mine.map((m) => ({ record_id: m.record_id, leaf_index: m.leaf_index })),
      );
    });

    it('defaults the actor to the caller and says who submitted a record on another’s behalf', async () => {
      const own = await append({
        product: 'crm',
        event_type: 'contact.viewed',
        action: 'view',
        outcome: 'success',
      });
      const mine = (await get(`/v1/audit/logs/${own.json().record_id}`)).json().record;
      expect(mine.actor).toBe(`api_key:${a.keyId}`);
      expect(mine).not.toHaveProperty('submitted_by');
      const other = await append({ ...record(99), actor: 'user:someone-else' });
      const theirs = (await get(`/v1/audit/logs/${other.json().record_id}`)).json().record;
      expect(theirs).toMatchObject({ actor: 'user:someone-else', submitted_by: `api_key:${a.keyId}` });
    });

    it('appends once for a retried request with the same Idempotency-Key', async () => {
      const headers = { ...a.auth, 'idempotency-key': `audit-retry-${Date.now()}` };
      const first = await append(record(70), headers);
      const retry = await append(record(70), headers);
      expect(first.statusCode).toBe(201);
      expect(retry.json()).toEqual(first.json());
      const found = (await get('/v1/audit/logs?resource=res-70')).json().items;
      expect(found).toHaveLength(1);
      const reused = await append(record(71), headers);
      expect(reused.statusCode).toBe(422);
      expect(reused.json().type).toBe('/problems/idempotency-key-reused');
    });

    it('redacts personal data before storage: the stored and hashed bytes never hold it', async () => {
      const res = await append(
        record(50, {
          actor: 'user:jane.doe@example.com',
          metadata: { contact: 'mail jane.doe@example.com', card: '4111 1111 1111 1111' },
        }),
      );
      const got = (await get(`/v1/audit/logs/${res.json().record_id}`)).json();
      const canonical = b64(got.canonical).toString('utf8');
      expect(canonical).not.toContain('jane.doe@example.com');
      expect(canonical).not.toContain('4111');
      expect(got.record.actor).toBe('user:[REDACTED:EMAIL]');
      expect(got.record.metadata.card).toMatch(/\[REDACTED:[A-Z_]+\]/);
      const stored = await t.node.db.kysely
        .selectFrom('audit.records')
        .select(['actor', 'canonical'])
        .where('record_id', '=', res.json().record_id)
        .executeTakeFirstOrThrow();
      expect(stored.actor).toBe('user:[REDACTED:EMAIL]');
      expect(Buffer.from(stored.canonical).toString('utf8')).not.toContain('jane.doe');
    });

    it('lists newest first, filters combine, and the cursor walks every page once', async () => {
      const all = await get('/v1/audit/logs?limit=200');
      expect(all.statusCode).toBe(200);
      const items = all.json().items as { leaf_index: number; tenant_id: string; status: string }[];
      expect(items.map((r) => r.leaf_index)).toEqual(
        [...items.map((r) => r.leaf_index)].sort((x, y) => y - x),
      );
      expect(items.every((r) => r.tenant_id === a.tenantId && r.status === 'active')).toBe(true);
      expect(all.json().next_cursor).toBeNull();

      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const q: string = cursor ? `&cursor=${cursor}` : '';
        const page = (await get(`/v1/audit/logs?limit=4${q}`)).json();
        expect(page.items.length).toBeLessThanOrEqual(4);
        seen.push(...page.items.map((r: { leaf_index: number }) => r.leaf_index));
        cursor = page.next_cursor;
        pages++;
      } while (cursor && pages < 50);
      expect(seen).toEqual(items.map((r) => r.leaf_index));

      const runtimeCreates = (await get('/v1/audit/logs?product=runtime&action=create&limit=200')).json()
        .items;
      expect(runtimeCreates.length).toBeGreaterThan(0);
      expect(
        runtimeCreates.every((r: Record<string, string>) => r.product === 'runtime' && r.action === 'create'),
      ).toBe(true);
      const byActor = (await get('/v1/audit/logs?actor=agent:a1&outcome=success')).json().items;
      expect(byActor.map((r: { resource_id: string }) => r.resource_id)).toEqual(['res-9', 'res-1']);
      const failures = (await get('/v1/audit/logs?outcome=failure&limit=200')).json().items;
      expect(failures.map((r: { resource_id: string }) => r.resource_id)).toEqual([
        'res-50',
        'res-70',
        'res-10',
        'res-5',
        'res-0',
      ]);
      const byResource = (await get('/v1/audit/logs?resource=res-3&event_type=sandbox.created')).json().items;
      expect(byResource).toHaveLength(1);
      expect(byResource[0].metadata).toEqual({ i: 3, note: 'record 3' });
      const future = new Date(Date.now() + 3_600_000).toISOString();
      const past = new Date(Date.now() - 3_600_000).toISOString();
      expect((await get(`/v1/audit/logs?from=${future}`)).json().items).toEqual([]);
      expect((await get(`/v1/audit/logs?from=${past}&to=${future}&limit=200`)).json().items).toHaveLength(
        items.length,
      );
      expect((await get(`/v1/audit/logs?to=${past}`)).json().items).toEqual([]);
    });

    it('serves the tree head in the RFC 6962 shape, signed over the documented bytes with GET /key', async () => {
      const keyRes = await get('/v1/audit/key');
      expect(keyRes.statusCode).toBe(200);
      const key = keyRes.json();
      expect(key).toEqual({
        algorithm: 'Ed25519',
        key_id: expect.stringMatching(/^[0-9a-f]{64}$/),
        public_key: expect.any(String),
        public_key_pem: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----/),
      });
      expect(createHash('sha256').update(b64(key.public_key)).digest('hex')).toBe(key.key_id);
      const publicKey = createPublicKey({ key: b64(key.public_key), format: 'der', type: 'spki' });

      const sth = (await get('/v1/audit/sth')).json();
      expect(Object.keys(sth).sort()).toEqual(
        ['log_id', 'sha256_root_hash', 'timestamp', 'tree_head_signature', 'tree_size'].sort(),
      );
      expect(sth.log_id).toBe(a.tenantId);
      expect(sth.tree_size).toBeGreaterThan(mine.at(-1)!.leaf_index);
      const size = await t.node.db.kysely
        .selectFrom('audit.records')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('tenant_id', '=', a.tenantId)
        .executeTakeFirstOrThrow();
      expect(sth.tree_size).toBe(Number(size.n));
      expect(b64(sth.sha256_root_hash)).toHaveLength(32);
      expect(b64(sth.tree_head_signature)).toHaveLength(64);
      expect(verifySignature(null, documentedSignedBytes(sth), publicKey, b64(sth.tree_head_signature))).toBe(
        true,
      );
      // A head for another log id (or size) does not verify with that signature.
      expect(
        verifySignature(
          null,
          documentedSignedBytes({ ...sth, log_id: '00000000-0000-0000-0000-000000000001' }),
          publicKey,
          b64(sth.tree_head_signature),
        ),
      ).toBe(false);

      const again = (await get(`/v1/audit/sth?tree_size=${sth.tree_size}`)).json();
      expect(again).toEqual(sth);
    });

    it('returns {record, canonical, inclusion_proof} whose proof an outside verifier checks', async () => {
      const sth = (await get('/v1/audit/sth')).json();
      const publicKey = createPublicKey({
        key: b64((await get('/v1/audit/key')).json().public_key),
        format: 'der',
        type: 'spki',
      });
      const items = (await get('/v1/audit/logs?limit=200')).json().items as {
        record_id: string;
        leaf_index: number;
      }[];
      for (const item of items) {
        const res = await get(`/v1/audit/logs/${item.record_id}`);
        expect(res.statusCode).toBe(200);
        const body = res.json();
        expect(body).toMatchObject({
          record: { record_id: item.record_id, leaf_index: item.leaf_index, status: 'active' },
          canonical: expect.any(String),
          inclusion_proof: {
            leaf_index: item.leaf_index,
            tree_size: sth.tree_size,
            audit_path: expect.any(Array),
          },
        });
        expect(Object.keys(body.inclusion_proof).sort()).toEqual(['audit_path', 'leaf_index', 'tree_size']);
        const bytes = b64(body.canonical);
        // The canonical bytes are the record as returned (minus where it sits in the log).
        const { leaf_index: _l, status: _s, ...hashed } = body.record;
        expect(JSON.parse(bytes.toString('utf8'))).toEqual(hashed);
        // The proof is against a head an outside verifier can fetch and check on its own.
        const head = (await get(`/v1/audit/sth?tree_size=${body.inclusion_proof.tree_size}`)).json();
        expect(
          verifySignature(null, documentedSignedBytes(head), publicKey, b64(head.tree_head_signature)),
        ).toBe(true);
        const leaf = leafHash(bytes);
        expect(leaf.toString('base64')).toBe(body.leaf_hash);
        const path = body.inclusion_proof.audit_path.map(b64);
        expect(
          verifyInclusion(item.leaf_index, head.tree_size, leaf, path, b64(head.sha256_root_hash)),
        ).toEqual({
          ok: true,
        });
        // One flipped bit in the record and the proof no longer leads to the signed root.
        const flipped = Buffer.from(bytes);
        flipped[flipped.length - 2]! ^= 1;
        expect(
          verifyInclusion(
            item.leaf_index,
            head.tree_size,
            leafHash(flipped),
            path,
            b64(head.sha256_root_hash),
          ).ok,
        ).toBe(false);
      }
    });

    it('proves over HTTP that a later head extends an earlier one', async () => {
      const first = (await get('/v1/audit/sth')).json();
      for (let i = 100; i < 105; i++) await append(record(i));
      const second = (await get('/v1/audit/sth')).json();
      expect(second.tree_size).toBe(first.tree_size + 5);
      const res = await get(`/v1/audit/consistency?first=${first.tree_size}&second=${second.tree_size}`);
      expect(res.statusCode).toBe(200);
      const body = res.json();
      expect(body.consistency.length).toBeGreaterThan(0);
      expect(body).toEqual({
        first: first.tree_size,
        second: second.tree_size,
        consistency: expect.any(Array),
      });
      const proof = body.consistency.map(b64);
      expect(
        verifyConsistency(
          first.tree_size,
          second.tree_size,
          proof,
          b64(first.sha256_root_hash),
          b64(second.sha256_root_hash),
        ),
      ).toEqual({ ok: true });
      // The same proof does not connect the later root to a made-up earlier one.
      expect(
        verifyConsistency(
          first.tree_size,
          second.tree_size,
          proof,
          Buffer.alloc(32, 1),
          b64(second.sha256_root_hash),
        ).ok,
      ).toBe(false);
      // Every earlier size the log has reached proves consistent with the latest head.
      for (let m = 1; m <= second.tree_size; m++) {
        const c = (await get(`/v1/audit/consistency?first=${m}&second=${second.tree_size}`)).json();
        const earlier = await t.node.app.inject({
          method: 'GET',
          url: `/v1/audit/sth?tree_size=${m}`,
          headers: a.auth,
        });
        if (earlier.statusCode !== 200) continue; // no head was signed at that size
        expect(
          verifyConsistency(
            m,
            second.tree_size,
            c.consistency.map(b64),
            b64(earlier.json().sha256_root_hash),
            b64(second.sha256_root_hash),
          ),
        ).toEqual({ ok: true });
      }
      const same = (
        await get(`/v1/audit/consistency?first=${second.tree_size}&second=${second.tree_size}`)
      ).json();
      expect(same.consistency).toEqual([]);
    });

    it('verifies the whole log, a range and one record server-side', async () => {
      const whole = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/verify',
        headers: a.auth,
        payload: {},
      });
      expect(whole.statusCode).toBe(200);
      const sth = (await get('/v1/audit/sth')).json();
      expect(whole.json()).toMatchObject({
        ok: true,
        tenant_id: a.tenantId,
        tree_size: sth.tree_size,
        checked: { records: sth.tree_size, full_root_recomputed: true },
        warnings: [],
      });
      expect(whole.json()).not.toHaveProperty('failure');
      const range = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/verify',
        headers: a.auth,
        payload: { from_index: 3, to_index: 7 },
      });
      expect(range.json()).toMatchObject({ ok: true, checked: { records: 4, full_root_recomputed: false } });
      const one = (await get('/v1/audit/logs?limit=1')).json().items[0];
      const single = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/verify',
        headers: a.auth,
        payload: { record_id: one.record_id },
      });
      expect(single.json()).toMatchObject({ ok: true, checked: { records: 1 } });
    });

    it('exports an evidence package holding records, heads, proofs, the key and a manifest', async () => {
      const res = await get('/v1/audit/export');
      expect(res.statusCode).toBe(200);
      const pkg = res.json();
      const sth = (await get('/v1/audit/sth')).json();
      const key = (await get('/v1/audit/key')).json();
      expect(pkg).toMatchObject({
        format: 'warden.audit.evidence/v1',
        manifest: {
          tenant_id: a.tenantId,
          from_index: 0,
          to_index: sth.tree_size,
          record_count: sth.tree_size,
        },
        public_key: { algorithm: 'Ed25519', key_id: key.key_id, spki_der: key.public_key },
      });
      expect(pkg.tree_heads.at(-1)).toEqual(sth);
      expect(pkg.records).toHaveLength(sth.tree_size);
      expect(pkg.consistency).toHaveLength(
        pkg.tree_heads.filter((h: { tree_size: number }) => h.tree_size > 0).length - 1,
      );
      const past = new Date(Date.now() - 3_600_000).toISOString();
      const none = (await get(`/v1/audit/export?to=${past}`)).json();
      expect(none.records).toEqual([]);
    });

    it('exports page by page: every page a package of its own, all proved against the pinned head, chaining into one verifiable stream', async () => {
      const keyJson = (await get('/v1/audit/key')).json();
      const pinned = createPublicKey({ key: b64(keyJson.public_key), format: 'der', type: 'spki' });
      const key = () => pinned;
      const whole = (await get('/v1/audit/export')).json();
      const size = whole.tree_heads.at(-1).tree_size as number;
      const pages: EvidencePackage[] = [(await get('/v1/audit/export?limit=5')).json()];
      // The log grows while the export is read: later pages stay on the head the first one pinned.
      await append(record(100));
      await get('/v1/audit/sth');
      while (pages.at(-1)!.manifest.next_cursor) {
        const res = await get(`/v1/audit/export?limit=5&cursor=${pages.at(-1)!.manifest.next_cursor}`);
        expect(res.statusCode).toBe(200);
        pages.push(res.json());
      }
      expect(pages).toHaveLength(Math.ceil(size / 5));
      for (const [i, page] of pages.entries()) {
        expect(page.manifest).toMatchObject({
          from_index: i * 5,
          to_index: Math.min(size, i * 5 + 5),
          range_to_index: size,
        });
        expect(page.tree_heads.at(-1)).toEqual(whole.tree_heads.at(-1));
        expect(verifyEvidence(page, { publicKey: key() }).ok).toBe(true);
      }
      expect(pages.at(-1)!.manifest.next_cursor).toBeNull();
      // The same records, byte for byte, as the single package.
      expect(pages.flatMap((p) => p.records.map((r) => r.canonical))).toEqual(
        whole.records.map((r: { canonical: string }) => r.canonical),
      );

      const run = (
        parts: unknown[],
        trailer: unknown = { format: EVIDENCE_STREAM_END_FORMAT, parts: parts.length, record_count: size },
      ) => {
        const v = new EvidenceStreamVerifier({ publicKey: key() });
        v.header(streamHeader(pages[0]!));
        for (const p of parts) if (!v.part(p)) break;
        return v.failed ? v.report : v.finish({ trailer });
      };
      const ok = run(pages);
      expect(ok).toMatchObject({
        ok: true,
        tree_size: size,
        checked: { records: size, parts: pages.length, full_root_recomputed: true },
      });

      const copy = () => structuredClone(pages) as EvidencePackage[];
      // A part left out, repeated, or swapped with another.
      expect(run(pages.filter((_, i) => i !== 1)).failure).toMatchObject({
        reason: 'record_missing',
        leaf_index: 5,
      });
      expect(run([pages[0], pages[0], ...pages.slice(1)]).failure?.reason).toBe('malformed_package');
      expect(run([pages[1], pages[0], ...pages.slice(2)]).failure).toMatchObject({
        reason: 'record_missing',
        leaf_index: 0,
      });
      // The last part, or the end line, cut off.
      expect(
        run(pages.slice(0, -1), {
          format: EVIDENCE_STREAM_END_FORMAT,
          parts: pages.length - 1,
          record_count: size,
        }).failure?.reason,
      ).toBe('record_missing');
      expect(run(pages, null).failure?.detail).toMatch(/without its end line: it was cut short/);
      expect(
        run(pages, { format: EVIDENCE_STREAM_END_FORMAT, parts: pages.length, record_count: size + 1 })
          .failure?.reason,
      ).toBe('malformed_package');
      // A record changed inside a part: named, with its part.
      const altered = copy();
      const victim = altered[1]!.records[2]!;
      victim.canonical = Buffer.from(
        Buffer.from(victim.canonical!, 'base64').toString('utf8').replace('"tenant_id"', '"tenant_id "'),
      ).toString('base64');
      expect(run(altered).failure).toMatchObject({ reason: 'payload_altered', leaf_index: 7 });
      expect(run(altered).failure?.detail).toMatch(/^part 2: /);
      // A part proved against another (later) head than the one the export pinned.
      const later = (await get('/v1/audit/export?limit=5')).json() as EvidencePackage;
      expect(later.tree_heads.at(-1)!.tree_size).toBeGreaterThan(size);
      const mixed = copy();
      mixed[0] = later;
      expect(run(mixed).failure).toMatchObject({ reason: 'inconsistent_tree_heads', tree_size: size });
      // A key other than the pinned one.
      const other = generateKeyPairSync('ed25519').publicKey;
      const v = new EvidenceStreamVerifier({ publicKey: other });
      v.header(streamHeader(pages[0]!));
      expect(v.part(pages[0])).toBe(false);
      expect(v.report.failure?.reason).toBe('key_mismatch');
    });

    it('streams a package longer than one chunk, in leaf order, and it verifies', async () => {
      const audit = t.node.modules.find((m) => m.name === 'audit') as AuditModule;
      for (let i = 0; i < 1100; i++)
        audit.append({
          tenant_id: a.tenantId,
          product: 'runtime',
          event_type: 'sandbox.created',
          actor: 'agent:bulk',
          resource_id: `bulk-${i}`,
          action: 'create',
          outcome: 'success',
          metadata: { i },
        });
      await audit.flush();
      const keyJson = (await get('/v1/audit/key')).json();
      const publicKey = createPublicKey({ key: b64(keyJson.public_key), format: 'der', type: 'spki' });
      const res = await get('/v1/audit/export');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['transfer-encoding']).toBe('chunked');
      const pkg = res.json() as EvidencePackage;
      const size = pkg.tree_heads.at(-1)!.tree_size;
      expect(size).toBeGreaterThan(1100);
      expect(pkg.manifest).toMatchObject({
        from_index: 0,
        to_index: size,
        record_count: size,
        next_cursor: null,
      });
      expect(pkg.records.map((r) => r.leaf_index)).toEqual(Array.from({ length: size }, (_, i) => i));
      expect(verifyEvidence(pkg, { publicKey })).toMatchObject({
        ok: true,
        checked: { records: size, full_root_recomputed: true },
      });
      const server = (
        await t.node.app.inject({ method: 'POST', url: '/v1/audit/verify', headers: a.auth, payload: {} })
      ).json();
      expect(server).toMatchObject({ ok: true, checked: { records: size, full_root_recomputed: true } });
    });

    it('reads and changes the tenant’s settings; fields left out keep their value', async () => {
      const before = (await get('/v1/audit/settings')).json();
      expect(before).toEqual({
        redaction_kinds: null,
        retention_days: { metering: 2557, oversight: 2557, runtime: 365, messaging: 90 },
        default_retention_days: 2557,
      });
      const put = (payload: Record<string, unknown>) =>
        t.node.app.inject({ method: 'PUT', url: '/v1/audit/settings', headers: a.auth, payload });
      const changed = await put({ retention_days: { messaging: 30, crm: 400 } });
      expect(changed.statusCode).toBe(200);
      expect(changed.json().retention_days).toEqual({
        metering: 2557,
        oversight: 2557,
        runtime: 365,
        messaging: 30,
        crm: 400,
      });
      const kinds = await put({ redaction_kinds: ['EMAIL'] });
      expect(kinds.json()).toMatchObject({
        redaction_kinds: ['EMAIL'],
        retention_days: { messaging: 30, crm: 400 },
      });
      // Only e-mail is redacted now: a card number is kept as given.
      const rec = await append(record(60, { metadata: { who: 'a@b.example', card: '4111 1111 1111 1111' } }));
      const stored = (await get(`/v1/audit/logs/${rec.json().record_id}`)).json().record.metadata;
      expect(stored).toEqual({ who: '[REDACTED:EMAIL]', card: '4111 1111 1111 1111' });
      expect((await put({ redaction_kinds: null })).json().redaction_kinds).toBeNull();
    });
  });

  describe(`audit log with prepare worker threads (${driver.name})`, () => {
    const t = useWarden(driver, { auditPrepareWorkers: 1 });

    it('redacts, hashes and proves records prepared off the main thread (WARDEN_AUDIT_PREPARE_WORKERS)', async () => {
      const a = await onboardTenant(t, 'audit-workers');
      const audit = t.node.modules.find((m) => m.name === 'audit') as AuditModule;
      expect(audit.prepareThreads).toBe(1);
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/log',
        headers: a.auth,
        payload: {
          product: 'runtime',
          event_type: 'note',
          action: 'note',
          outcome: 'success',
          metadata: { who: 'ann@example.com' },
        },
      });
      expect(res.statusCode, res.body).toBe(201);
      const got = (
        await t.node.app.inject({ method: 'GET', url: res.headers.location!, headers: a.auth })
      ).json();
      expect(got.record.metadata).toEqual({ who: '[REDACTED:EMAIL]' });
      expect(leafHash(b64(got.canonical)).toString('base64')).toBe(res.json().leaf_hash);
      const report = (
        await t.node.app.inject({ method: 'POST', url: '/v1/audit/verify', headers: a.auth, payload: {} })
      ).json();
      expect(report).toMatchObject({ ok: true, checked: { full_root_recomputed: true } });
    });
  });
}
