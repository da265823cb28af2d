/**
 * `warden audit export` and `warden audit verify`: evidence packages of a tenant's audit log, and
 * their verification with no server (recompute every leaf, every proof, every tree-head signature
 * and the consistency between successive heads).
 *
 * Exit codes as everywhere in the CLI: 0 the log verifies · 1 it does not (tampered, or the server
 * refused) · 2 bad usage (unreadable file or key) · 3 the server could not be reached.
 */

import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  type EvidencePackage,
  parsePublicKey,
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

function exportPath(opts: { from?: string; to?: string }): string {
  const q = new URLSearchParams({
    ...(opts.from ? { from: opts.from } : {}),
    ...(opts.to ? { to: opts.to } : {}),
  });
  return `/v1/audit/export${q.size > 0 ? `?${q}` : ''}`;
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
      .option('--out <file>', 'write the package here (default standard output)'),
  ).action(async (opts: RemoteOpts & { from?: string; to?: string; out?: string }) => {
    checkTime('from', opts.from);
    checkTime('to', opts.to);
    const pkg = await resolveClient(opts).request<EvidencePackage>(
      'GET',
      exportPath(opts),
      undefined,
      tenantHeader(opts),
    );
    const text = `${JSON.stringify(pkg, null, 1)}\n`;
    if (!opts.out) {
      process.stdout.write(text);
      return;
    }
    try {
      writeFileSync(opts.out, text, { mode: 0o600 });
    } catch (err) {
      throw new CliError(`cannot write ${opts.out}: ${(err as Error).message}`, EXIT.usage);
    }
    const summary = {
      file: opts.out,
      tenant_id: pkg.manifest.tenant_id,
      records: pkg.manifest.record_count,
      tree_heads: pkg.manifest.tree_head_count,
      tree_size: pkg.tree_heads.at(-1)?.tree_size ?? 0,
      key_id: pkg.public_key.key_id,
    };
    if (opts.json) printJson(summary);
    else
      process.stdout.write(
        `wrote ${summary.records} records and ${summary.tree_heads} tree heads of tenant ${summary.tenant_id} (tree size ${summary.tree_size}) to ${summary.file}\n`,
      );
  });

  remote(
    audit
      .command('verify')
      .description(
        'verify an evidence package file, or a running Warden’s log (its export), with no trust in the server',
      )
      .argument('<source>', 'an evidence package file, or a Warden base URL (http[s]://…)')
      .option(
        '--key <pubkey>',
        'the deployment key to trust: a file or inline PEM/base64 (GET /v1/audit/key)',
      )
      .option('--from <date-time>', 'with a URL: records at or after this time')
      .option('--to <date-time>', 'with a URL: records before this time'),
  ).action(async (source: string, opts: RemoteOpts & { key?: string; from?: string; to?: string }) => {
    const key = opts.key !== undefined ? readKey(opts.key) : undefined;
    let pkg: unknown;
    if (/^https?:\/\//i.test(source)) {
      checkTime('from', opts.from);
      checkTime('to', opts.to);
      pkg = await resolveClient({ ...opts, url: source }).request<unknown>(
        'GET',
        exportPath(opts),
        undefined,
        tenantHeader(opts),
      );
    } else {
      let text: string;
      try {
        text = readFileSync(source, 'utf8');
      } catch (err) {
        throw new CliError(`cannot read ${source}: ${(err as Error).message}`, EXIT.usage);
      }
      try {
        pkg = JSON.parse(text);
      } catch (err) {
        throw new CliError(
          `${source} is not an evidence package (not JSON: ${(err as Error).message})`,
          EXIT.failed,
        );
      }
    }
    const bar = opts.json ? undefined : progress('verifying');
    const report = verifyEvidence(pkg, {
      publicKey: key,
      onProgress: (done, total, label) => bar?.update(done, total, label),
    });
    bar?.stop();
    if (opts.json) printJson(report);
    else {
      for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
      if (report.ok) {
        const c = report.checked;
        process.stdout.write(
          `ok: log ${report.tenant_id}, tree size ${report.tree_size}: ${c.records} records, ${c.tree_heads} signed tree heads, ${c.consistency_proofs} consistency proofs${c.full_root_recomputed ? '; every root recomputed from the leaves' : ''}\n`,
        );
      } else process.stdout.write(`${describeFailure(report)}\n`);
    }
    if (!report.ok) process.exitCode = EXIT.failed;
  });
}
