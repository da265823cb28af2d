/**
 * The decision path over HTTP: POST /v1/oversight/evaluate at concurrency 8 and 32, each server alone
 * in its own process (bench/servers/policy-server.ts), the load generator on the same machine: wrk
 * (Debian's package, C, one thread) when it is installed, else autocannon in this process. Which
 * one matters on two cores: autocannon spends tens of µs of CPU a request that the server under
 * test no longer has (this VM: Warden 4–5k decisions/s under autocannon, 10–15k under wrk).
 *   (a) Warden, API key evaluating for a named agent with its delegation token → decisions/s, p99
 *   (b) Warden, RFC 9421-signed agent requests, against a bare node:http server doing the same
 *       signature, nonce, token check and evaluation in process → decisions/s, p99, ratio
 *   (c) the floors on this machine: the bare servers of (b) also appending the same durable audit
 *       record per decision through the audit module on the same database (`bare-audit`), and the
 *       same with an API key instead of a signature, with and without the record (`bare-key-audit`,
 *       `bare-key`): what any server doing the mandated work reaches here, what the record costs,
 *       and so the highest signed / bare ratio a server that audits every decision can have
 * Every server runs the compiled program (bench/servers/built.mjs; bench/run.ts builds it), and the
 * CPU time each server used per decision is read from /proc (the server process and its threads).
 * Signed requests each carry a fresh nonce and `created`. Those of a run are signed before it starts
 * (a pool of PRESIGNED_PER_SECOND × seconds, handed to wrk as raw requests in a Lua script, or taken
 * by autocannon's setupRequest): an Ed25519 signature and a digest cost the generator ~60 µs a
 * request, which on two shared cores would be taken from the server under test. Under autocannon
 * the warm-up signs as it goes, and a measured run that outgrows its pool signs the rest as it goes
 * too (the line says how many); under wrk a run that outgrows its pool fails, saying so. The
 * overload run (512 connections, counting 200s and 503s) always uses autocannon.
 *
 *   [BENCH_CPU_PROF=dir] npm run bench -- policy-http [--seconds 10] [--postgres [url]] [--pace 10000] [--paced-only | --signed-only]
 * With --postgres the Warden node runs on PostgreSQL (a scratch database on the given server,
 * default WARDEN_TEST_DATABASE_URL or postgres://postgres@127.0.0.1:5432/test) instead of PGlite.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon, { type Request } from 'autocannon';
import { createNonce, signRequest } from '../src/modules/identity/http-signature.js';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 10;
/** `--paced-only`: only the paced runs (at `--pace N` decisions/s, default 10,000), e.g. to find the rate a database sustains. */
const pacedOnly = process.argv.includes('--paced-only');
/** `--signed-only`: only the signed runs (bare, bare + record, Warden), e.g. to compare a change to the signature path. */
const signedOnly = process.argv.includes('--signed-only');
const pgFlag = process.argv.indexOf('--postgres');
const postgresUrl =
  pgFlag < 0
    ? undefined
    : process.argv[pgFlag + 1]?.startsWith('postgres')
      ? process.argv[pgFlag + 1]
      : process.env.WARDEN_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';
const { privateKey } = generateKeyPairSync('ed25519');
const AGENT_KEY = (privateKey.export({ format: 'der', type: 'pkcs8' }) as Buffer).toString('base64');
const PATH = '/v1/oversight/evaluate';

interface Ready {
  port: number;
  /** GET: `{"audit_backlog": n}`. */
  statsPort: number;
  agentId: string;
  token: string;
  apiKey?: string;
}

type Mode = 'warden' | 'bare' | 'bare-audit' | 'bare-key' | 'bare-key-audit';

async function startServer(mode: Mode): Promise<{ ready: Ready; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      // BENCH_CPU_PROF=dir: each server writes a V8 CPU profile there (dir/<mode>/) when it stops.
      ...(process.env.BENCH_CPU_PROF
        ? ['--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_CPU_PROF, mode)}`]
        : []),
      '--import',
      'tsx',
      '--import',
      './bench/servers/built.mjs',
      'bench/servers/policy-server.ts',
      mode,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, AGENT_KEY, ...(postgresUrl ? { BENCH_POSTGRES_URL: postgresUrl } : {}) },
    },
  );
  const ready = await new Promise<Ready>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\{.*\})\n/.exec(out);
      if (m) resolve(JSON.parse(m[1]!));
    });
    child.on('exit', (code) => reject(new Error(`${mode} server exited ${code}`)));
  });
  return { ready, child };
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** `backlog`: audit records the server still held, unwritten, right after the run. */
type Result = { rps: number; p50: number; p99: number; cpuUs: number; signedLive: number; backlog: number };

