/**
 * `warden audit export` and `warden audit verify`: evidence packages of a tenant's audit log, and
 * their verification with no server (recompute every leaf, every proof, every tree-head signature
 * and the consistency between successive heads).
 *
 * Exit codes as everywhere in the CLI: 0 the log verifies · 1 it does not (tampered, or the server
 * refused) · 2 bad usage (unreadable file or key) · 3 the server could not be reached.
 */

import type { KeyObject } from 'node:crypto';
import { closeSync, createReadStream, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import {
  EVIDENCE_STREAM_END_FORMAT,
  EVIDENCE_STREAM_FORMAT,
  type EvidencePackage,
  type EvidenceStreamEnd,
  EvidenceStreamVerifier,
  parsePublicKey,
  streamHeader,
  type VerifyReport,
  verifyEvidence,
} from '../modules/audit/index.js';
import { CliError, EXIT, resolveClient } from './client.js';
import { printJson } from './output.js';
import { progress } from './progress.js';

type RemoteOpts = { url?: string; token?: string; json?: boolean; tenant?: string };

function remote(cmd: Command): Command {
  return cmd
    .option('--token <token>', 'credential (WARDEN_TOKEN; default <data dir>/admin-token)')
    .option('--tenant <id>', 'the tenant whose log to read (needed with the operator token; X-Warden-Tenant)')
    .option('--json', 'print as JSON');
}

function tenantHeader(opts: RemoteOpts): Record<string, string> {
  return opts.tenant ? { 'x-warden-tenant': opts.tenant } : {};
}

/** Records per page (and per part of a stream): a part's line stays in the tens of MB. */
const DEFAULT_PART_SIZE = 10_000;

function exportPath(opts: { from?: string; to?: string }, limit: number, cursor?: string): string {
  const q = new URLSearchParams(
    cursor
      ? { cursor, limit: String(limit) }
      : {
          ...(opts.from ? { from: opts.from } : {}),
          ...(opts.to ? { to: opts.to } : {}),
          limit: String(limit),
        },
  );
  return `/v1/audit/export?${q}`;
}

function partSize(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PART_SIZE;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000)
    throw new CliError(
      `--part-size must be an integer from 1 to 100000, got ${JSON.stringify(value)}`,
      EXIT.usage,
    );
  return n;
}

/**
 * The pages of one export, in order (each a complete package, all proved against the head the
 * first page pinned).
 */
async function* exportPages(
  opts: RemoteOpts & { from?: string; to?: string },
  limit: number,
): AsyncGenerator<EvidencePackage> {
  const client = resolveClient(opts);
  let cursor: string | undefined;
  do {
    const page = await client.request<EvidencePackage>(
      'GET',
      exportPath(opts, limit, cursor),
      undefined,
      tenantHeader(opts),
    );
    if (!page?.manifest) throw new CliError('the server sent a page without a manifest', EXIT.failed);
    yield page;
    cursor = page.manifest.next_cursor ?? undefined;
  } while (cursor);
}

/**
 * Copies one page of an export, as the server sends it, to a file descriptor as one line, holding
 * only its last bytes (the manifest, which the server sends last): a page is never held whole.
 */
async function copyPage(opts: RemoteOpts, path: string, fd: number): Promise<EvidencePackage['manifest']> {
  const body = await resolveClient(opts).requestBody('GET', path, tenantHeader(opts));
  let tail = Buffer.alloc(0);
  for await (const chunk of body) {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    // Compact JSON holds no raw line break; one would split the part across lines.
    if (bytes.includes(0x0a)) throw new CliError('the server sent a page with a line break', EXIT.failed);
    writeAll(fd, bytes);
    tail =
      bytes.length >= TAIL_BYTES
        ? Buffer.from(bytes.subarray(-TAIL_BYTES))
        : Buffer.concat([tail, bytes]).subarray(-TAIL_BYTES);
  }
  writeAll(fd, '\n');
  const manifest = manifestOf(tail.toString('utf8'));
  if (!manifest) throw new CliError('the server sent a page whose manifest could not be read', EXIT.failed);
  return manifest;
}

