/**
 * Tamper detection (issue 5 item 6): each test changes the log directly in the database, with raw
 * SQL on the node's own connection, the way someone with database access would, and checks that
 * POST /v1/audit/verify and the offline verifier (on the package GET /v1/audit/export produces
 * afterwards) both notice it and name the record or tree head and the reason.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { onboardTenant } from '../../../../test/support/identity-fixtures.js';
import { drivers, type TestWarden, useWarden } from '../../../../test/support/warden.js';
import type { IdentityModule } from '../../identity/index.js';
import { canonicalBytes } from '../canonical.js';
import { type EvidencePackage, parsePublicKey, type VerifyReport, verifyEvidence } from '../evidence.js';
import { leafHash, MerkleAppender } from '../merkle.js';
import { loadOrCreateSigningKey } from '../signing-key.js';
import { signTreeHead } from '../tree-head.js';

interface Log {
  tenantId: string;
  auth: { authorization: string };
  /** The records this test appended, in order. */
  records: { record_id: string; leaf_index: number }[];
  /** The sizes of the heads this test had signed (GET /sth after each burst). */
  heads: number[];
}

async function settle(t: TestWarden): Promise<void> {
  await (t.node.modules.find((m) => m.name === 'identity') as IdentityModule).flush();
  await t.node.bus.flush();
}

/** A tenant whose log holds identity's onboarding records, then 9 records in three signed bursts. */
async function buildLog(t: TestWarden): Promise<Log> {
  const tenant = await onboardTenant(t, 'tamper');
  await settle(t);
  const log: Log = { tenantId: tenant.tenantId, auth: tenant.auth, records: [], heads: [] };
  for (let burst = 0; burst < 3; burst++) {
    for (let i = 0; i < 3; i++) {
      const res = await t.node.app.inject({
        method: 'POST',
        url: '/v1/audit/log',
        headers: tenant.auth,
        payload: {
          product: 'runtime',
          event_type: 'sandbox.created',
          actor: `agent:a${i}`,
          resource_id: `sbx-${burst}-${i}`,
          action: 'create',
          outcome: 'success',
          metadata: { burst, i },
        },
      });
      expect(res.statusCode).toBe(201);
      log.records.push({ record_id: res.json().record_id, leaf_index: res.json().leaf_index });
    }
    const sth = await t.node.app.inject({ method: 'GET', url: '/v1/audit/sth', headers: tenant.auth });
    log.heads.push(sth.json().tree_size);
  }
  await settle(t);
  return log;
}

async function serverVerify(
  t: TestWarden,
  log: Log,
  body: Record<string, unknown> = {},
): Promise<VerifyReport> {
  const res = await t.node.app.inject({
    method: 'POST',
    url: '/v1/audit/verify',
    headers: log.auth,
    payload: body,
  });
  expect(res.statusCode).toBe(200);
  return res.json();
}

async function offlineVerify(t: TestWarden, log: Log): Promise<VerifyReport> {
  const exported = await t.node.app.inject({ method: 'GET', url: '/v1/audit/export', headers: log.auth });
  expect(exported.statusCode).toBe(200);
  const key = await t.node.app.inject({ method: 'GET', url: '/v1/audit/key', headers: log.auth });
  // Through JSON text, as a file on another machine would be read.
  const pkg = JSON.parse(JSON.stringify(exported.json())) as EvidencePackage;
  return verifyEvidence(pkg, { publicKey: parsePublicKey(key.json().public_key_pem) });
}

/** Both verifiers fail with `reason`, naming the same place. */
async function expectDetected(
  t: TestWarden,
  log: Log,
  expected: { reason: string; leaf_index?: number; record_id?: string; tree_size?: number },
): Promise<void> {
  for (const report of [await serverVerify(t, log), await offlineVerify(t, log)]) {
    expect(report.ok).toBe(false);
    expect(report.failure).toMatchObject(expected);
    expect(report.failure!.detail.length).toBeGreaterThan(10);
  }
}

const rowOf = async (t: TestWarden, log: Log, leaf: number) =>
  (
    await sql<{ canonical: Uint8Array; record_id: string }>`select canonical, record_id from audit.records
      where tenant_id = ${log.tenantId} and leaf_index = ${leaf}`.execute(t.node.db.kysely)
  ).rows[0]!;

