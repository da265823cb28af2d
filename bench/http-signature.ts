/**
 * Cost of verifying an agent's HTTP message signature (RFC 9421 + RFC 9530 Content-Digest, Ed25519)
 * for a typical agent POST with a 1 KiB JSON body, beside the floor: a bare Ed25519 `crypto.verify` over
 * the same number of bytes as the signature base, and that floor plus a SHA-256 of the body (the least any
 * digest-and-signature check must do). Also the npm `http-message-signatures` package (dev
 * dependency) verifying the same request, with and without our Content-Digest check added, since it does
 * not check the body itself.
 *
 *   npx tsx bench/http-signature.ts          (or: npm run bench -- http-signature)
 *
 * Each call is timed on its own (hrtime) to give p50/p99. Rounds alternate the subjects, so a noisy
 * second on a shared machine hurts all of them rather than one.
 */
import {
  createHash,
  sign as cryptoSign,
  verify as cryptoVerify,
  generateKeyPairSync,
  timingSafeEqual,
} from 'node:crypto';
import { createVerifier, httpbis } from 'http-message-signatures';
import { verifyContentDigest } from '../src/modules/identity/content-digest.js';
import {
  createSignatureBase,
  type HttpRequest,
  parseSignatureInput,
  parseSignatures,
  signRequest,
  type VerifyOptions,
  verifyRequest,
} from '../src/modules/identity/http-signature.js';

const ROUNDS = Number(process.env.ROUNDS ?? 8);
const PER_ROUND = Number(process.env.PER_ROUND ?? 2500);
const WARMUP = 3000;

const AGENT = 'agt_01J9ZQ4M6W5S8Y2R3T7V0X1B2C';
const { privateKey, publicKey } = generateKeyPairSync('ed25519');

// A 1 KiB JSON body, the size of a typical evaluate call with some context.
function agentBody(): string {
  const base = {
    action: 'payments.create',
    resource: 'acct_42/invoices/inv_1001',
    context: { amount: 1200, currency: 'EUR', run_id: 'run_01J9ZQ4M6W5S8Y', note: '' },
  };
  const pad = 1024 - JSON.stringify(base).length;
  base.context.note = 'x'.repeat(pad);
  return JSON.stringify(base);
}
const body = agentBody();

const unsigned: HttpRequest = {
  method: 'POST',
  url: 'https://warden.example/v1/oversight/evaluate',
  headers: {
    host: 'warden.example',
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(body)),
    'user-agent': 'warden-agent-sdk/0.1',
  },
  body,
};
const created = Math.floor(Date.now() / 1000);
const request: HttpRequest = {
  ...unsigned,
  headers: {
    ...unsigned.headers,
    ...signRequest(unsigned, { keyId: AGENT, privateKey, created, nonce: 'bench-nonce' }),
  },
};

const options: VerifyOptions = {
  keyFor: (id) => (id === AGENT ? { key: publicKey, alg: 'ed25519' } : undefined),
  now: () => created * 1000,
};

// The floor: Ed25519 over as many bytes as our signature base.
const input = parseSignatureInput(request.headers['signature-input'] as string).get('sig1')!;
const baseBytes = Buffer.from(createSignatureBase(request, input));
const floorSignature = cryptoSign(null, baseBytes, privateKey);

// http-message-signatures sees the same request (header names as sent, body not checked).
const theirRequest = {
  method: request.method,
  url: request.url,
  headers: request.headers as Record<string, string>,
};
const theirVerifier = createVerifier(publicKey, 'ed25519');
const theirConfig = {
  keyLookup: async () => ({ id: AGENT, algs: ['ed25519'], verify: theirVerifier }),
  requiredFields: ['@method', '@target-uri', 'content-digest'],
};
const claimedDigest = Buffer.from((request.headers['content-digest'] as string).slice(9, -1), 'base64');

/** `part`: a piece of a verification, shown without a ratio to the floor. */
type Subject = { name: string; run: () => unknown; part?: boolean };

const subjects: Subject[] = [
  {
    name: 'bare crypto.verify (Ed25519, same bytes)',
    run: () => {
      if (!cryptoVerify(null, baseBytes, publicKey, floorSignature)) throw new Error('floor failed');
    },
  },
  {
    name: 'bare crypto.verify + SHA-256 of the body',
    run: () => {
      createHash('sha256').update(body).digest();
      if (!cryptoVerify(null, baseBytes, publicKey, floorSignature)) throw new Error('floor failed');
    },
  },
  {
    name: 'warden verifyRequest (digest + Ed25519)',
    run: async () => {
      const r = await verifyRequest(request, options);
      if (!r.ok) throw new Error(`verify failed: ${r.code} ${r.detail}`);
    },
  },
  {
    name: 'warden, all but Ed25519 (parse, base, digest)',
    part: true,
    run: () => {
      const parsed = parseSignatureInput(request.headers['signature-input'] as string).get('sig1')!;
      parseSignatures(request.headers.signature as string);
      createSignatureBase(request, parsed);
      if (!verifyContentDigest(request.headers['content-digest'], body).ok) throw new Error('digest failed');
    },
  },
  {
    name: 'http-message-signatures verifyMessage',
    run: async () => {
      if ((await httpbis.verifyMessage(theirConfig, theirRequest)) !== true) throw new Error('theirs failed');
    },
  },
  {
    name: 'http-message-signatures + digest check',
    run: async () => {
      const digest = createHash('sha256').update(body).digest();
      if (!timingSafeEqual(digest, claimedDigest)) throw new Error('digest failed');
      if ((await httpbis.verifyMessage(theirConfig, theirRequest)) !== true) throw new Error('theirs failed');
    },
  },
];

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const samples = subjects.map(() => new Float64Array(ROUNDS * PER_ROUND));
  for (const s of subjects) for (let i = 0; i < WARMUP; i++) await s.run();
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < subjects.length; k++) {
      const run = subjects[k]!.run;
      const out = samples[k]!;
      for (let i = 0; i < PER_ROUND; i++) {
        const t0 = process.hrtime.bigint();
        await run();
        out[round * PER_ROUND + i] = Number(process.hrtime.bigint() - t0) / 1000;
      }
    }
  }
  const stats = samples.map((s) => {
    const sorted = s.slice().sort();
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
  });
  const floor = stats[0]!;
  console.log(
    `node ${process.version}, ${ROUNDS} rounds x ${PER_ROUND} calls per subject, ${new Date().toISOString()}`,
  );
  console.log(`body ${Buffer.byteLength(body)} B, signature base ${baseBytes.length} B`);
  console.log(`Signature-Input: ${request.headers['signature-input']}\n`);
  console.log('| subject | p50 µs | p99 µs | p50 / floor | p50 − floor µs |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  subjects.forEach((s, k) => {
    const { p50, p99 } = stats[k]!;
    const ratio = s.part ? '—' : (p50 / floor.p50).toFixed(3);
    const extra = s.part ? '—' : (p50 - floor.p50).toFixed(1);
    console.log(`| ${s.name} | ${p50.toFixed(1)} | ${p99.toFixed(1)} | ${ratio} | ${extra} |`);
  });
}

await main();