/** Enough of a page's end to hold its manifest. */
const TAIL_BYTES = 16 * 1024;

/** The manifest of a page whose last member it is (as the server sends it), without parsing the rest. */
function manifestOf(text: string): EvidencePackage['manifest'] | undefined {
  const at = text.lastIndexOf(',"manifest":');
  if (at < 0 || !text.endsWith('}')) return undefined;
  try {
    return JSON.parse(text.slice(at + 12, -1)) as EvidencePackage['manifest'];
  } catch {
    return undefined;
  }
}

/** A package with its members in the documented order (the server sends the manifest last). */
function ordered(p: EvidencePackage): EvidencePackage {
  return {
    format: p.format,
    manifest: p.manifest,
    public_key: p.public_key,
    tree_heads: p.tree_heads,
    consistency: p.consistency,
    records: p.records,
  };
}

/** Writes to a file descriptor (a file, or standard output), all of it. */
function writeAll(fd: number, data: string | Buffer): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
}

/**
 * Verifies what a file or standard input holds, read line by line: an evidence stream (its first
 * line a stream header; one part in memory at a time) or one package (any JSON layout).
 */
async function verifyLines(
  source: string,
  input: NodeJS.ReadableStream,
  options: {
    publicKey: KeyObject | undefined;
    onProgress: (done: number, total: number, label: string) => void;
  },
): Promise<VerifyReport> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const it = lines[Symbol.asyncIterator]();
  try {
    let n = 0;
    let first: string | undefined;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      n++;
      if (r.value.trim() !== '') {
        first = r.value;
        break;
      }
    }
    let head: { format?: unknown } | undefined;
    try {
      head = JSON.parse(first ?? '') as { format?: unknown };
    } catch {
      head = undefined; // not a one-line header: a package laid out over several lines, or not JSON
    }
    if (head?.format !== EVIDENCE_STREAM_FORMAT) {
      const text = [first ?? ''];
      for (let r = await it.next(); !r.done; r = await it.next()) text.push(r.value);
      let pkg: unknown;
      try {
        pkg = JSON.parse(text.join('\n'));
      } catch (err) {
        throw new CliError(
          `${source} is not an evidence package (not JSON: ${(err as Error).message})`,
          EXIT.failed,
        );
      }
      return verifyEvidence(pkg, options);
    }
    const verifier = new EvidenceStreamVerifier(options);
    verifier.header(head);
    let trailer: unknown;
    for (let r = await it.next(); !r.done && !verifier.failed; r = await it.next()) {
      n++;
      if (r.value.trim() === '') continue;
      let value: { format?: unknown } | null;
      try {
        value = JSON.parse(r.value) as { format?: unknown } | null;
      } catch (err) {
        return failedAt(verifier, `line ${n} is not JSON (${(err as Error).message})`);
      }
      if (trailer !== undefined) return failedAt(verifier, `line ${n} follows the end line`);
      if (value?.format === EVIDENCE_STREAM_END_FORMAT) trailer = value;
      else verifier.part(value);
    }
    return verifier.failed ? verifier.report : verifier.finish({ trailer });
  } finally {
    lines.close();
  }
}

function failedAt(verifier: EvidenceStreamVerifier, detail: string): VerifyReport {
  if (!verifier.failed) {
    verifier.report.ok = false;
    verifier.report.failure = { reason: 'malformed_package', detail };
  }
  return verifier.report;
}

function checkTime(name: string, value: string | undefined): void {
  if (value !== undefined && Number.isNaN(Date.parse(value)))
    throw new CliError(`--${name} must be an ISO 8601 date-time, got ${JSON.stringify(value)}`, EXIT.usage);
}

