/**
 * Audit append throughput into PostgreSQL, three ways in the same run over the same 1 KiB records:
 *
 *  1. the audit module's buffered append (`audit.append`: redaction, RFC 8785 canonical bytes,
 *     leaf hash, batched INSERTs of records, subtree hashes and the log state per transaction);
 *  2. a one-INSERT-per-record baseline: the same canonical bytes, one autocommit INSERT each, into
 *     a copy of audit.records (same columns and indexes), no hashing;
 *  3. a raw COPY FROM STDIN of the same bytes into such a copy, no hashing, no redaction.
 *
 *   npx tsx bench/audit-append.ts [seconds=30] [tenants=16] [prepareWorkers=0] [--pglite]
 *   (WARDEN_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test; a scratch database is
 *   created and dropped). With --pglite, the embedded database instead (on its thread, in a temporary
 *   data directory, the audit writer thread reaching it through an attached port, as `npm start`
 *   runs): 1 and 2 only, COPY not being reachable through the PGlite thread.
 *
 * Afterwards every tenant's log gets a signed head and one tenant's whole log is verified
 * (every leaf, proof, signature and consistency proof), so the throughput is of a correct log.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import { MIGRATION_SOURCES } from '../src/module-list.js';
import { type AuditAppend, createAuditModule } from '../src/modules/audit/index.js';
import { prepare } from '../src/modules/audit/log-writer.js';
import { createRedactor } from '../src/modules/audit/redaction/index.js';
import { systemClock } from '../src/platform/clock.js';
import { openDatabase } from '../src/platform/db/database.js';
import { migrate } from '../src/platform/db/migrate.js';
import { parseMasterKeys, SecretsStore } from '../src/platform/secrets.js';

const adminUrl = process.env.WARDEN_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const PGLITE = process.argv.includes('--pglite');
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const SECONDS = Number(positional[0] ?? 30);
const TENANTS = Number(positional[1] ?? 16);
const WORKERS = Number(positional[2] ?? 0);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

const WORDS =
  'sandbox created for the nightly evaluation run policy allowed the request after the approval of the on-call reviewer budget remaining within the limit of the quarter tool invocation completed'.split(
    ' ',
  );

/** A record whose canonical form is about 1 KiB; one in ten carries an e-mail address and a card. */
function makeRecord(i: number, tenants: string[]): AuditAppend {
  const words: string[] = [];
  for (let w = 0; w < 110; w++) words.push(WORDS[(i * 7 + w * 13) % WORDS.length]!);
  return {
    tenant_id: tenants[i % tenants.length]!,
    product: i % 3 === 0 ? 'runtime' : 'metering',
    event_type: 'sandbox.created',
    actor: `agent:${(i % 97).toString(16).padStart(8, '0')}`,
    resource_id: `sbx_${i}`,
    action: 'sandbox.create',
    outcome: 'success',
    metadata: {
      note: words.join(' '),
      ...(i % 10 === 0 ? { contact: `ops-${i}@example.com`, card: '4111 1111 1111 1111' } : {}),
      seq: i,
    },
  };
}

async function createDatabase(): Promise<string> {
  const name = `warden_bench_${randomBytes(5).toString('hex')}`;
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`create database ${name}`);
  await c.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropDatabase(url: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`drop database if exists ${new URL(url).pathname.slice(1)} with (force)`);
  await c.end();
}

/**
 * A `COPY … FROM STDIN` query for node-postgres (its Client accepts any object with `submit`): the
 * rows go out as CopyData messages, then CopyDone. pg-copy-streams does the same as a stream; this
 * repository does not depend on it.
 */
class CopyIn {
  private resolve!: () => void;
  private reject!: (err: Error) => void;
  readonly done = new Promise<void>((res, rej) => {
    this.resolve = res;
    this.reject = rej;
  });
  constructor(
    readonly text: string,
    private readonly chunks: Buffer[],
  ) {}
  submit(connection: { query(text: string): void }) {
    connection.query(this.text);
  }
  handleCopyInResponse(connection: { sendCopyFromChunk(b: Buffer): void; endCopyFrom(): void }) {
    for (const c of this.chunks) connection.sendCopyFromChunk(c);
    connection.endCopyFrom();
  }
  handleCommandComplete() {}
  handleReadyForQuery() {
    this.resolve();
  }
  handleError(err: Error) {
    this.reject(err);
  }
}

