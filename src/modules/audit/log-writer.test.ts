/**
 * The in-process interface (issue 5 item 4): `append` is an enqueue, batches commit in one
 * transaction each, `flush`/`appendDurable` give durability, `stop` flushes, and a failed batch
 * leaves the tree as it was and is retried. The same suite runs a second time with the writer on a
 * thread of its own (writer-thread.ts: its own pool on PostgreSQL, a port to the embedded
 * database's thread on PGlite), which must keep the same contract.
 */
import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabase } from '../../../test/support/db.js';
import { drivers } from '../../../test/support/drivers.js';
import { MASTER_KEY } from '../../../test/support/warden.js';
import { systemClock } from '../../platform/clock.js';
import { ProblemError } from '../../platform/http/problem.js';
import { parseMasterKeys, SecretsStore } from '../../platform/secrets.js';
import { type AuditAppend, type AuditModule, createAuditModule } from './index.js';
import { ThreadedAuditBuffer } from './writer-thread.js';

const rec = (tenant: string, i: number): AuditAppend => ({
  tenant_id: tenant,
  product: 'runtime',
  event_type: 'sandbox.created',
  actor: `agent:a${i % 3}`,
  resource_id: `sbx-${i}`,
  action: 'create',
  outcome: 'success',
  metadata: { i },
});

const modes = drivers().flatMap((driver) => [
  { driver, thread: false },
  { driver, thread: true },
]);