/** A key given as a file (PEM, base64 SPKI DER, or the JSON of GET /v1/audit/key) or inline. */
function readKey(value: string): KeyObject {
  let text = value;
  if (existsSync(value)) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      throw new CliError(`cannot read --key ${value}: ${(err as Error).message}`, EXIT.usage);
    }
  }
  try {
    return parsePublicKey(text);
  } catch (err) {
    throw new CliError(
      `--key is not an Ed25519 public key (PEM, base64 SPKI DER, or the JSON of GET /v1/audit/key): ${(err as Error).message}`,
      EXIT.usage,
    );
  }
}

function parts(report: VerifyReport): string {
  const n = (report.checked as { parts?: number }).parts;
  return n ? ` in ${n} parts` : '';
}

function describeFailure(report: VerifyReport): string {
  const f = report.failure!;
  const where =
    f.leaf_index !== undefined
      ? `record at leaf ${f.leaf_index}${f.record_id ? ` (${f.record_id})` : ''}`
      : f.tree_size !== undefined
        ? `tree head of size ${f.tree_size}`
        : 'package';
  return `TAMPERED: ${where}: ${f.reason}: ${f.detail}`;
}

/**
 * @example
 *   registerAuditCommands(program); // adds `warden audit export …` and `warden audit verify …`
 */