const columns =
  'tenant_id, leaf_index, record_id, product, event_type, actor, resource_id, action, outcome, occurred_at, canonical';

interface Row {
  tenant: string;
  leaf: number;
  id: string;
  product: string;
  event: string;
  actor: string;
  resource: string | null;
  action: string;
  outcome: string;
  at: string;
  canonical: Buffer;
}

async function main(): Promise<void> {
  const dataDir = PGLITE ? mkdtempSync(join(tmpdir(), 'warden-bench-audit-')) : undefined;
  const url = dataDir ? undefined : await createDatabase();
  const db = await openDatabase(dataDir ? { dataDir: join(dataDir, 'data') } : { url, poolSize: 4 });
  try {
    await migrate(db, MIGRATION_SOURCES);
    const tenants = Array.from({ length: TENANTS }, () => randomUUID());
    const log = pino({ level: 'warn' });
    const audit = createAuditModule({
      db,
      clock: systemClock,
      secrets: new SecretsStore(db, parseMasterKeys(`k1:${randomBytes(32).toString('base64')}`)),
      log,
      prepareWorkers: WORKERS,
    });
    await audit.start!();
    const pool = 2000;
    const records = Array.from({ length: pool }, (_, i) => makeRecord(i, tenants));

    // Where one record's CPU time goes (single thread, no database).
    const redactor = createRedactor();
    const t0 = performance.now();
    const prepared = records.map((r, i) => prepare(r, randomUUID(), Date.now() + i, redactor));
    const cpuUs = ((performance.now() - t0) * 1000) / pool;
    const t1 = performance.now();
    for (const r of records) prepare(r, randomUUID(), Date.now(), undefined);
    const noRedactUs = ((performance.now() - t1) * 1000) / pool;
    const avgBytes = prepared.reduce((s, p) => s + p.canonical.length, 0) / pool;
    const hits = prepared.filter((p) => p.canonical.includes('[REDACTED:')).length;

    // 1. Buffered append.
    let appended = 0;
    const started = performance.now();
    const end = started + SECONDS * 1000;
    while (performance.now() < end) {
      for (let k = 0; k < 500; k++) {
        try {
          audit.append(records[appended % pool]!);
          appended++;
        } catch {
          await audit.flush(); // the buffer is full: the database is the bottleneck, wait for it
          break;
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    await audit.flush();
    const appendSeconds = (performance.now() - started) / 1000;
    const appendRate = appended / appendSeconds;

    // Tree heads and proofs intact afterwards.
    await audit.signPending();
    const sizes = await db.kysely.selectFrom('audit.logs').select(['tenant_id', 'tree_size']).execute();
    const total = sizes.reduce((s, r) => s + Number(r.tree_size), 0);
    if (total !== appended) throw new Error(`appended ${appended} but the logs hold ${total}`);
    const checkStart = performance.now();
    const verify = await audit.service.verify(tenants[0]!, {
      from_index: 0,
      to_index: Math.min(100_000, Number(sizes.find((r) => r.tenant_id === tenants[0])!.tree_size)),
    });
    const verifySeconds = (performance.now() - checkStart) / 1000;
    if (!verify.ok) throw new Error(`the log does not verify: ${JSON.stringify(verify.failure)}`);
    await audit.stop!();

    // The same rows for the baselines: the canonical bytes the subject stored.
    const rows: Row[] = prepared.map((p, i) => ({
      tenant: p.tenantId,
      leaf: i,
      id: p.record.record_id,
      product: p.record.product,
      event: p.record.event_type,
      actor: p.record.actor,
      resource: p.record.resource_id,
      action: p.record.action,
      outcome: p.record.outcome,
      at: p.record.timestamp,
      canonical: p.canonical,
    }));

    // 2. One INSERT per record, serial, for a third of the subject's time (its rate is steady).
    // node-postgres straight to PostgreSQL; on PGlite the node's own connection (its thread).
    const client = PGLITE ? undefined : new pg.Client({ connectionString: url });
    const query = async (text: string, values: unknown[] = []) => {
      if (client) await client.query(text, values);
      else await db.kysely.executeQuery(CompiledQuery.raw(text, values));
    };
    await client?.connect();
    await query('create schema bench');
    await query('create table bench.single (like audit.records including all)');
    await query('create table bench.copied (like audit.records including all)');
    let singles = 0;
    const sStart = performance.now();
    const sEnd = sStart + (SECONDS * 1000) / 3;
    while (performance.now() < sEnd) {
      const r = rows[singles % pool]!;
      await query(
        `insert into bench.single (${columns}) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          r.tenant,
          singles,
          randomUUID(),
          r.product,
          r.event,
          r.actor,
          r.resource,
          r.action,
          r.outcome,
          r.at,
          r.canonical,
        ],
      );
      singles++;
    }
    const singleRate = singles / ((performance.now() - sStart) / 1000);

    // 3. Raw COPY of the same bytes (text format, bytea as \x hex), in 5000-row statements.
    let copied = 0;
    const cStart = performance.now();
    const cEnd = cStart + (SECONDS * 1000) / 3;
    while (client && performance.now() < cEnd) {
      const chunks: Buffer[] = [];
      for (let k = 0; k < 5000; k++) {
        const r = rows[(copied + k) % pool]!;
        chunks.push(
          Buffer.from(
            `${r.tenant}\t${copied + k}\t${randomUUID()}\t${r.product}\t${r.event}\t${r.actor}\t${r.resource ?? '\\N'}\t${r.action}\t${r.outcome}\t${r.at}\t\\\\x${r.canonical.toString('hex')}\n`,
          ),
        );
      }
      const q = new CopyIn(`copy bench.copied (${columns}) from stdin`, chunks);
      client.query(q as never);
      await q.done;
      copied += 5000;
    }
    const copyRate = copied / ((performance.now() - cStart) / 1000);
    await client?.end();

    console.log(
      `audit append into ${PGLITE ? 'embedded PGlite (its thread; the audit writer thread attached)' : 'PostgreSQL'}, ${SECONDS} s, ${TENANTS} tenants, ${fmt(avgBytes)} B canonical records (${(hits / pool) * 100}% with PII), ${WORKERS} prepare worker(s)`,
    );
    console.log('');
    console.log('| path | records/s | ratio |');
    console.log('| --- | ---: | ---: |');
    console.log(
      `| buffered audit.append (redaction, JCS, leaf hash, subtree hashes, signed later) | ${fmt(appendRate)} | 1.00 |`,
    );
    console.log(
      `| one INSERT per record (same bytes, no hashing), serial | ${fmt(singleRate)} | append is ${(appendRate / singleRate).toFixed(1)}× |`,
    );
    if (client)
      console.log(
        `| raw COPY of the same bytes (no hashing, no redaction) | ${fmt(copyRate)} | append is ${((appendRate / copyRate) * 100).toFixed(0)}% |`,
      );
    console.log('');
    console.log(`appended ${fmt(appended)} records in ${appendSeconds.toFixed(1)} s (final flush included)`);
    console.log(
      `CPU per record, no database: ${cpuUs.toFixed(1)} µs with redaction, ${noRedactUs.toFixed(1)} µs without (canonical JSON + SHA-256)`,
    );
    const prepareSeconds = (appended * cpuUs) / 1e6;
    console.log(
      `time: about ${prepareSeconds.toFixed(1)} s of the ${appendSeconds.toFixed(1)} s preparing records on the Node thread (${((prepareSeconds / appendSeconds) * 100).toFixed(0)}%); the next batch is prepared while PostgreSQL writes the current one`,
    );
    console.log(
      `afterwards: heads signed for ${sizes.length} logs; tenant 0 (${fmt(verify.checked.records)} records, ${verify.checked.tree_heads} heads) verified in ${verifySeconds.toFixed(1)} s: ok`,
    );
  } finally {
    await db.close();
    if (url) await dropDatabase(url);
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
