/**
 * Inclusion and consistency proofs over HTTP on a large log: latency percentiles of
 * GET /v1/audit/logs/{id} (record + inclusion proof) and GET /v1/audit/consistency, beside
 * GET /health/live on the same node in the same run (the HTTP floor).
 *
 *   npx tsx bench/audit-proofs.ts [leaves=1000000] [requests=2000] [--export]
 *   (WARDEN_TEST_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/test; a scratch database is
 *   created and dropped)
 *
 * The node under test runs alone in its own process (`warden serve` on the scratch database), as in
 * the other HTTP benchmarks, so the client's own work and timers are not in its event loop. The log
 * is built beforehand inside PostgreSQL (records, then every level of subtree hashes with sha256(),
 * stored as tiles of 16 hashes of levels 0, 4, 8, …),
 * because appending a million records through the module would take minutes and is measured by
 * bench/audit-append.ts. The hashing is RFC 6962's: the node checks every proof it serves with
 * the module's verifier, and the head it signs over the frontier it reads.
 *
 * `--export` then times one page of GET /v1/audit/export at several sizes (its time on the node's
 * event loop), exports the whole log with `warden audit export` (an evidence stream of parts) and
 * verifies the file offline with `warden audit verify`, each a CLI process whose peak memory
 * (VmHWM) is sampled, beside the floor of reading and parsing the same file line by line in the
 * same run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
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
import { openDatabase } from '../src/platform/db/database.js';
import { buildWarden } from '../src/server.js';

const adminUrl = process.env.WARDEN_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const LEAVES = Number(positional[0] ?? 1_000_000);
const REQUESTS = Number(positional[1] ?? 2000);
const EXPORT = process.argv.includes('--export');
const TOKEN = `wdn_op_${randomBytes(24).toString('base64url')}`;

async function admin(q: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(q);
  await c.end();
}

/** A port the OS says is free now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** `warden serve` from source in a child process; resolves once /health/ready answers 200. */
async function serve(env: Record<string, string>): Promise<{ base: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...env, WARDEN_HOST: '127.0.0.1', WARDEN_PORT: String(port) },
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`warden serve exited ${child.exitCode}`);
    const ok = await fetch(`${base}/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return { base, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('warden serve did not become ready in 30 s');
}

/** Times sequential GETs with the lean client in its own process (bench/servers/latency-client.ts). */
async function latencies(
  base: string,
  headers: Record<string, string>,
  warm: number,
  sets: { label: string; paths: string[] }[],
): Promise<Record<string, { p50: number; p99: number; max: number; non2xx: number }>> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/servers/latency-client.ts'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stdin!.end(JSON.stringify({ base, headers, warm, sets }));
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`latency client exited ${code}`);
  return JSON.parse(out);
}

/** Runs a node script to its end: wall time and peak resident memory (VmHWM, sampled). */
async function measured(args: string[]): Promise<{ seconds: number; peakMb: number; stdout: string }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  let peakKb = 0;
  const sample = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (m) peakKb = Math.max(peakKb, Number(m[1]));
    } catch {
      // exited between samples
    }
  }, 100);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  clearInterval(sample);
  if (code !== 0) throw new Error(`${args.join(' ')} exited ${code}`);
  return { seconds: (performance.now() - t0) / 1000, peakMb: peakKb / 1024, stdout };
}

async function main(): Promise<void> {
  const name = `warden_bench_${randomBytes(5).toString('hex')}`;
  await admin(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'warden-bench-'));
  const masterKey = `k1:${randomBytes(32).toString('base64')}`;
  // Migrates the scratch database and creates the log's signing key; then closed, and the node
  // under test is started on the same database in its own process.
  const node = await buildWarden(
    {
      ...loadConfig({ env: {}, file: undefined }),
      dataDir,
      databaseUrl: url.toString(),
      port: 0,
      logLevel: 'silent',
      adminToken: TOKEN,
      masterKey,
      rateLimitPerSecond: 0,
      maxEventLoopDelayMs: 0,
    },
    { logger: pino({ level: 'silent' }) },
  );
  let served: { base: string; child: ChildProcess } | undefined;
  let db = node.db;
  try {
    const tenant = randomUUID();
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
    // Steady state before timing: a freshly bulk-loaded table is what autovacuum (and the
    // checkpointer) would otherwise be working through during the measurement.
    await sql`vacuum analyze`.execute(db.kysely);
    await sql`checkpoint`.execute(db.kysely);
    const buildSeconds = (performance.now() - build) / 1000;

    await node.listen(); // starts the module (signing key) before handing over
    await node.close();
    db = await openDatabase({ url: url.toString() });
    served = await serve({
      WARDEN_DATABASE_URL: url.toString(),
      WARDEN_DATA_DIR: dataDir,
      WARDEN_ADMIN_TOKEN: TOKEN,
      WARDEN_MASTER_KEY: masterKey,
      WARDEN_LOG_LEVEL: 'silent',
      WARDEN_RATE_LIMIT_PER_SECOND: '0',
      WARDEN_MAX_EVENT_LOOP_DELAY_MS: '0',
    });
    const base = served.base;
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
    // The machine's own floor: a bare node:http server in its own process, timed by the same client.
    const barePort = await freePort();
    const bare = spawn(
      process.execPath,
      ['-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${barePort}, '127.0.0.1')`],
      { stdio: 'ignore' },
    );
    // Consistency from random earlier sizes to the signed head (any 1 ≤ first ≤ second is served).
    const firsts = Array.from({ length: REQUESTS }, () => 1 + Math.floor(Math.random() * (LEAVES - 1)));
    const inclusionPaths = picks.map((leaf) => `/v1/audit/logs/${idOf.get(leaf)}`);
    const consistencyPaths = firsts.map((first) => `/v1/audit/consistency?first=${first}&second=${LEAVES}`);
    let timings: Record<string, { p50: number; p99: number; max: number; non2xx: number }>;
    try {
      for (let i = 0; ; i++) {
        const up = await fetch(`http://127.0.0.1:${barePort}/`).then(
          (r) => r.arrayBuffer().then(() => true),
          () => false,
        );
        if (up) break;
        if (i > 100) throw new Error('the bare server did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
      const bareTimings = await latencies(`http://127.0.0.1:${barePort}`, {}, warm, [
        { label: 'bare', paths: Array.from({ length: REQUESTS }, () => '/') },
      ]);
      timings = {
        ...bareTimings,
        ...(await latencies(base, headers, warm, [
          { label: 'health', paths: Array.from({ length: REQUESTS }, () => '/health/live') },
          { label: 'inclusion', paths: inclusionPaths },
          { label: 'consistency', paths: consistencyPaths },
        ])),
      };
    } finally {
      bare.kill();
    }
    for (const [label, t] of Object.entries(timings))
      if (t.non2xx > 0) throw new Error(`${label}: ${t.non2xx} answers were not 2xx`);

    // Untimed: every answer the timed requests got is checked against the signed root.
    let badProofs = 0;
    for (const path of inclusionPaths) {
      const body = (await (await fetch(`${base}${path}`, { headers })).json()) as {
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
    }
    // Consistency proofs against roots recomputed from the stored subtree hashes (a sample).
    for (const first of firsts.slice(0, 50)) {
      const oldRoot = rootFromHashes(first, await getNodes(db.kysely, tenant, rootKeys(first)));
      const body = (await (
        await fetch(`${base}/v1/audit/consistency?first=${first}&second=${LEAVES}`, { headers })
      ).json()) as { consistency: string[] };
      const proof = body.consistency.map((h) => Buffer.from(h, 'base64'));
      if (!verifyConsistency(first, LEAVES, proof, oldRoot, root).ok) badProofs++;
    }
    if (badProofs > 0) throw new Error(`${badProofs} proofs did not verify`);

    const row = (label: string, t: { p50: number; p99: number; max: number }) =>
      `| ${label} | ${t.p50.toFixed(2)} | ${t.p99.toFixed(2)} | ${t.max.toFixed(2)} |`;
    console.log(
      `audit proofs over HTTP (node in its own process, on PostgreSQL), log of ${LEAVES.toLocaleString('en-US')} leaves (built in ${buildSeconds.toFixed(0)} s), ${REQUESTS} sequential requests each after ${warm} warm-up, timed by bench/servers/latency-client.ts (own process, one keep-alive connection)`,
    );
    console.log('');
    console.log('| request | p50 ms | p99 ms | max ms |');
    console.log('| --- | ---: | ---: | ---: |');
    console.log(row('bare node:http, own process (the machine’s floor)', timings.bare!));
    console.log(row('GET /health/live (Warden’s HTTP floor)', timings.health!));
    console.log(row('GET /v1/audit/logs/{id} (record + inclusion proof)', timings.inclusion!));
    console.log(row('GET /v1/audit/consistency?first=m&second=n', timings.consistency!));
    console.log('');
    console.log(
      `every inclusion proof verified against the signed root; 50 consistency proofs verified against recomputed old roots`,
    );

    if (EXPORT) {
      // What one page costs the node: served alone here, so its latency is its time on the node.
      const pageRows: string[] = [];
      for (const limit of [1000, 10000, 100000]) {
        if (limit > LEAVES) break;
        const took: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t = performance.now();
          const res = await fetch(`${base}/v1/audit/export?limit=${limit}`, { headers });
          await res.arrayBuffer();
          if (!res.ok) throw new Error(`export page of ${limit}: ${res.status}`);
          took.push(performance.now() - t);
        }
        took.sort((a, b) => a - b);
        pageRows.push(`| ${limit} | ${took[1]!.toFixed(0)} | ${((took[1]! * 1000) / limit).toFixed(0)} |`);
      }
      const file = join(dataDir, 'evidence.jsonl');
      const keyFile = join(dataDir, 'audit-key.json');
      writeFileSync(keyFile, await (await fetch(`${base}/v1/audit/key`, { headers })).text());
      const cli = ['--import', 'tsx', 'src/cli/main.ts', 'audit'];
      const exported = await measured([
        ...cli,
        'export',
        '--url',
        base,
        '--token',
        TOKEN,
        '--tenant',
        tenant,
        '--out',
        file,
        '--json',
      ]);
      const summary = JSON.parse(exported.stdout) as { records: number; parts: number };
      const verified = await measured([...cli, 'verify', file, '--key', keyFile, '--json']);
      const report = JSON.parse(verified.stdout) as {
        ok: boolean;
        checked: { records: number; full_root_recomputed: boolean };
      };
      if (!report.ok || report.checked.records !== LEAVES || !report.checked.full_root_recomputed)
        throw new Error(`the export did not verify: ${verified.stdout.slice(0, 500)}`);
      // The floor: read the same file line by line and JSON.parse every line, nothing else.
      const floor = await measured([
        '-e',
        `const rl = require('node:readline').createInterface({ input: require('node:fs').createReadStream(${JSON.stringify(file)}), crlfDelay: Infinity });
         let n = 0; rl.on('line', (l) => { JSON.parse(l); n++; }).on('close', () => console.log(n));`,
      ]);
      const mb = statSync(file).size / 2 ** 20;
      const rate = (s: number) => Math.round(LEAVES / s).toLocaleString('en-US');
      console.log('');
      console.log('one page of GET /v1/audit/export?limit=N (median of 3, the node otherwise idle):');
      console.log('');
      console.log('| records per page | ms | µs per record |');
      console.log('| ---: | ---: | ---: |');
      for (const r of pageRows) console.log(r);
      console.log('');
      console.log(
        `evidence export of the whole log: ${summary.parts} parts, ${mb.toFixed(0)} MiB (CLI processes from source; peak resident memory sampled every 100 ms)`,
      );
      console.log('');
      console.log('| step | seconds | records/s | peak RSS MiB |');
      console.log('| --- | ---: | ---: | ---: |');
      console.log(
        `| warden audit export (server pages + file) | ${exported.seconds.toFixed(1)} | ${rate(exported.seconds)} | ${exported.peakMb.toFixed(0)} |`,
      );
      console.log(
        `| warden audit verify (offline, whole tree rebuilt) | ${verified.seconds.toFixed(1)} | ${rate(verified.seconds)} | ${verified.peakMb.toFixed(0)} |`,
      );
      console.log(
        `| floor: read + JSON.parse each line, same file | ${floor.seconds.toFixed(1)} | ${rate(floor.seconds)} | ${floor.peakMb.toFixed(0)} |`,
      );
    }
  } finally {
    if (served) {
      const exited = new Promise((r) => served!.child.once('exit', r));
      served.child.kill('SIGTERM');
      await exited;
    }
    await db.close().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
    await admin(`drop database if exists ${name} with (force)`);
  }
}

await main();