for (const { driver, thread } of modes) {
  describe(`audit in-process append (${driver.name}${thread ? ', writer thread' : ''})`, () => {
    const t = useDatabase(driver);
    let audit: AuditModule;
    const build = (
      options: {
        flushIntervalMs?: number;
        maxBatch?: number;
        maxBuffered?: number;
        prepareWorkers?: number;
      } = {},
    ) =>
      createAuditModule({
        db: t.db,
        clock: systemClock,
        secrets: new SecretsStore(t.db, parseMasterKeys(MASTER_KEY)),
        log: pino({ level: 'silent' }),
        ...options,
        writerThread: thread,
      });
    const countOf = async (tenant: string) =>
      Number(
        (
          await sql<{
            n: number;
          }>`select count(*)::int as n from audit.records where tenant_id = ${tenant}`.execute(t.db.kysely)
        ).rows[0]!.n,
      );

    beforeAll(async () => {
      // A long interval: nothing is written until a batch fills or someone flushes.
      audit = build({ flushIntervalMs: 60_000, maxBatch: 5000 });
      await audit.start!();
    });
    afterAll(async () => {
      await audit?.stop?.();
    });

    it('returns a record id at once and writes nothing until the flush', async () => {
      const tenant = randomUUID();
      const id = audit.append(rec(tenant, 0));
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/); // UUIDv7
      expect(await countOf(tenant)).toBe(0);
      await audit.flush();
      expect(await countOf(tenant)).toBe(1);
      const got = await audit.service.getRecordWithProof(tenant, id);
      expect(got.record).toMatchObject({ record_id: id, leaf_index: 0, status: 'active' });
    });

    it('refuses a bad record at append time, naming the field', () => {
      expect(() => audit.append({ ...rec(randomUUID(), 0), product: 'Bad Product' })).toThrowError(
        expect.objectContaining({ type: '/problems/audit-invalid-record', extra: { field: 'product' } }),
      );
      expect(() => audit.append({ ...rec(randomUUID(), 0), metadata: { n: Number.NaN } })).toThrowError(
        expect.objectContaining({ type: '/problems/audit-invalid-record' }),
      );
    });

    it('writes 12,000 records of three tenants in batches: gap-free leaf indexes, every log verifies', async () => {
      const tenants = [randomUUID(), randomUUID(), randomUUID()];
      const ids: string[][] = [[], [], []];
      for (let i = 0; i < 12_000; i++) ids[i % 3]!.push(audit.append(rec(tenants[i % 3]!, i)));
      await audit.flush();
      for (const [k, tenant] of tenants.entries()) {
        const rows = await sql<{ leaf_index: number; record_id: string }>`select leaf_index, record_id
          from audit.records where tenant_id = ${tenant} order by leaf_index`.execute(t.db.kysely);
        expect(rows.rows.map((r) => Number(r.leaf_index))).toEqual([...Array(4000).keys()]);
        expect(rows.rows.map((r) => r.record_id)).toEqual(ids[k]); // append order is leaf order
        const report = await audit.service.verify(tenant, {});
        expect(report).toMatchObject({ ok: true, checked: { records: 4000, full_root_recomputed: true } });
      }
    });

    it('appendDurable resolves once the record is committed, with its leaf index and hash', async () => {
      const tenant = randomUUID();
      const first = await audit.appendDurable(rec(tenant, 1));
      const second = await audit.appendDurable(rec(tenant, 2));
      expect([first.leaf_index, second.leaf_index]).toEqual([0, 1]);
      expect(await countOf(tenant)).toBe(2);
      const got = await audit.service.getRecordWithProof(tenant, second.record_id);
      expect(got.leaf_hash).toBe(second.leaf_hash);
    });

    it('prepares on worker threads the same bytes as on this thread, redaction included', async () => {
      const pooled = build({ flushIntervalMs: 60_000, prepareWorkers: 2 });
      await pooled.start!();
      try {
        const tenant = randomUUID();
        const withPii = { ...rec(tenant, 0), metadata: { note: 'mail bob@example.org', i: 0 } };
        const ids = [pooled.append(withPii), ...[1, 2, 3, 4].map((i) => pooled.append(rec(tenant, i)))];
        await pooled.flush();
        const rows = await sql<{ record_id: string; canonical: Uint8Array }>`select record_id, canonical
          from audit.records where tenant_id = ${tenant} order by leaf_index`.execute(t.db.kysely);
        expect(rows.rows.map((r) => r.record_id)).toEqual(ids);
        const first = Buffer.from(rows.rows[0]!.canonical).toString('utf8');
        expect(first).toContain('mail [REDACTED:EMAIL]');
        expect(first).not.toContain('bob@example.org');
        expect((await pooled.service.verify(tenant, {})).ok).toBe(true);
      } finally {
        await pooled.stop!();
      }
    });

    it('refuses with audit-buffer-full (503, Retry-After) when the database is not keeping up', async () => {
      const small = build({ flushIntervalMs: 60_000, maxBatch: 1000, maxBuffered: 5 });
      await small.start!();
      const tenant = randomUUID();
      for (let i = 0; i < 5; i++) small.append(rec(tenant, i));
      let refused: unknown;
      try {
        small.append(rec(tenant, 5));
      } catch (err) {
        refused = err;
      }
      expect(refused).toBeInstanceOf(ProblemError);
      expect(refused).toMatchObject({
        status: 503,
        type: '/problems/audit-buffer-full',
        headers: { 'retry-after': '1' },
      });
      // Clean shutdown writes what was buffered.
      await small.stop!();
      expect(await countOf(tenant)).toBe(5);
    });

    it('leaves the tree untouched when a batch fails, keeps the records queued, lets other tenants through, and writes them on retry', async () => {
      const tenant = randomUUID();
      await audit.appendDurable(rec(tenant, 0));
      // A stray row at the next leaf index makes the next batch's INSERT fail inside its transaction.
      await sql`insert into audit.records (tenant_id, leaf_index, record_id, product, event_type, occurred_at)
        values (${tenant}, 1, ${randomUUID()}, 'x', 'x', now())`.execute(t.db.kysely);
      const other = randomUUID();
      const queued = [
        audit.append(rec(tenant, 1)),
        audit.append(rec(other, 1)),
        audit.append(rec(tenant, 2)),
      ];
      await expect(audit.flush()).rejects.toThrow();
      expect(await countOf(other)).toBe(0); // that batch held both tenants
      // The broken log does not hold up another tenant's records: batches go one tenant at a time.
      await expect(audit.flush()).rejects.toThrow();
      await expect(audit.flush()).rejects.toThrow();
      expect(await countOf(other)).toBe(1);
      const state = await sql<{
        tree_size: number;
      }>`select tree_size from audit.logs where tenant_id = ${tenant}`.execute(t.db.kysely);
      expect(Number(state.rows[0]!.tree_size)).toBe(1);
      const nodes = await sql<{
        n: number;
      }>`select coalesce(sum(octet_length(hashes)), 0)::int / 32 as n from audit.tiles
        where tenant_id = ${tenant}`.execute(t.db.kysely);
      expect(Number(nodes.rows[0]!.n)).toBe(1); // only leaf 0's hash
      await sql`delete from audit.records where tenant_id = ${tenant} and leaf_index = 1`.execute(
        t.db.kysely,
      );
      await audit.flush();
      const rows = await sql<{
        record_id: string;
      }>`select record_id from audit.records where tenant_id = ${tenant}
        and leaf_index >= 1 order by leaf_index`.execute(t.db.kysely);
      expect(rows.rows.map((r) => r.record_id)).toEqual([queued[0], queued[2]]);
      expect((await audit.service.verify(tenant, {})).ok).toBe(true);
      expect((await audit.service.verify(other, {})).ok).toBe(true);
    });

    it('flush waits for records a batch already in flight took off the queue', async () => {
      const busy = build({ flushIntervalMs: 1 });
      await busy.start!();
      try {
        for (let round = 0; round < 5; round++) {
          const tenant = randomUUID();
          for (let i = 0; i < 2000; i++) busy.append(rec(tenant, i));
          // Let the 1 ms timer take them all in one batch, then flush while it is being prepared and written.
          await new Promise((r) => setTimeout(r, 3));
          await busy.flush();
          expect(await countOf(tenant)).toBe(2000);
        }
      } finally {
        await busy.stop!();
      }
    });

    it('applies a change of redaction settings to the records appended after it', async () => {
      const tenant = randomUUID();
      const withPii = (i: number) => ({ ...rec(tenant, i), metadata: { note: 'mail bob@example.org' } });
      audit.append(withPii(0));
      await audit.flush(); // the writer has now cached this tenant's settings (every kind)
      await audit.service.putSettings(tenant, { redaction_kinds: [] });
      audit.append(withPii(1));
      await audit.flush();
      const rows = await sql<{ canonical: Uint8Array }>`select canonical from audit.records
        where tenant_id = ${tenant} order by leaf_index`.execute(t.db.kysely);
      const text = rows.rows.map((r) => Buffer.from(r.canonical).toString('utf8'));
      expect(text[0]).toContain('[REDACTED:EMAIL]');
      expect(text[1]).toContain('bob@example.org');
    });

    it('appends an outbox record exactly once, with the event id as record id', async () => {
      const tenant = randomUUID();
      const consumer = audit.consumers!()[0]!;
      const event = {
        id: '01936f6e-0000-7000-8000-00000000abcd',
        topic: 'audit.record',
        tenantId: tenant,
        createdAt: new Date().toISOString(),
        payload: {
          product: 'identity',
          event_type: 'api_key.created',
          actor: 'user:u1',
          resource_id: 'k1',
          action: 'create',
          outcome: 'success',
          metadata: { note: 'mail jane@example.com' },
        },
      };
      await t.db.transaction((trx) => consumer.handle(event, trx));
      await t.db.transaction((trx) => consumer.handle(event, trx));
      expect(await countOf(tenant)).toBe(1);
      const got = await audit.service.getRecordWithProof(tenant, event.id);
      expect(got.record).toMatchObject({
        record_id: event.id,
        event_type: 'api_key.created',
        metadata: { note: 'mail [REDACTED:EMAIL]' },
      });
      // A payload that is not a record is the producer's bug: the delivery fails (and is retried).
      await expect(
        t.db.transaction((trx) =>
          consumer.handle({ ...event, id: randomUUID(), payload: { product: 'identity' } }, trx),
        ),
      ).rejects.toMatchObject({ type: '/problems/audit-invalid-record' });
    });
  });
}