/** CPU seconds (user + system, every thread) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

/** wrk (Debian's package) when installed: a C load generator costing a few µs of CPU a request. */
const WRK = spawnSync('wrk', ['--version']).error === undefined;
/** Signed requests prepared per second of a measured run (more than any server here answers). */
const PRESIGNED_PER_SECOND = WRK ? 25_000 : 12_000;
const tmp = mkdtempSync(join(tmpdir(), 'warden-bench-wrk-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

/** A Lua string literal (the requests here are ASCII; JSON's escapes are Lua's for those). */
const lua = (text: string) => JSON.stringify(text);

interface Run {
  rps: number;
  p50: number;
  p99: number;
  total: number;
  bad: string | undefined;
}

/** Milliseconds from wrk's "1.23ms" / "456.00us" / "1.01s". */
function wrkMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) throw new Error(`wrk printed a latency it cannot read: ${text}`);
  const ms = Number(m[1]) * (m[2] === 'us' ? 1e-3 : m[2] === 's' ? 1e3 : 1);
  return Math.round(ms * 1000) / 1000; // µs resolution, as wrk prints it
}

/** One wrk run of `seconds` at `connections` with the Lua `script`; throws on socket errors. */
function runWrk(url: string, connections: number, seconds: number, script: string): Run {
  const file = join(tmp, `run-${Date.now()}.lua`);
  writeFileSync(file, script);
  const r = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', file, url], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  rmSync(file, { force: true });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
  const out = r.stdout;
  const pick = (re: RegExp) => re.exec(out)?.[1];
  const non2xx = Number(pick(/Non-2xx or 3xx responses: (\d+)/) ?? 0);
  const socket = pick(/Socket errors: (.*)/);
  return {
    rps: Number(pick(/Requests\/sec:\s+([\d.]+)/)),
    p50: wrkMs(pick(/\s50%\s+(\S+)/)!),
    p99: wrkMs(pick(/\s99%\s+(\S+)/)!),
    total: Number(pick(/(\d+) requests in/)),
    bad: non2xx > 0 || socket ? `non-2xx ${non2xx}${socket ? `, socket errors ${socket}` : ''}` : undefined,
  };
}

async function runAutocannon(opts: autocannon.Options): Promise<Run> {
  const r = await autocannon(opts);
  const bad = r.non2xx > 0 || r.errors > 0 || r.timeouts > 0;
  return {
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    bad: bad ? `non2xx=${r.non2xx} errors=${r.errors} timeouts=${r.timeouts}` : undefined,
  };
}

/**
 * wrk paced to `rate` requests/s in all (its one thread): each request is scheduled `1/rate` after
 * the one before on a monotonic clock (LuaJIT's ffi), and `delay()` waits until its slot. wrk
 * waits whole milliseconds, so requests leave in small bursts at each millisecond; a server stall
 * makes the next requests leave at once to catch up (up to a second behind). Latency is measured
 * from when a request left, not from its slot.
 */
const pacing = (rate: number) => `
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } warden_timespec;
int clock_gettime(int clk_id, warden_timespec *tp);
]]
local ts = ffi.new("warden_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end
local interval = 1000 / ${rate}
local next_at = nil
delay = function()
  local t = now_ms()
  if next_at == nil or next_at < t - 1000 then next_at = t end
  next_at = next_at + interval
  local d = next_at - t
  if d < 0 then return 0 end
  return d
end
`;

