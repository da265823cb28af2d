/**
 * Inclusion and consistency proofs over HTTP on a large log: latency percentiles of
 * GET /v1/audit/logs/{id} (record + inclusion proof) and GET /v1/audit/consistency, beside
 * GET /health/live on the same node in the same run (the HTTP floor).
 *
 *   npx tsx bench/audit-proofs.ts [leaves=1000000] [requests=2000]
 *   (WARDEN_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test; a scratch database is
 *   created and dropped)
 *
 * The log is built inside PostgreSQL (records, then every level of subtree hashes with sha256(),
 * stored as tiles of 16 hashes of levels 0, 4, 8, …),
 * because appending a million records through the module would take minutes and is measured by
 * bench/audit-append.ts. The hashing is RFC 6962's: the node checks every proof it serves with
 * the module's verifier, and the head it signs over the frontier it reads.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import pino from 'pino';
import {
  leafHash,
  rootFromHashes,
  rootKeys,
  verifyConsistency,
  verifyInclusion,
} from '../src/modules/audit/merkle.js';
import { getNodes } from '../src/modules/audit/store.js';
import { loadConfig } from '../src/platform/config.js';
import { buildWarden } from '../src/server.js';

const adminUrl = process.env.WARDEN_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const LEAVES = Number(process.argv[2] ?? 1_000_000);
const REQUESTS = Number(process.argv[3] ?? 2000);
const TOKEN = `wdn_op_${randomBytes(24).toString('base64url')}`;

async function admin(q: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(q);
  await c.end();
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed(n: number, request: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await request(i);
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

async function main(): Promise<void> {
  const name = `warden_bench_${randomBytes(5).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const node = await buildWarden(
    {
      ...loadConfig({ env: {}, file: undefined }),
      dataDir,
      databaseUrl: url.toString(),
      port: 0,
      logLevel: 'silent',
      adminToken: TOKEN,
      masterKey: `k1:${randomBytes(32).toString('base64')}`,
      rateLimitPerSecond: 0,
      maxEventLoopDelayMs: 0,
    },
    { logger: pino({ level: 'silent' }) },
  );
  try {
    const tenant = randomUUID();
    const db = node.db;
    const build = performance.now();
    // Records: canonical JSON built by PostgreSQL; the leaf hash is of exactly those bytes.
    await sql`insert into audit.records (tenant_id, leaf_index, record_id, product, event_type, actor, resource_id,
        action, outcome, occurred_at, canonical)
      select ${tenant}::uuid, i, id, 'runtime', 'sandbox.created', 'agent:bench', 'sbx_' || i, 'create', 'success', at,
        convert_to(json_build_object('record_id', id, 'tenant_id', ${tenant}::uuid, 'product', 'runtime',
          'event_type', 'sandbox.created', 'actor', 'agent:bench', 'resource_id', 'sbx_' || i, 'action', 'create',
          'outcome', 'success', 'timestamp', to_char(at at time zone 'utc', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'metadata', json_build_object('i', i))::text, 'UTF8')
      from (select i, gen_random_uuid() as id, date_trunc('milliseconds', now()) as at
            from generate_series(0, ${LEAVES - 1}) as i) s`.execute(db.kysely);
    // Every level of subtree hashes in a scratch table, then the tiled levels (0, 8, 16) as tiles.
    await sql`create unlogged table public.bench_nodes (level int, idx bigint, hash bytea, primary key (level, idx))`.execute(
      db.kysely,
    );
    await sql`insert into public.bench_nodes (level, idx, hash)
      select 0, leaf_index, sha256('\\x00'::bytea || canonical) from audit.records
      where tenant_id = ${tenant}::uuid`.execute(db.kysely);
    for (let level = 1; 2 ** level <= LEAVES; level++) {
      await sql`insert into public.bench_nodes (level, idx, hash)
        select ${level}, l.idx / 2, sha256('\\x01'::bytea || l.hash || r.hash)
        from public.bench_nodes l join public.bench_nodes r on r.level = l.level and r.idx = l.idx + 1
        where l.level = ${level - 1} and l.idx % 2 = 0`.execute(db.kysely);
    }
    await sql`insert into audit.tiles (tenant_id, level, idx, hashes)
      select ${tenant}::uuid, level / 4, idx / 16, string_agg(hash, ''::bytea order by idx)
      from public.bench_nodes where level % 4 = 0 group by level / 4, idx / 16`.execute(db.kysely);
    await sql`drop table public.bench_nodes`.execute(db.kysely);
    const frontier = await getNodes(db.kysely, tenant, rootKeys(LEAVES));
    const frontierBytes = Buffer.concat(rootKeys(LEAVES).map((k) => frontier.get(`${k.level}/${k.index}`)!));
    await sql`insert into audit.logs (tenant_id, tree_size, frontier) values (${tenant}::uuid, ${LEAVES}, ${frontierBytes})`.execute(
      db.kysely,
    );
    await sql`analyze`.execute(db.kysely);
    const buildSeconds = (performance.now() - build) / 1000;

    const base = await node.listen();
    const headers = { authorization: `Bearer ${TOKEN}`, 'x-warden-tenant': tenant };
    const sth = (await (await fetch(`${base}/v1/audit/sth`, { headers })).json()) as {
      tree_size: number;
      sha256_root_hash: string;
    };
    if (sth.tree_size !== LEAVES)
      throw new Error(`signed head has size ${sth.tree_size}, expected ${LEAVES}`);
    const root = Buffer.from(sth.sha256_root_hash, 'base64');

    // Which records to ask for: random leaves, ids looked up first so the timing is the route's.
    const picks = Array.from({ length: REQUESTS }, () => Math.floor(Math.random() * LEAVES));
    const ids = await sql<{ leaf_index: number; record_id: string }>`select leaf_index, record_id
      from audit.records where tenant_id = ${tenant}::uuid and leaf_index = any(${picks}::bigint[])`.execute(
      db.kysely,
    );
    const idOf = new Map(ids.rows.map((r) => [Number(r.leaf_index), r.record_id]));

    const warm = 200;
    await timed(warm, async () => {
      await (await fetch(`${base}/health/live`)).arrayBuffer();
    });
    const health = await timed(REQUESTS, async () => {
      await (await fetch(`${base}/health/live`)).arrayBuffer();
    });
    let badProofs = 0;
    await timed(warm, async (i) => {
      await (await fetch(`${base}/v1/audit/logs/${idOf.get(picks[i]!)}`, { headers })).arrayBuffer();
    });
    const inclusion = await timed(REQUESTS, async (i) => {
      const body = (await (
        await fetch(`${base}/v1/audit/logs/${idOf.get(picks[i]!)}`, { headers })
      ).json()) as {
        canonical: string;
        inclusion_proof: { leaf_index: number; tree_size: number; audit_path: string[] };
      };
      const p = body.inclusion_proof;
      const ok = verifyInclusion(
        p.leaf_index,
        p.tree_size,
        leafHash(Buffer.from(body.canonical, 'base64')),
        p.audit_path.map((h) => Buffer.from(h, 'base64')),
        root,
      ).ok;
      if (!ok) badProofs++;
    });
    // Consistency from random earlier sizes to the signed head (any 1 ≤ first ≤ second is served).
    const firsts = Array.from({ length: REQUESTS }, () => 1 + Math.floor(Math.random() * (LEAVES - 1)));
    await timed(warm, async (i) => {
      await (
        await fetch(`${base}/v1/audit/consistency?first=${firsts[i]}&second=${LEAVES}`, { headers })
      ).arrayBuffer();
    });
    const consistency = await timed(REQUESTS, async (i) => {
      const body = (await (
        await fetch(`${base}/v1/audit/consistency?first=${firsts[i]}&second=${LEAVES}`, { headers })
      ).json()) as { consistency: string[] };
      if (body.consistency.length === 0) badProofs++;
    });
    // Spot-check consistency proofs against roots recomputed from the stored subtree hashes.
    for (const first of firsts.slice(0, 50)) {
      const oldRoot = rootFromHashes(first, await getNodes(db.kysely, tenant, rootKeys(first)));
      const body = (await (
        await fetch(`${base}/v1/audit/consistency?first=${first}&second=${LEAVES}`, { headers })
      ).json()) as { consistency: string[] };
      const proof = body.consistency.map((h) => Buffer.from(h, 'base64'));
      if (!verifyConsistency(first, LEAVES, proof, oldRoot, root).ok) badProofs++;
    }
    if (badProofs > 0) throw new Error(`${badProofs} proofs did not verify`);

    const row = (label: string, s: number[]) =>
      `| ${label} | ${pct(s, 50).toFixed(2)} | ${pct(s, 99).toFixed(2)} | ${s[s.length - 1]!.toFixed(2)} |`;
    console.log(
      `audit proofs over HTTP, log of ${LEAVES.toLocaleString('en-US')} leaves (built in ${buildSeconds.toFixed(0)} s), ${REQUESTS} sequential requests each after ${warm} warm-up`,
    );
    console.log('');
    console.log('| request | p50 ms | p99 ms | max ms |');
    console.log('| --- | ---: | ---: | ---: |');
    console.log(row('GET /health/live (HTTP floor)', health));
    console.log(row('GET /v1/audit/logs/{id} (record + inclusion proof)', inclusion));
    console.log(row('GET /v1/audit/consistency?first=m&second=n', consistency));
    console.log('');
    console.log(
      `every inclusion proof verified against the signed root; 50 consistency proofs verified against recomputed old roots`,
    );
  } finally {
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
    await admin(`drop database if exists ${name} with (force)`);
  }
}

await main();
