/**
 * Cost of checking a delegation token on the decision path (ARCHITECTURE §4): the warm case (the token is
 * in the verified-token cache) and the cold case (full HMAC chain), beside two baselines measured in the
 * same run — bare createHmac calls, the least any macaroon verifier must spend, and the npm `macaroon`
 * package (dev dependency) verifying the same token with importMacaroon + verify and a caveat checker.
 *
 *   npx tsx bench/token-verify.ts          (or: npm run bench -- token-verify)
 *
 * A minted Warden token has six caveats (tenant, holder, actions, resources, not_after, depth), so its
 * chain is 7 HMACs; the "3-caveat chain" rows are a plain macaroon with three caveats (4 HMACs), checked by
 * macaroon.ts and by the npm package, to compare with the 4x createHmac floor.
 *
 * Warm hits are sub-microsecond, below what one hrtime reading resolves reliably, so they are timed in
 * batches of BATCH calls and the percentiles are over per-batch means (each figure is the mean of a batch,
 * which hides single-call outliers inside a batch). A busy loop batched the same way gives the machine's
 * own noise at that scale. Everything else is timed call by call. Rounds alternate the subjects, so a noisy
 * second on a shared machine hurts all of them rather than one.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { mintToken, type VerifyTokenOptions, verifyToken } from '../src/modules/authz/delegation-token.js';
import {
  addFirstPartyCaveat,
  createMacaroon,
  decodeMacaroon,
  deriveMacaroonKey,
  serializeMacaroon,
  verifyMacaroonSignature,
} from '../src/modules/authz/macaroon.js';
import { patternListFromCaveat } from '../src/modules/authz/patterns.js';
import { createTokenCache } from '../src/modules/authz/token-cache.js';

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const PER_ROUND = Number(process.env.PER_ROUND ?? 2500);
const WARMUP = 3000;
const BATCH = 1000;
const WARM_BATCHES_PER_ROUND = Number(process.env.WARM_BATCHES ?? 250);

interface NpmMacaroon {
  verify(rootKey: Uint8Array, check: (cond: string) => string | null): void;
}
const npmMacaroon = createRequire(import.meta.url)('macaroon') as {
  importMacaroon(text: string): NpmMacaroon;
};

// A realistic token: ids the size Warden uses (UUIDv7 token id, ULID-style tenant and agent ids).
const ROOT = randomBytes(32);
const TENANT = 'ten_01J9ZQ3F8K2M4N6P8R0T2V4X6Z';
const HOLDER = 'agt_01J9ZQ4M6W5S8Y2R3T7V0X1B2C';
const NOW = Math.floor(Date.now() / 1000);
const rootKeys = new Map([[TENANT, ROOT]]);
const token = mintToken({
  rootKey: ROOT,
  tokenId: '0192f4a0-7c1e-7b3a-9f2d-3c4e5f6a7b8c',
  tenant: TENANT,
  holder: HOLDER,
  actions: ['sandbox.*', 'llm.call'],
  resources: ['repo:acme/*'],
  notAfter: NOW + 3600,
  maxDepth: 2,
});
const request: VerifyTokenOptions = {
  rootKeyFor: (t) => rootKeys.get(t),
  presenter: HOLDER,
  action: 'sandbox.exec',
  resource: 'repo:acme/widgets',
  now: NOW,
};
const TOKEN_CAVEATS = decodeMacaroon(token).caveats.length;

// The literal three-caveat chain of the target: identifier + 3 first-party caveats = 4 HMACs.
const three = serializeMacaroon(
  ['tenant = acme', `holder = ${HOLDER}`, 'actions = sandbox.*,llm.call'].reduce(
    (m, c) => addFirstPartyCaveat(m, c),
    createMacaroon({ rootKey: ROOT, identifier: '0192f4a0-7c1e-7b3a-9f2d-3c4e5f6a7b8c' }),
  ),
);
const threeKey = deriveMacaroonKey(ROOT);

// First sight: every token carries a resources value not seen for 4 000 tokens (past the pattern cache)
// and the root key arrives as a new buffer (past the derived-key cache).
const FIRST_SIGHT = 4000;
const firstSightTokens = Array.from({ length: FIRST_SIGHT }, (_, i) =>
  mintToken({
    rootKey: ROOT,
    tokenId: `tok_${i}`,
    tenant: TENANT,
    holder: HOLDER,
    actions: ['sandbox.*', 'llm.call'],
    resources: [`repo:acme/r${i}/*`],
    notAfter: NOW + 3600,
    maxDepth: 2,
  }),
);
let firstSightIndex = 0;
const firstSightRequest: VerifyTokenOptions = {
  ...request,
  rootKeyFor: () => Buffer.from(ROOT),
  resource: 'repo:acme/r0/x',
};

/** Warden's caveats checked one by one, as the npm package's verify wants (root token: one holder). */
function npmChecker(cond: string): string | null {
  const sp1 = cond.indexOf(' ');
  const sp2 = cond.indexOf(' ', sp1 + 1);
  const key = cond.slice(0, sp1);
  const value = cond.slice(sp2 + 1);
  switch (key) {
    case 'tenant':
      return value === TENANT ? null : 'tenant';
    case 'holder':
      return value === request.presenter ? null : 'holder';
    case 'actions':
      return patternListFromCaveat('action', value).matches(request.action) ? null : 'action';
    case 'resources':
      return patternListFromCaveat('resource', value).matches(request.resource) ? null : 'resource';
    case 'not_after':
      return request.now <= Number(value) ? null : 'expired';
    case 'depth':
      return null;
    default:
      return 'unknown';
  }
}