async function load(
  server: { ready: Ready; child: ChildProcess },
  auth: 'api-key' | 'signed',
  connections: number,
  paceRate?: number,
): Promise<Result> {
  const { ready } = server;
  const url = `http://127.0.0.1:${ready.port}${PATH}`;
  const payload = {
    action: 'sandbox.create',
    resource: { id: 'sandbox:bench' },
    context: { estimated_cost: 5 },
    delegation_token: ready.token,
  };
  const keyBody = JSON.stringify({ agent_id: ready.agentId, ...payload });
  const keyHeaders = { authorization: `Bearer ${ready.apiKey}`, 'content-type': 'application/json' };
  const body = JSON.stringify(payload);
  const signOne = () => {
    const headers = { 'content-type': 'application/json' };
    const signed = signRequest(
      { method: 'POST', url, headers, body },
      { keyId: ready.agentId, privateKey, alg: 'ed25519', nonce: createNonce() },
    );
    return { body, headers: { ...headers, ...(signed as unknown as Record<string, string>) } };
  };
  // Signed requests are used once each (fresh nonce): a pool of raw requests, served in order.
  const signedScript = (n: number) => {
    const raw = Array.from({ length: n }, () => {
      const r = signOne();
      const head = Object.entries({ ...r.headers, 'content-length': String(Buffer.byteLength(r.body)) })
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('');
      return lua(`POST ${PATH} HTTP/1.1\r\nhost: 127.0.0.1:${ready.port}\r\n${head}\r\n${r.body}`);
    });
    return `local reqs = {\n${raw.join(',\n')}\n}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return reqs[i] or reqs[#reqs]\nend\n`;
  };
  const keyScript = `wrk.method = "POST"\nwrk.body = ${lua(keyBody)}\n${Object.entries(keyHeaders)
    .map(([k, v]) => `wrk.headers[${lua(k)}] = ${lua(v)}`)
    .join('\n')}\n`;

  let run: Run;
  let signedLive = 0;
  let cpu0: number;
  if (WRK) {
    // Warm-up (JIT, caches); a paced run warms up at its own rate, so the audit backlog it leaves is its own.
    runWrk(
      url,
      connections,
      2,
      auth === 'api-key'
        ? keyScript + (paceRate ? pacing(paceRate) : '')
        : signedScript(PRESIGNED_PER_SECOND * 2),
    );
    const script =
      auth === 'api-key'
        ? keyScript + (paceRate ? pacing(paceRate) : '')
        : signedScript(PRESIGNED_PER_SECOND * seconds);
    cpu0 = cpuSeconds(server.child.pid!);
    run = runWrk(url, connections, seconds, script);
    if (run.bad && auth === 'signed' && run.total >= PRESIGNED_PER_SECOND * seconds)
      throw new Error(
        `the pool of ${PRESIGNED_PER_SECOND * seconds} pre-signed requests ran out: raise PRESIGNED_PER_SECOND`,
      );
  } else {
    let pool: { body: string; headers: Record<string, string> }[] = [];
    let measuring = false;
    const request: Request =
      auth === 'api-key'
        ? { method: 'POST' as const, path: PATH, headers: keyHeaders, body: keyBody }
        : {
            method: 'POST' as const,
            path: PATH,
            setupRequest: (req: Request): Request => {
              const next = pool.pop();
              if (next) return { ...req, ...next };
              if (measuring) signedLive++;
              return { ...req, ...signOne() };
            },
          };
    const opts = { url, connections, pipelining: 1, requests: [request] };
    await autocannon({ ...opts, duration: 2 }); // warm-up: JIT, caches, token and agent lookups
    if (auth === 'signed') pool = Array.from({ length: PRESIGNED_PER_SECOND * seconds }, signOne);
    measuring = true;
    cpu0 = cpuSeconds(server.child.pid!);
    run = await runAutocannon({ ...opts, duration: seconds });
  }
  const cpuUs = ((cpuSeconds(server.child.pid!) - cpu0) / run.total) * 1e6;
  const backlog = (
    (await (await fetch(`http://127.0.0.1:${ready.statsPort}/`)).json()) as { audit_backlog: number }
  ).audit_backlog;
  if (run.bad) throw new Error(`bad responses: ${run.bad}`);
  if (signedLive > 0)
    console.log(`(${auth} run at c=${connections}: ${signedLive} requests signed during the run)`);
  return { rps: run.rps, p50: run.p50, p99: run.p99, cpuUs, signedLive, backlog };
}

/**
 * Past the knee: far more connections than the node can serve. Admission control should answer
 * the excess with 503 + Retry-After quickly (bounded p99) and the node must stay up.
 */
