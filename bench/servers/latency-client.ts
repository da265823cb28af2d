/**
 * A lean latency client for the HTTP benchmarks: sequential GETs over one keep-alive connection
 * (node:http, no fetch), in a fresh process of its own, so that the harness's heap (a benchmark that
 * built a large log holds hundreds of MB) and its garbage collections are not timed as the server's
 * latency. Reads a job from standard input, prints percentiles as JSON:
 *
 *   { "base": "http://127.0.0.1:8080", "headers": {…}, "warm": 200,
 *     "sets": [{ "label": "health", "paths": ["/health/live", …] }, …] }
 *   → { "health": { "p50": 0.3, "p99": 0.9, "max": 2.1, "non2xx": 0 }, … }
 */
import http from 'node:http';

interface Job {
  base: string;
  headers: Record<string, string>;
  warm: number;
  sets: { label: string; paths: string[] }[];
}

let input = '';
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input) as Job;
const url = new URL(job.base);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function get(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: url.port, path, headers: job.headers, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
      .on('error', reject);
  });
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const out: Record<string, { p50: number; p99: number; max: number; non2xx: number }> = {};
for (const set of job.sets) {
  for (let i = 0; i < job.warm; i++) await get(set.paths[i % set.paths.length]!);
  const took: number[] = [];
  let non2xx = 0;
  for (const path of set.paths) {
    const t = performance.now();
    const status = await get(path);
    took.push(performance.now() - t);
    if (status < 200 || status > 299) non2xx++;
  }
  took.sort((a, b) => a - b);
  out[set.label] = { p50: pct(took, 50), p99: pct(took, 99), max: took.at(-1)!, non2xx };
}
agent.destroy();
process.stdout.write(`${JSON.stringify(out)}\n`);
