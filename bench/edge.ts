/**
 * Edge overhead: a validated, authenticated POST through the full Fastify edge against a bare
 * node:http handler doing the same parse, checks and reply. autocannon at concurrency 8 and 32;
 * each server runs alone in its own process while the load generator runs here.
 *
 *   npm run bench -- edge [--seconds 10]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import autocannon from 'autocannon';

const seconds = Number(process.argv[process.argv.indexOf('--seconds') + 1]) || 10;
const TOKEN = 'wdn_op_bench_token_0123456789abcdef';
const body = JSON.stringify({ agent_id: 'agt_5f2c9a', action: 'llm.call', amount: 1250 });

async function startServer(mode: 'edge' | 'bare'): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/servers/edge-server.ts', mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /listening (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`${mode} server exited ${code}`)));
  });
  return { port, child };
}

async function load(port: number, connections: number) {
  const opts = {
    url: `http://127.0.0.1:${port}/v1/bench/echo`,
    method: 'POST' as const,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
    connections,
    pipelining: 1,
  };
  await autocannon({ ...opts, duration: 2 }); // warm-up: JIT, caches
  const r = await autocannon({ ...opts, duration: seconds });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`bad responses: non2xx=${r.non2xx} errors=${r.errors}`);
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99 };
}

const rows: string[] = [];
for (const c of [8, 32]) {
  const results: Record<string, { rps: number; p50: number; p99: number }> = {};
  for (const mode of ['bare', 'edge'] as const) {
    const { port, child } = await startServer(mode);
    results[mode] = await load(port, c);
    child.kill();
  }
  const ratio = results.edge!.rps / results.bare!.rps;
  rows.push(
    `| ${c} | ${Math.round(results.bare!.rps)} | ${results.bare!.p99} | ${Math.round(results.edge!.rps)} | ${results.edge!.p99} | ${(ratio * 100).toFixed(0)} % |`,
  );
}
console.log(
  `\nEdge overhead, ${seconds}s per run, ${new Date().toISOString().slice(0, 10)}, node ${process.version}`,
);
console.log(
  '| concurrency | bare node:http req/s | bare p99 ms | Warden edge req/s | edge p99 ms | edge / bare |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(r);