async function overload(server: { ready: Ready; child: ChildProcess }, connections: number) {
  const { ready } = server;
  const url = `http://127.0.0.1:${ready.port}${PATH}`;
  await load(server, 'api-key', 8); // warm-up below the knee: JIT and caches, as in the runs above
  const r = await autocannon({
    url,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: PATH,
        headers: { authorization: `Bearer ${ready.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          agent_id: ready.agentId,
          action: 'sandbox.create',
          resource: { id: 'sandbox:bench' },
          context: { estimated_cost: 5 },
          delegation_token: ready.token,
        }),
      },
    ],
  });
  const codes = (r as unknown as { statusCodeStats: Record<string, { count: number }> }).statusCodeStats;
  const count = (code: string) => codes[code]?.count ?? 0;
  const others = Object.entries(codes)
    .filter(([c]) => c !== '200' && c !== '503')
    .map(([c, v]) => `${c}×${v.count}`);
  const live = await fetch(`http://127.0.0.1:${ready.port}/health/live`).then((res) => res.status);
  return {
    ok: count('200') / seconds,
    shed: count('503') / seconds,
    others: others.join(', ') || 'none',
    errors: r.errors,
    timeouts: r.timeouts,
    p50: r.latency.p50,
    p99: r.latency.p99,
    live,
  };
}

const load1 = loadavg()
  .map((x) => x.toFixed(2))
  .join(' ');
const rows: string[] = [];
const cpuRows: string[] = [];
const backlogRows: string[] = [];
/**
 * A rate the audit log does not keep up with is not a sustained one: flagged when more than a
 * second's worth of decisions was still unwritten when the run ended (the node refuses new records
 * with 503 once 200,000 wait).
 */
const behind = (r: Result) => (r.backlog > r.rps ? ' **audit behind**' : '');
/** One server alone, one run against it, then stopped. */
async function alone(mode: Mode, auth: 'api-key' | 'signed', c: number): Promise<Result> {
  const server = await startServer(mode);
  try {
    return await load(server, auth, c);
  } finally {
    await stop(server.child);
  }
}
const pct = (a: Result, b: Result) => `${((a.rps / b.rps) * 100).toFixed(0)} %`;
if (signedOnly) {
  console.log(
    `\nPOST ${PATH}, signed runs only, on ${postgresUrl ? 'PostgreSQL' : 'embedded PGlite'}, ${WRK ? 'wrk -t1' : 'autocannon'}, ${seconds}s per run, ${new Date().toISOString()}`,
  );
  console.log(
    '| concurrency | Warden, signed (p99 ms), CPU µs | bare signed (p99), CPU µs | signed / bare | bare signed + record (p99), CPU µs | its ratio |',
  );
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const c of [8, 32]) {
    const bare = await alone('bare', 'signed', c);
    const bareAudit = await alone('bare-audit', 'signed', c);
    const s = await alone('warden', 'signed', c);
    console.log(
      `| ${c} | ${Math.round(s.rps)} (${s.p99}), ${s.cpuUs.toFixed(0)}${behind(s)} | ${Math.round(bare.rps)} (${bare.p99}), ${bare.cpuUs.toFixed(0)} | ${pct(s, bare)} | ${Math.round(bareAudit.rps)} (${bareAudit.p99}), ${bareAudit.cpuUs.toFixed(0)}${behind(bareAudit)} | ${pct(bareAudit, bare)} |`,
    );
  }
  process.exit(0);
}
if (!pacedOnly) {
  for (const c of [8, 32]) {
    const bare = await alone('bare', 'signed', c);
    const bareAudit = await alone('bare-audit', 'signed', c);
    const bareKey = await alone('bare-key', 'api-key', c);
    const floor = await alone('bare-key-audit', 'api-key', c);
    // One fresh node for both Warden runs at this concurrency (a fresh temp data dir each time).
    const warden = await startServer('warden');
    let k: Result;
    let s: Result;
    try {
      k = await load(warden, 'api-key', c);
      s = await load(warden, 'signed', c);
    } finally {
      await stop(warden.child);
    }
    rows.push(
      `| ${c} | ${Math.round(k.rps)} (${k.p50} / ${k.p99})${behind(k)} | ${Math.round(floor.rps)} (${floor.p50} / ${floor.p99})${behind(floor)} | ${pct(k, floor)} | ${Math.round(bareKey.rps)} (${bareKey.p99}) | ${Math.round(s.rps)} (${s.p99})${behind(s)} | ${Math.round(bare.rps)} (${bare.p99}) | ${pct(s, bare)} | ${Math.round(bareAudit.rps)} (${bareAudit.p99})${behind(bareAudit)} | ${pct(bareAudit, bare)} |`,
    );
    backlogRows.push(`| ${c} | ${k.backlog} | ${floor.backlog} | ${s.backlog} | ${bareAudit.backlog} |`);
    cpuRows.push(
      `| ${c} | ${k.cpuUs.toFixed(0)} | ${floor.cpuUs.toFixed(0)} | ${bareKey.cpuUs.toFixed(0)} | ${s.cpuUs.toFixed(0)} | ${bare.cpuUs.toFixed(0)} | ${bareAudit.cpuUs.toFixed(0)} |`,
    );
  }
  console.log(
    `\nPOST ${PATH}, Warden and the floor on ${postgresUrl ? 'PostgreSQL' : 'embedded PGlite'}, load generator ${WRK ? 'wrk -t1' : 'autocannon (wrk not installed: apt-get install wrk)'}, audit writer thread ${process.env.WARDEN_AUDIT_WRITER_THREAD !== 'false' ? 'on' : 'off'}, audit flush ${process.env.WARDEN_AUDIT_FLUSH_MS ?? 20} ms, audit prepare workers ${process.env.WARDEN_AUDIT_PREPARE_WORKERS ?? 0}, ${seconds}s per run, ${new Date().toISOString()}, node ${process.version}, load average before ${load1}, after ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    '| concurrency | Warden, API key: decisions/s (p50 / p99 ms) | floor: bare + API key + audit record (p50 / p99 ms) | Warden / floor | bare + API key, no audit record (p99 ms) | Warden, signed (p99 ms) | bare signed, no audit (p99 ms) | signed / bare | bare signed + audit record (p99 ms) | its ratio to bare signed |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
  console.log('\nServer CPU per decision, µs (process and all its threads, from /proc):');
  console.log(
    '| concurrency | Warden, API key | floor: bare + API key + audit | bare + API key | Warden, signed | bare signed | bare signed + audit |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of cpuRows) console.log(r);
  console.log(
    '\nAudit records accepted and not yet written when the run ended (the writer keeps up when this stays near one flush of records):',
  );
  console.log(
    '| concurrency | Warden, API key | floor: bare + API key + audit | Warden, signed | bare signed + audit |',
  );
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of backlogRows) console.log(r);
}

// The issue's figure as a rate: 10,000 API-key decisions/s offered (wrk paced), p99 at each
// concurrency — Warden and the floor, each on a fresh server.
const PACE = Number(process.argv[process.argv.indexOf('--pace') + 1]) || 10_000;
if (WRK) {
  console.log(
    `\nPaced at ${PACE.toLocaleString('en')} API-key decisions/s (wrk, ${seconds}s): decisions/s served (p50 / p99 ms), audit backlog at the end`,
  );
  console.log('| concurrency | Warden | floor: bare + API key + audit record |');
  console.log('| --- | --- | --- |');
  for (const c of [8, 32]) {
    const paced = async (mode: Mode) => {
      const server = await startServer(mode);
      try {
        return await load(server, 'api-key', c, PACE);
      } finally {
        await stop(server.child);
      }
    };
    const w = await paced('warden');
    const f = await paced('bare-key-audit');
    console.log(
      `| ${c} | ${Math.round(w.rps)} (${w.p50} / ${w.p99}), ${w.backlog}${behind(w)} | ${Math.round(f.rps)} (${f.p50} / ${f.p99}), ${f.backlog}${behind(f)} |`,
    );
  }
}

if (!pacedOnly) {
  // Past the knee, on a fresh node: 512 connections of API-key decisions.
  const OVERLOAD = 512;
  const node = await startServer('warden');
  try {
    const o = await overload(node, OVERLOAD);
    console.log(
      `\nPast the knee: ${OVERLOAD} connections, API key, ${seconds}s — 200/s ${Math.round(o.ok)}, 503/s ${Math.round(o.shed)}, other statuses ${o.others}, socket errors ${o.errors}, timeouts ${o.timeouts}, p50 ${o.p50} ms, p99 ${o.p99} ms, /health/live afterwards ${o.live}, node ${node.child.exitCode === null ? 'still running' : `exited ${node.child.exitCode}`}`,
    );
  } finally {
    await stop(node.child);
  }
}