for (const driver of drivers()) {
  describe(`audit tamper detection (${driver.name})`, () => {
    const t = useWarden(driver);

    it('passes an untouched log, on the server and offline', async () => {
      const log = await buildLog(t);
      const server = await serverVerify(t, log);
      expect(server).toMatchObject({ ok: true, checked: { full_root_recomputed: true } });
      expect(server.checked.records).toBe(server.tree_size);
      expect(server.tree_size).toBeGreaterThan(log.records.at(-1)!.leaf_index);
      expect(server.checked.tree_heads).toBeGreaterThanOrEqual(3);
      expect(server.checked.consistency_proofs).toBe(server.checked.tree_heads - 1);
      const offline = await offlineVerify(t, log);
      expect(offline).toMatchObject({ ok: true, warnings: [] });
    });

    it('detects a changed payload and names the record', async () => {
      const log = await buildLog(t);
      const target = log.records[4]!;
      const row = await rowOf(t, log, target.leaf_index);
      const altered = Buffer.from(
        Buffer.from(row.canonical).toString('utf8').replace('"outcome":"success"', '"outcome":"failure"'),
      );
      expect(altered.toString()).toContain('"outcome":"failure"');
      await sql`update audit.records set canonical = ${altered}, outcome = 'failure'
        where tenant_id = ${log.tenantId} and leaf_index = ${target.leaf_index}`.execute(t.node.db.kysely);
      await expectDetected(t, log, { reason: 'payload_altered', ...target });
      // Bytes that are not even JSON any more: the log still reads, and verification names them.
      const garbled = log.records[6]!;
      await sql`update audit.records set canonical = ${Buffer.from('{"garbled')}
        where tenant_id = ${log.tenantId} and leaf_index = ${garbled.leaf_index}`.execute(t.node.db.kysely);
      const list = await t.node.app.inject({
        method: 'GET',
        url: '/v1/audit/logs?limit=200',
        headers: log.auth,
      });
      expect(list.statusCode).toBe(200);
      const one = await t.node.app.inject({
        method: 'GET',
        url: `/v1/audit/logs/${garbled.record_id}`,
        headers: log.auth,
      });
      expect(one.statusCode).toBe(200);
      expect(one.json().record).toMatchObject({ record_id: garbled.record_id, metadata: null });
      const only = await serverVerify(t, log, { record_id: garbled.record_id });
      expect(only.failure).toMatchObject({ reason: 'payload_altered', ...garbled });
    });

    it('detects a payload changed together with its stored leaf hash: the leaf no longer proves into the signed head', async () => {
      const log = await buildLog(t);
      const target = log.records[2]!;
      const row = await rowOf(t, log, target.leaf_index);
      const altered = Buffer.from(
        Buffer.from(row.canonical).toString('utf8').replace('"burst":0', '"burst":7'),
      );
      await sql`update audit.records set canonical = ${altered}
        where tenant_id = ${log.tenantId} and leaf_index = ${target.leaf_index}`.execute(t.node.db.kysely);
      await sql`update audit.tiles set hashes = overlay(hashes placing ${leafHash(altered)}
          from ${(target.leaf_index % 16) * 32 + 1} for 32)
        where tenant_id = ${log.tenantId} and level = 0 and idx = ${Math.floor(target.leaf_index / 16)}`.execute(
        t.node.db.kysely,
      );
      // The leaf's own bytes and stored hash agree now; what no longer holds is what was signed.
      // When a consistency proof between two heads passes through the changed hash, that is
      // checked first and names the later head; otherwise the first inclusion proof to fail is
      // the leaf's or its neighbour's (whose audit path holds the changed hash).
      const heads = (
        await sql<{
          tree_size: number;
        }>`select tree_size from audit.tree_heads where tenant_id = ${log.tenantId}`.execute(t.node.db.kysely)
      ).rows.map((h) => Number(h.tree_size));
      const server = await serverVerify(t, log);
      for (const report of [server, await offlineVerify(t, log)]) {
        expect(report.failure).toMatchObject({ reason: server.failure!.reason });
        if (report.failure!.reason === 'inconsistent_tree_heads') {
          expect(heads).toContain(report.failure!.tree_size);
          expect(report.failure!.tree_size).toBeGreaterThan(target.leaf_index);
        } else {
          expect(report.failure).toMatchObject({ reason: 'not_in_tree' });
          expect([target.leaf_index, target.leaf_index ^ 1]).toContain(report.failure!.leaf_index);
          expect(report.failure!.detail).toContain(
            `leaves ${target.leaf_index & ~1}–${(target.leaf_index & ~1) + 1}`,
          );
        }
      }
    });

    it('detects a query column that disagrees with the hashed record (server side)', async () => {
      const log = await buildLog(t);
      const target = log.records[1]!;
      await sql`update audit.records set actor = 'agent:someone-else'
        where tenant_id = ${log.tenantId} and leaf_index = ${target.leaf_index}`.execute(t.node.db.kysely);
      const report = await serverVerify(t, log);
      expect(report.failure).toMatchObject({ reason: 'record_fields_altered', ...target });
      expect(report.failure!.detail).toMatch(/actor/);
      // The export carries the hashed bytes, which are intact: offline the record is what was logged.
      expect((await offlineVerify(t, log)).ok).toBe(true);
    });

    it('detects a deleted row and names the missing leaf', async () => {
      const log = await buildLog(t);
      const target = log.records[3]!;
      await sql`delete from audit.records where tenant_id = ${log.tenantId} and leaf_index = ${target.leaf_index}`.execute(
        t.node.db.kysely,
      );
      await expectDetected(t, log, { reason: 'record_missing', leaf_index: target.leaf_index });
    });

    it('detects two rows swapped and names the displaced record', async () => {
      const log = await buildLog(t);
      const [x, y] = [log.records[2]!, log.records[6]!];
      const db = t.node.db;
      await db.transaction(async (trx) => {
        const park = 1_000_000_000;
        await sql`update audit.records set leaf_index = ${park} where tenant_id = ${log.tenantId} and leaf_index = ${x.leaf_index}`.execute(
          trx,
        );
        await sql`update audit.records set leaf_index = ${x.leaf_index} where tenant_id = ${log.tenantId} and leaf_index = ${y.leaf_index}`.execute(
          trx,
        );
        await sql`update audit.records set leaf_index = ${y.leaf_index} where tenant_id = ${log.tenantId} and leaf_index = ${park}`.execute(
          trx,
        );
      });
      await expectDetected(t, log, {
        reason: 'record_reordered',
        leaf_index: x.leaf_index,
        record_id: y.record_id,
      });
      const server = await serverVerify(t, log);
      expect(server.failure!.detail).toContain(`logged at leaf ${y.leaf_index}`);
    });

    it('detects a row inserted past the signed tree and names it', async () => {
      const log = await buildLog(t);
      const size = log.heads.at(-1)!;
      const template = JSON.parse(
        Buffer.from((await rowOf(t, log, log.records[0]!.leaf_index)).canonical).toString(),
      );
      const forged = { ...template, record_id: randomUUID(), metadata: { forged: true } };
      await sql`insert into audit.records (tenant_id, leaf_index, record_id, product, event_type, actor, resource_id,
          action, outcome, occurred_at, canonical)
        values (${log.tenantId}, ${size}, ${forged.record_id}, ${forged.product}, ${forged.event_type}, ${forged.actor},
          ${forged.resource_id}, ${forged.action}, ${forged.outcome}, ${forged.timestamp}, ${canonicalBytes(forged)})`.execute(
        t.node.db.kysely,
      );
      await expectDetected(t, log, {
        reason: 'record_inserted',
        leaf_index: size,
        record_id: forged.record_id,
        tree_size: size,
      });
      const one = await serverVerify(t, log, { record_id: forged.record_id });
      expect(one.failure).toMatchObject({ reason: 'record_inserted', record_id: forged.record_id });
    });

    it('detects a row slipped into the middle (later rows shifted) and names the inserted one', async () => {
      const log = await buildLog(t);
      const at = log.records[4]!.leaf_index;
      const template = JSON.parse(Buffer.from((await rowOf(t, log, at)).canonical).toString());
      const forged = { ...template, record_id: randomUUID(), metadata: { forged: true } };
      await t.node.db.transaction(async (trx) => {
        await sql`update audit.records set leaf_index = leaf_index + 1000000000
          where tenant_id = ${log.tenantId} and leaf_index >= ${at}`.execute(trx);
        await sql`update audit.records set leaf_index = leaf_index - 999999999
          where tenant_id = ${log.tenantId} and leaf_index >= 1000000000`.execute(trx);
        await sql`insert into audit.records (tenant_id, leaf_index, record_id, product, event_type, actor, resource_id,
            action, outcome, occurred_at, canonical)
          values (${log.tenantId}, ${at}, ${forged.record_id}, ${forged.product}, ${forged.event_type}, ${forged.actor},
            ${forged.resource_id}, ${forged.action}, ${forged.outcome}, ${forged.timestamp}, ${canonicalBytes(forged)})`.execute(
          trx,
        );
      });
      await expectDetected(t, log, {
        reason: 'record_inserted',
        leaf_index: at,
        record_id: forged.record_id,
      });
    });

    it('detects a replaced tree head and names its size', async () => {
      const log = await buildLog(t);
      const [first, second] = log.heads as [number, number, number];
      // The second head gets the first head's root: a real root, but not the one that was signed.
      await sql`update audit.tree_heads set root_hash = (select root_hash from audit.tree_heads
          where tenant_id = ${log.tenantId} and tree_size = ${first})
        where tenant_id = ${log.tenantId} and tree_size = ${second}`.execute(t.node.db.kysely);
      await expectDetected(t, log, { reason: 'bad_signature', tree_size: second });
    });

    it('detects a head re-signed over a rewritten history as inconsistent with the heads before it', async () => {
      const log = await buildLog(t);
      const [first, second] = log.heads as [number, number, number];
      // Someone who could sign (a stolen key) rewrites leaf 0 and signs a new head of the same size
      // as the last: the signatures hold, but the earlier heads do not extend into it.
      const key = await loadOrCreateSigningKey(t.node.db, t.node.secrets);
      const tiles = Buffer.concat(
        (
          await sql<{
            hashes: Uint8Array;
          }>`select hashes from audit.tiles where tenant_id = ${log.tenantId} and level = 0
            order by idx`.execute(t.node.db.kysely)
        ).rows.map((r) => Buffer.from(r.hashes)),
      );
      const leaves: Buffer[] = [];
      for (let at = 0; at < tiles.length; at += 32) leaves.push(tiles.subarray(at, at + 32));
      leaves[0] = leafHash(Buffer.from('{"rewritten":true}'));
      const size = log.heads.at(-1)!;
      const root = MerkleAppender.empty().append(leaves.slice(0, size)).root;
      const timestamp = Date.now();
      const signature = signTreeHead(key.privateKey, {
        logId: log.tenantId,
        treeSize: size,
        timestamp,
        rootHash: root,
      });
      await sql`update audit.tree_heads set root_hash = ${root}, signature = ${signature}, signed_at_ms = ${timestamp}
        where tenant_id = ${log.tenantId} and tree_size = ${size}`.execute(t.node.db.kysely);
      const report = await serverVerify(t, log);
      expect(report.failure).toMatchObject({ reason: 'inconsistent_tree_heads' });
      expect([second, size]).toContain(report.failure!.tree_size);
      expect(first).toBeGreaterThan(0);
      const offline = await offlineVerify(t, log);
      expect(offline.failure).toMatchObject({
        reason: 'inconsistent_tree_heads',
        tree_size: report.failure!.tree_size,
      });
    });

    it('detects a truncated log and says where the records stop', async () => {
      const log = await buildLog(t);
      const cut = log.records[5]!.leaf_index;
      const size = log.heads.at(-1)!;
      await sql`delete from audit.records where tenant_id = ${log.tenantId} and leaf_index >= ${cut}`.execute(
        t.node.db.kysely,
      );
      await expectDetected(t, log, { reason: 'log_truncated', leaf_index: cut, tree_size: size });
    });
  });
}