function hmacChain(steps: number, key: Buffer, data: Buffer[]): Buffer {
  let sig = key;
  for (let i = 0; i < steps; i++)
    sig = createHmac('sha256', sig)
      .update(data[i % data.length]!)
      .digest();
  return sig;
}
const chainData = decodeMacaroon(token).caveats.map((c) => c.identifier);

/** `ref`: the subject a row's ratio is taken against. */
type Subject = { name: string; run: () => void; ref?: string };

const subjects: Subject[] = [
  { name: 'floor: bare createHmac x4 (a 3-caveat chain)', run: () => void hmacChain(4, ROOT, chainData) },
  {
    name: `floor: bare createHmac x${TOKEN_CAVEATS + 1} (the minted token's chain)`,
    run: () => void hmacChain(TOKEN_CAVEATS + 1, ROOT, chainData),
  },
  {
    name: 'warden macaroon.ts: decode + signature, 3-caveat chain',
    ref: 'floor: bare createHmac x4 (a 3-caveat chain)',
    run: () => {
      if (!verifyMacaroonSignature(decodeMacaroon(three), threeKey)) throw new Error('3-caveat check failed');
    },
  },
  {
    name: `warden verifyToken, cold, minted token (${TOKEN_CAVEATS} caveats)`,
    ref: `floor: bare createHmac x${TOKEN_CAVEATS + 1} (the minted token's chain)`,
    run: () => {
      const r = verifyToken(token, request);
      if (!r.ok) throw new Error(`verify failed: ${r.code} ${r.detail}`);
    },
  },
  {
    name: 'warden verifyToken, first sight (new pattern text, new key buffer)',
    ref: `floor: bare createHmac x${TOKEN_CAVEATS + 1} (the minted token's chain)`,
    run: () => {
      const i = firstSightIndex++ % FIRST_SIGHT;
      const r = verifyToken(firstSightTokens[i]!, { ...firstSightRequest, resource: `repo:acme/r${i}/x` });
      if (!r.ok) throw new Error(`verify failed: ${r.code} ${r.detail}`);
    },
  },
  {
    name: 'npm macaroon 3.0.4: importMacaroon + verify, same minted token',
    ref: `warden verifyToken, cold, minted token (${TOKEN_CAVEATS} caveats)`,
    run: () => npmMacaroon.importMacaroon(token).verify(ROOT, npmChecker),
  },
  {
    name: 'npm macaroon 3.0.4: importMacaroon + verify, 3-caveat chain',
    ref: 'warden macaroon.ts: decode + signature, 3-caveat chain',
    run: () => npmMacaroon.importMacaroon(three).verify(ROOT, () => null),
  },
];

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

type Cache = ReturnType<typeof createTokenCache>;

/**
 * Warm hits, batch-timed; returns per-batch ns per call. Each call gets its own string object with the
 * token's text (never the cached string itself), as a request would carry. `pool`: the same BATCH copies
 * are reused for every batch, so nothing is allocated around the timed loop; otherwise fresh copies are
 * made before each batch, and the garbage collections that allocation causes land in some batches.
 */
function warmRound(cache: Cache, out: Float64Array, offset: number, pool: string[] | undefined): number {
  let ok = 0;
  for (let b = 0; b < WARM_BATCHES_PER_ROUND; b++) {
    let strings = pool;
    if (strings === undefined) {
      strings = new Array<string>(BATCH);
      for (let i = 0; i < BATCH; i++) strings[i] = Buffer.from(token, 'latin1').toString('latin1');
    }
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) if (cache.verify(strings[i]!, request).ok) ok++;
    out[offset + b] = Number(process.hrtime.bigint() - t0) / BATCH;
  }
  return ok;
}

/**
 * The machine's own noise at this time scale: batches of a fixed, allocation-free busy loop taking about as
 * long as a batch of warm hits. Its p99 is what preemption by other processes and timer jitter add to any
 * batch; a warm-hit p99 near it is the machine, not the cache.
 */
function noiseRound(out: Float64Array, offset: number, work: number): number {
  // Returned so the compiler cannot drop the loop.
  let sink = 0;
  for (let b = 0; b < WARM_BATCHES_PER_ROUND; b++) {
    const t0 = process.hrtime.bigint();
    let h = b;
    for (let i = 0; i < BATCH; i++) for (let j = 0; j < work; j++) h = Math.imul(h ^ j, 0x9e3779b1) + i;
    out[offset + b] = Number(process.hrtime.bigint() - t0) / BATCH;
    sink ^= h;
  }
  return sink;
}

function summary(samples: Float64Array): { p50: number; p99: number; mean: number } {
  const sorted = samples.slice().sort();
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}

