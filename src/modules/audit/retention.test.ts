/**
 * Retention (issue 5 item 9): the durable `audit.retention` job deletes payloads past each
 * product's retention, per tenant settings, and keeps the leaf hashes so proofs still verify.
 * The module runs with a clock the test moves; the job runs through the real JobQueue.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useDatabase } from '../../../test/support/db.js';
import { drivers } from '../../../test/support/drivers.js';
import { MASTER_KEY } from '../../../test/support/warden.js';
import { ManualClock } from '../../platform/clock.js';
import { JobQueue } from '../../platform/jobs.js';
import { parseMasterKeys, SecretsStore } from '../../platform/secrets.js';
import { type AuditModule, createAuditModule, parsePublicKey, verifyEvidence } from './index.js';
import { leafHash, verifyInclusion } from './merkle.js';

const DAY = 86_400_000;

for (const driver of drivers()) {
  describe(`audit retention (${driver.name})`, () => {
    const t = useDatabase(driver);
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    let audit: AuditModule;
    let jobs: JobQueue;
    const [a, b] = [randomUUID(), randomUUID()];
    const ids: Record<string, Record<string, string>> = { [a]: {}, [b]: {} };

    beforeAll(async () => {
      const log = pino({ level: 'silent' });
      audit = createAuditModule({
        db: t.db,
        clock,
        secrets: new SecretsStore(t.db, parseMasterKeys(MASTER_KEY)),
        log,
      });
      jobs = new JobQueue({ db: t.db, log, pollMs: 50, retryBaseMs: 20 });
      audit.registerJobs!(jobs);
      await jobs.start();
      await audit.start!();
      for (const tenant of [a, b]) {
        for (const product of ['messaging', 'runtime', 'metering', 'oversight', 'crm']) {
          const appended = await audit.appendDurable({
            tenant_id: tenant,
            product,
            event_type: 'thing.done',
            actor: 'user:jane',
            resource_id: `res-${product}`,
            action: 'do',
            outcome: 'success',
            metadata: { product, secret_sauce: 'personal detail' },
          });
          ids[tenant]![product] = appended.record_id;
        }
      }
      await audit.signPending();
    });
    afterAll(async () => {
      await audit?.stop?.();
      await jobs?.stop();
    });

    /** Runs the durable job once, as the scheduler would, and waits for it to finish. */
    async function runRetentionJob(): Promise<void> {
      const id = await jobs.enqueue(t.db.kysely, 'audit.retention');
      for (let i = 0; i < 400; i++) {
        const row = await sql<{ status: string; last_error: string | null }>`
          select status, last_error from platform.jobs where id = ${id}`.execute(t.db.kysely);
        if (row.rows[0]?.status === 'done') return;
        if (row.rows[0]?.status === 'dead') throw new Error(`retention job died: ${row.rows[0].last_error}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error('retention job did not finish');
    }

    const statusOf = async (tenant: string) => {
      const out: Record<string, string> = {};
      for (const [product, id] of Object.entries(ids[tenant]!))
        out[product] = (await audit.service.getRecordWithProof(tenant, id)).record.status;
      return out;
    };

    it('schedules the job hourly', async () => {
      const row = await sql<{ schedule: string }>`select schedule from platform.recurring_jobs
        where name = 'audit.retention'`.execute(t.db.kysely);
      expect(row.rows[0]?.schedule).toBe('every 1h');
    });

    let keptCopy: Buffer;

    it('keeps every payload within retention', async () => {
      // A copy kept outside the log (an earlier export) of the record that will expire first.
      keptCopy = Buffer.from(
        (await audit.service.getRecordWithProof(a, ids[a]!.messaging!)).canonical!,
        'base64',
      );
      clock.advance(89 * DAY);
      await runRetentionJob();
      expect(await statusOf(a)).toEqual({
        messaging: 'active',
        runtime: 'active',
        metering: 'active',
        oversight: 'active',
        crm: 'active',
      });
    });

    it('expires messaging after 90 days: payload gone, leaf hash kept, proof still verifies', async () => {
      clock.advance(2 * DAY);
      await runRetentionJob();
      expect(await statusOf(a)).toMatchObject({ messaging: 'expired', runtime: 'active' });
      const got = await audit.service.getRecordWithProof(a, ids[a]!.messaging!);
      expect(got.canonical).toBeNull();
      expect(got.record).toMatchObject({
        status: 'expired',
        product: 'messaging',
        actor: null,
        resource_id: null,
        metadata: null,
      });
      const stored = await sql<{
        canonical: Uint8Array | null;
        actor: string | null;
        expired_at: Date | null;
      }>`
        select canonical, actor, expired_at from audit.records where record_id = ${ids[a]!.messaging}`.execute(
        t.db.kysely,
      );
      expect(stored.rows[0]).toMatchObject({ canonical: null, actor: null });
      expect(new Date(stored.rows[0]!.expired_at!).getTime()).toBe(clock.now());
      const path = got.inclusion_proof.audit_path.map((p) => Buffer.from(p, 'base64'));
      expect(
        verifyInclusion(
          got.inclusion_proof.leaf_index,
          got.inclusion_proof.tree_size,
          Buffer.from(got.leaf_hash, 'base64'),
          path,
          Buffer.from(got.tree_head.sha256_root_hash, 'base64'),
        ),
      ).toEqual({ ok: true });
      // The copy kept elsewhere is still shown to be the record that was logged.
      expect(leafHash(keptCopy).toString('base64')).toBe(got.leaf_hash);
      // The whole log still verifies, server-side and offline, roots recomputed from the kept hashes.
      const report = await audit.service.verify(a, {});
      expect(report).toMatchObject({ ok: true, checked: { full_root_recomputed: true } });
      let text = '';
      for await (const part of await audit.service.exportEvidence(a, {})) text += part;
      const pkg = JSON.parse(text);
      const expired = pkg.records.find((r: { record_id: string }) => r.record_id === ids[a]!.messaging);
      expect(expired).toMatchObject({ status: 'expired', canonical: null });
      expect(verifyEvidence(pkg, { publicKey: parsePublicKey(pkg.public_key.spki_der) }).ok).toBe(true);
    });

    it('applies a tenant’s own retention to that tenant only', async () => {
      await audit.service.putSettings(b, { retention_days: { runtime: 30, crm: 60 } });
      await runRetentionJob();
      expect(await statusOf(b)).toEqual({
        messaging: 'expired',
        runtime: 'expired',
        metering: 'active',
        oversight: 'active',
        crm: 'expired',
      });
      expect(await statusOf(a)).toMatchObject({ runtime: 'active', crm: 'active' });
    });

    it('expires runtime after a year and metering, oversight and the rest after 7 years', async () => {
      clock.advance(275 * DAY); // day 366
      await runRetentionJob();
      expect(await statusOf(a)).toEqual({
        messaging: 'expired',
        runtime: 'expired',
        metering: 'active',
        oversight: 'active',
        crm: 'active',
      });
      clock.advance((2557 - 366 + 1) * DAY);
      await runRetentionJob();
      expect(Object.values(await statusOf(a))).toEqual(Array(5).fill('expired'));
      // Nothing of the payload is left anywhere, and every leaf still proves.
      const rows = await sql<{ n: number }>`select count(*)::int as n from audit.records
        where tenant_id = ${a} and (canonical is not null or actor is not null)`.execute(t.db.kysely);
      expect(Number(rows.rows[0]!.n)).toBe(0);
      expect((await audit.service.verify(a, {})).ok).toBe(true);
      const leaves = await sql<{
        n: number;
      }>`select sum(octet_length(hashes))::int / 32 as n from audit.tiles
        where tenant_id = ${a} and level = 0`.execute(t.db.kysely);
      expect(Number(leaves.rows[0]!.n)).toBe(5);
    });
  });
}