for (const driver of drivers())
  describe(`audit writer thread (${driver.name})`, () => {
    const t = useDatabase(driver);
    const link = () => t.db.threadLink();

    it('is started again when it dies: what it held is reported lost, later records are written', async () => {
      const errors: { obj: object; msg: string }[] = [];
      const log = { error: (obj: object, msg: string) => errors.push({ obj, msg }), warn() {} };
      const writer = new ThreadedAuditBuffer({ link, now: Date.now, log, flushIntervalMs: 60_000 });
      await writer.start();
      try {
        const tenant = randomUUID();
        await writer.appendDurable(rec(tenant, 0));
        writer.append(rec(tenant, 1)); // held by the thread: its batch waits for the interval
        await new Promise((r) => setImmediate(r)); // handed over
        expect(writer.size).toBe(1);
        // What a crash of the thread looks like from here (the test reaches the private handle).
        await (writer as unknown as { worker: Worker }).worker.terminate();
        expect(errors).toEqual([
          expect.objectContaining({
            obj: expect.objectContaining({ lost: 1 }),
            msg: expect.stringMatching(/restarting/),
          }),
        ]);
        expect(writer.size).toBe(0);
        const after = writer.append(rec(tenant, 2));
        await writer.flush(); // waits for the new thread
        const rows = await sql<{ record_id: string; leaf_index: number }>`select record_id, leaf_index
          from audit.records where tenant_id = ${tenant} order by leaf_index`.execute(t.db.kysely);
        expect(rows.rows.map((r) => [r.record_id, Number(r.leaf_index)])).toEqual([
          [expect.any(String), 0],
          [after, 1],
        ]);
      } finally {
        await writer.stop();
      }
    });

    // PostgreSQL only: the embedded database is reached through its thread, which is already up.
    if (driver.name === 'postgres')
      it('refuses to start on a database it cannot reach', async () => {
        const url = new URL(t.url!);
        url.port = '1'; // nothing listens there
        const log = { error() {}, warn() {} };
        const writer = new ThreadedAuditBuffer({ link: () => ({ url: url.toString() }), now: Date.now, log });
        try {
          await expect(writer.start()).rejects.toThrow();
        } finally {
          await writer.stop();
        }
      });
  });