export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');

  remote(
    audit
      .command('export')
      .description(
        'write an evidence package (records, tree heads, proofs, public key, manifest) of a tenant',
      )
      .option('--url <url>', 'Warden base URL (WARDEN_URL; default http://127.0.0.1:8080)')
      .option('--from <date-time>', 'records at or after this time (ISO 8601)')
      .option('--to <date-time>', 'records before this time (ISO 8601)')
      .option('--out <file>', 'write the package here (default standard output)')
      .option(
        '--part-size <n>',
        `records per request; a longer range is written as an evidence stream of parts (default ${DEFAULT_PART_SIZE})`,
      ),
  ).action(async (opts: RemoteOpts & { from?: string; to?: string; out?: string; partSize?: string }) => {
    checkTime('from', opts.from);
    checkTime('to', opts.to);
    const limit = partSize(opts.partSize);
    const first = (await exportPages(opts, limit).next()).value as EvidencePackage;
    let fd = 1;
    if (opts.out) {
      try {
        fd = openSync(opts.out, 'w', 0o600);
      } catch (err) {
        throw new CliError(`cannot write ${opts.out}: ${(err as Error).message}`, EXIT.usage);
      }
    }
    const header = streamHeader(first);
    let records = first.manifest.record_count;
    let parts = 1;
    let tree_heads = first.manifest.tree_head_count;
    try {
      if (!first.manifest.next_cursor) {
        // It fits one package: written as one (readable) JSON document.
        writeAll(fd, `${JSON.stringify(ordered(first), null, 1)}\n`);
      } else {
        const bar = opts.json || !opts.out ? undefined : progress('exporting');
        const total = header.to_index - header.from_index;
        writeAll(fd, `${JSON.stringify(header)}\n${JSON.stringify(ordered(first))}\n`);
        bar?.update(records, total, 'records');
        // The later pages are copied as they arrive, never parsed whole.
        for (let cursor: string | null = first.manifest.next_cursor; cursor; ) {
          const manifest = await copyPage(opts, exportPath(opts, limit, cursor), fd);
          records += manifest.record_count;
          tree_heads += manifest.tree_head_count;
          parts++;
          bar?.update(records, total, 'records');
          cursor = manifest.next_cursor ?? null;
        }
        bar?.stop();
        const end: EvidenceStreamEnd = { format: EVIDENCE_STREAM_END_FORMAT, parts, record_count: records };
        writeAll(fd, `${JSON.stringify(end)}\n`);
      }
    } finally {
      if (fd !== 1) closeSync(fd);
    }
    if (!opts.out) return;
    const summary = {
      file: opts.out,
      tenant_id: header.tenant_id,
      records,
      parts,
      tree_heads,
      tree_size: header.tree_size,
      key_id: first.public_key.key_id,
    };
    if (opts.json) printJson(summary);
    else
      process.stdout.write(
        `wrote ${summary.records} records${parts > 1 ? ` in ${parts} parts` : ''} and ${summary.tree_heads} tree heads of tenant ${summary.tenant_id} (tree size ${summary.tree_size}) to ${summary.file}\n`,
      );
  });

  remote(
    audit
      .command('verify')
      .description(
        'verify an evidence package file, or a running Warden’s log (its export), with no trust in the server',
      )
      .argument(
        '<source>',
        'an evidence package or stream file, - for standard input, or a Warden base URL (http[s]://…)',
      )
      .option(
        '--key <pubkey>',
        'the deployment key to trust: a file or inline PEM/base64 (GET /v1/audit/key)',
      )
      .option('--from <date-time>', 'with a URL: records at or after this time')
      .option('--to <date-time>', 'with a URL: records before this time')
      .option('--part-size <n>', `with a URL: records per request (default ${DEFAULT_PART_SIZE})`),
  ).action(
    async (
      source: string,
      opts: RemoteOpts & { key?: string; from?: string; to?: string; partSize?: string },
    ) => {
      const key = opts.key !== undefined ? readKey(opts.key) : undefined;
      const bar = opts.json ? undefined : progress('verifying');
      const onProgress = (done: number, total: number, label: string) => bar?.update(done, total, label);
      let report: VerifyReport;
      if (/^https?:\/\//i.test(source)) {
        checkTime('from', opts.from);
        checkTime('to', opts.to);
        // Page by page, each verified as it arrives and bound to the others: any length, bounded memory.
        const pages = exportPages({ ...opts, url: source }, partSize(opts.partSize));
        const first = (await pages.next()).value as EvidencePackage;
        if (!first.manifest.next_cursor) report = verifyEvidence(first, { publicKey: key, onProgress });
        else {
          const verifier = new EvidenceStreamVerifier({ publicKey: key, onProgress });
          verifier.header(streamHeader(first));
          verifier.part(first);
          for await (const page of pages) if (!verifier.part(page)) break;
          report = verifier.failed ? verifier.report : verifier.finish({ expectTrailer: false });
        }
      } else {
        // A file, or `-` for standard input (`warden audit export … | warden audit verify - --key k`).
        let input: NodeJS.ReadableStream;
        if (source === '-') input = process.stdin;
        else {
          if (!existsSync(source)) throw new CliError(`cannot read ${source}: no such file`, EXIT.usage);
          input = createReadStream(source, 'utf8');
          await new Promise<void>((resolve, reject) => {
            (input as ReturnType<typeof createReadStream>)
              .once('open', () => resolve())
              .once('error', reject);
          }).catch((err: Error) => {
            throw new CliError(`cannot read ${source}: ${err.message}`, EXIT.usage);
          });
        }
        try {
          report = await verifyLines(source, input, { publicKey: key, onProgress });
        } catch (err) {
          if (err instanceof CliError) throw err;
          throw new CliError(`cannot read ${source}: ${(err as Error).message}`, EXIT.usage);
        }
      }
      bar?.stop();
      if (opts.json) printJson(report);
      else {
        for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
        if (report.ok) {
          const c = report.checked;
          process.stdout.write(
            `ok: log ${report.tenant_id}, tree size ${report.tree_size}: ${c.records} records${parts(report)}, ${c.tree_heads} signed tree heads, ${c.consistency_proofs} consistency proofs${c.full_root_recomputed ? '; every root recomputed from the leaves' : ''}\n`,
          );
        } else process.stdout.write(`${describeFailure(report)}\n`);
      }
      if (!report.ok) process.exitCode = EXIT.failed;
    },
  );
}