function main(): void {
  const cache = createTokenCache({ maxEntries: 10_000 });
  if (!cache.verify(token, request).ok) throw new Error('cache prime failed');
  const samples = subjects.map(() => new Float64Array(ROUNDS * PER_ROUND));
  const pool = Array.from({ length: BATCH }, () => Buffer.from(token, 'latin1').toString('latin1'));
  const warm = new Float64Array(ROUNDS * WARM_BATCHES_PER_ROUND);
  const warmFresh = new Float64Array(ROUNDS * WARM_BATCHES_PER_ROUND);
  const noise = new Float64Array(ROUNDS * WARM_BATCHES_PER_ROUND);
  for (const s of subjects) for (let i = 0; i < WARMUP; i++) s.run();
  const calibration = new Float64Array(WARM_BATCHES_PER_ROUND);
  warmRound(cache, calibration, 0, pool);
  const warmGuess = calibration.slice().sort()[WARM_BATCHES_PER_ROUND >> 1]!;
  let checksum = noiseRound(calibration, 0, 100);
  const noiseWork = Math.max(
    1,
    Math.round((100 * warmGuess) / calibration.slice().sort()[WARM_BATCHES_PER_ROUND >> 1]!),
  );
  let warmOk = 0;
  for (let round = 0; round < ROUNDS; round++) {
    warmOk += warmRound(cache, warm, round * WARM_BATCHES_PER_ROUND, pool);
    warmOk += warmRound(cache, warmFresh, round * WARM_BATCHES_PER_ROUND, undefined);
    checksum ^= noiseRound(noise, round * WARM_BATCHES_PER_ROUND, noiseWork);
    for (let k = 0; k < subjects.length; k++) {
      const run = subjects[k]!.run;
      const out = samples[k]!;
      for (let i = 0; i < PER_ROUND; i++) {
        const t0 = process.hrtime.bigint();
        run();
        out[round * PER_ROUND + i] = Number(process.hrtime.bigint() - t0) / 1000;
      }
    }
  }
  if (warmOk !== 2 * warm.length * BATCH) throw new Error('a warm hit was refused');
  if (!Number.isInteger(checksum)) throw new Error('noise loop broke');

  const stats = new Map<string, { p50: number; p99: number }>();
  subjects.forEach((s, k) => {
    const sorted = samples[k]!.slice().sort();
    stats.set(s.name, { p50: percentile(sorted, 50), p99: percentile(sorted, 99) });
  });
  const w = summary(warm);
  const wf = summary(warmFresh);
  const nz = summary(noise);
  const us = (ns: number) => (ns / 1000).toFixed(3);

  console.log(`node ${process.version}, ${new Date().toISOString()}`);
  console.log(
    `token: ${token.length} characters (${Buffer.from(token, 'base64url').length} bytes, ${TOKEN_CAVEATS} caveats); ` +
      `3-caveat macaroon: ${three.length} characters`,
  );
  console.log(
    `cold: ${ROUNDS} rounds x ${PER_ROUND} calls per subject, each call timed; ` +
      `warm: ${ROUNDS} rounds x ${WARM_BATCHES_PER_ROUND} batches x ${BATCH} calls, percentiles of per-batch means\n`,
  );
  console.log('| subject | p50 µs | p99 µs | ratio (p50) | against |');
  console.log('| --- | ---: | ---: | ---: | --- |');
  console.log(
    `| warden cache.verify, warm hit (own string per call, reused copies) | ${us(w.p50)} | ${us(w.p99)} | — | — |`,
  );
  console.log(
    `| warden cache.verify, warm hit (fresh copies made before each batch, GC included) | ${us(wf.p50)} | ${us(wf.p99)} | — | — |`,
  );
  console.log(
    `| noise floor: allocation-free busy loop, same batching (${noiseWork} ops/call) | ${us(nz.p50)} | ${us(nz.p99)} | — | — |`,
  );
  for (const s of subjects) {
    const { p50, p99 } = stats.get(s.name)!;
    const ref = s.ref ? stats.get(s.ref)! : undefined;
    const ratio = ref ? (p50 / ref.p50).toFixed(2) : '—';
    console.log(`| ${s.name} | ${p50.toFixed(2)} | ${p99.toFixed(2)} | ${ratio} | ${s.ref ?? '—'} |`);
  }
  console.log(
    `\nwarm hit: p50 ${w.p50.toFixed(0)} ns, p99 ${w.p99.toFixed(0)} ns, mean ${w.mean.toFixed(0)} ns = ` +
      `${(1e9 / w.mean / 1e6).toFixed(2)} M verifications/s on one core ` +
      `(with allocation: mean ${wf.mean.toFixed(0)} ns = ${(1e9 / wf.mean / 1e6).toFixed(2)} M/s)`,
  );
  const cold = stats.get(`warden verifyToken, cold, minted token (${TOKEN_CAVEATS} caveats)`)!;
  const npm = stats.get('npm macaroon 3.0.4: importMacaroon + verify, same minted token')!;
  console.log(`npm macaroon / warden cold verify (p50): ${(npm.p50 / cold.p50).toFixed(1)}x`);
}

main();
