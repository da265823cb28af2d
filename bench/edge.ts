/**
 * Edge overhead: a validated, authenticated POST through the full Fastify edge against a bare
 * node:http handler doing the same parse, checks and reply. autocannon at concurrency 8 and 32;
 * each server runs in its own process (only one is under load at a time) while the load generator
 * runs here.
 *
 * The machines are shared and noisy, so each concurrency runs `--rounds` rounds of bare-then-edge
 * (edge-then-bare every other round, so neither always runs first); the table shows the median
 * of each column and the median of the per-round ratios, and the load average is printed.
 *
 *   npm run bench -- edge [--seconds 10] [--rounds 3]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import autocannon from 'autocannon';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return (i >= 0 && Number(process.argv[i + 1])) || fallback;
};
const seconds = arg('--seconds', 10);
const rounds = arg('--rounds', 3);
const TOKEN = 'wdn_op_bench_token_0123456789abcdef';
const body = JSON.stringify({ agent_id: 'agt_5f2c9a', action: 'llm.call', amount: 1250 });

type Mode = 'edge' | 'bare';
interface Result {
  rps: number;
  p99: number;
  /** Server CPU time (user + system) per request, µs; NaN where /proc is missing. */
  cpu: number;
}

/** A process's CPU time in ms (Linux /proc; clock ticks of 10 ms). */
function cpuMs(pid: number | undefined): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return Number.NaN;
  }
}

async function startServer(mode: Mode): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--import', './bench/servers/built.mjs', 'bench/servers/edge-server.ts', mode],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`${mode} server exited ${code}`)));
  });
  return { port, child };
}

function options(port: number, connections: number) {
  return {
    url: `http://127.0.0.1:${port}/v1/bench/echo`,
    method: 'POST' as const,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
    connections,
    pipelining: 1,
  };
}

async function load(server: { port: number; child: ChildProcess }, connections: number): Promise<Result> {
  const cpu0 = cpuMs(server.child.pid);
  const r = await autocannon({ ...options(server.port, connections), duration: seconds });
  const cpu = ((cpuMs(server.child.pid) - cpu0) * 1000) / r.requests.total;
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`bad responses: non2xx=${r.non2xx} errors=${r.errors}`);
  return { rps: r.requests.average, p99: r.latency.p99, cpu };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const load1 = () => loadavg()[0]!.toFixed(2);

const started = load1();
const servers = { bare: await startServer('bare'), edge: await startServer('edge') };
const rows: string[] = [];
const cpuRows: string[] = [];
try {
  for (const c of [8, 32]) {
    // Warm-up: JIT, caches, connection pools on both servers.
    for (const mode of ['bare', 'edge'] as const) {
      await autocannon({ ...options(servers[mode].port, c), duration: 2 });
    }
    const got: Record<Mode, Result[]> = { bare: [], edge: [] };
    const ratios: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const order: Mode[] = round % 2 === 0 ? ['bare', 'edge'] : ['edge', 'bare'];
      const r: Partial<Record<Mode, Result>> = {};
      for (const mode of order) r[mode] = await load(servers[mode], c);
      got.bare.push(r.bare!);
      got.edge.push(r.edge!);
      ratios.push(r.edge!.rps / r.bare!.rps);
      console.error(
        `c=${c} round ${round + 1}: bare ${Math.round(r.bare!.rps)} req/s (${r.bare!.cpu.toFixed(1)} µs CPU/req), edge ${Math.round(r.edge!.rps)} req/s (${r.edge!.cpu.toFixed(1)} µs CPU/req), ${((r.edge!.rps / r.bare!.rps) * 100).toFixed(0)} % (load ${load1()})`,
      );
    }
    const m = (mode: Mode, k: keyof Result) => median(got[mode].map((x) => x[k]));
    cpuRows.push(`c=${c}: bare ${m('bare', 'cpu').toFixed(1)}, edge ${m('edge', 'cpu').toFixed(1)}`);
    rows.push(
      `| ${c} | ${Math.round(m('bare', 'rps'))} | ${m('bare', 'p99')} | ${Math.round(m('edge', 'rps'))} | ${m('edge', 'p99')} | ${(median(ratios) * 100).toFixed(0)} % |`,
    );
  }
} finally {
  servers.bare.child.kill();
  servers.edge.child.kill();
}
console.log(
  `\nEdge overhead, ${rounds} rounds of ${seconds}s per server and concurrency (medians), ${new Date().toISOString().slice(0, 10)}, node ${process.version}, load average ${started} → ${load1()}`,
);
console.log(
  '| concurrency | bare node:http req/s | bare p99 ms | Warden edge req/s | edge p99 ms | edge / bare (median of rounds) |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
// Server CPU per request does not depend on which side (server or load generator) is saturated,
// so it shows the edge's cost even when the machine is busy.
console.log(`\nServer CPU µs per request (medians): ${cpuRows.join('; ')}`);
