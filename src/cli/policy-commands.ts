/**
 * `warden policy test|simulate|diff`: the policy module's commands. With the operator token, name
 * the tenant with `--tenant <id>`; with an API key the key's own tenant is used.
 *
 *   warden policy test <policy-id> <version>             run the version's test cases (exit 1 on a failure)
 *   warden policy simulate <policy-id> <version> --last N  replay the last N decisions under the version
 *   warden policy diff <policy-id> <from> <to>           rules added, removed and changed between versions
 */
import type { Command } from 'commander';
import { CliError, EXIT, resolveClient } from './client.js';
import { printJson, printTable } from './output.js';

type RemoteOpts = { url?: string; token?: string; json?: boolean; tenant?: string };

interface RuleShape {
  id: string;
  [key: string]: unknown;
}

function remote(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'Warden base URL (WARDEN_URL; default http://127.0.0.1:8080)')
    .option('--token <token>', 'credential (WARDEN_TOKEN; default <data dir>/admin-token)')
    .option('--tenant <id>', 'tenant to act in (operator token only; X-Warden-Tenant)')
    .option('--json', 'print as JSON');
}

const tenantHeader = (opts: RemoteOpts): Record<string, string> =>
  opts.tenant ? { 'x-warden-tenant': opts.tenant } : {};

function versionNumber(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new CliError(`version must be a positive integer, got ${text}`, EXIT.usage);
  return n;
}

/**
 * Rules added, removed and changed between two rule lists, by rule id.
 *
 * @example
 *   diffRules([{ id: 'a', when: 'true' }], [{ id: 'a', when: 'false' }, { id: 'b' }]);
 *   // { added: ['b'], removed: [], changed: [{ id: 'a', fields: ['when'] }] }
 */
export function diffRules(from: readonly RuleShape[], to: readonly RuleShape[]) {
  const before = new Map(from.map((r) => [r.id, r]));
  const after = new Map(to.map((r) => [r.id, r]));
  const changed: { id: string; fields: string[] }[] = [];
  for (const [id, r] of after) {
    const old = before.get(id);
    if (!old) continue;
    const keys = new Set([...Object.keys(old), ...Object.keys(r)]);
    const fields = [...keys].filter((k) => JSON.stringify(old[k]) !== JSON.stringify(r[k])).sort();
    if (fields.length > 0) changed.push({ id, fields });
  }
  return {
    added: [...after.keys()].filter((id) => !before.has(id)),
    removed: [...before.keys()].filter((id) => !after.has(id)),
    changed,
  };
}

/**
 * @example
 *   registerPolicyCommands(program); // adds `warden policy test|simulate|diff`
 */
export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('test, simulate and compare policy versions');
  remote(
    policy
      .command('test')
      .description("run a version's test cases; exits 1 when one fails")
      .argument('<policy-id>', 'policy id')
      .argument('<version>', 'version number'),
  ).action(async (id: string, version: string, opts: RemoteOpts) => {
    const report = await resolveClient(opts).request<{
      passed: number;
      failed: number;
      results: {
        name: string;
        passed: boolean;
        expected: { decision: string; rule: string | null };
        actual: { decision: string; rule: string | null };
      }[];
    }>(
      'POST',
      `/v1/oversight/policies/${encodeURIComponent(id)}/versions/${versionNumber(version)}/test`,
      {},
      tenantHeader(opts),
    );
    if (opts.json) printJson(report);
    else {
      printTable(
        report.results.map((r) => ({
          result: r.passed ? 'pass' : 'FAIL',
          name: r.name,
          expected: `${r.expected.decision}${r.expected.rule ? ` (${r.expected.rule})` : ''}`,
          actual: `${r.actual.decision}${r.actual.rule ? ` (${r.actual.rule})` : ''}`,
        })),
        ['result', 'name', 'expected', 'actual'],
      );
      process.stdout.write(`${report.passed} passed, ${report.failed} failed\n`);
    }
    if (report.failed > 0) throw new CliError(`${report.failed} test case(s) failed`, EXIT.failed);
  });

  remote(
    policy
      .command('simulate')
      .description("replay the tenant's last decisions under a version and list what would flip")
      .argument('<policy-id>', 'policy id')
      .argument('<version>', 'version number')
      .option('--last <n>', 'how many past decisions (1-10000)', '1000')
      .option('--max-flips <n>', 'flips to list (1-1000)', '100'),
  ).action(async (id: string, version: string, opts: RemoteOpts & { last: string; maxFlips: string }) => {
    const r = await resolveClient(opts).request<{
      replayed: number;
      flipped: number;
      changes: Record<string, number>;
      flips: {
        decision_id: string;
        action: string;
        from: { decision: string };
        to: { decision: string };
        by_rule: string | null;
      }[];
    }>(
      'POST',
      `/v1/oversight/policies/${encodeURIComponent(id)}/simulate`,
      { version: versionNumber(version), last: Number(opts.last), max_flips: Number(opts.maxFlips) },
      tenantHeader(opts),
    );
    if (opts.json) return printJson(r);
    process.stdout.write(`replayed ${r.replayed} decision(s); ${r.flipped} would flip\n`);
    for (const [change, n] of Object.entries(r.changes)) process.stdout.write(`  ${change}: ${n}\n`);
    printTable(
      r.flips.map((f) => ({
        decision: f.decision_id,
        action: f.action,
        from: f.from.decision,
        to: f.to.decision,
        rule: f.by_rule,
      })),
      ['decision', 'action', 'from', 'to', 'rule'],
    );
  });

  remote(
    policy
      .command('diff')
      .description('compare the rules of two versions of a policy')
      .argument('<policy-id>', 'policy id')
      .argument('<from>', 'version number')
      .argument('<to>', 'version number'),
  ).action(async (id: string, from: string, to: string, opts: RemoteOpts) => {
    const client = resolveClient(opts);
    const get = (v: string) =>
      client.request<{ rules: RuleShape[] }>(
        'GET',
        `/v1/oversight/policies/${encodeURIComponent(id)}/versions/${versionNumber(v)}`,
        undefined,
        tenantHeader(opts),
      );
    const [a, b] = await Promise.all([get(from), get(to)]);
    const d = diffRules(a.rules, b.rules);
    if (opts.json) return printJson(d);
    for (const r of d.added) process.stdout.write(`+ ${r}\n`);
    for (const r of d.removed) process.stdout.write(`- ${r}\n`);
    for (const c of d.changed) process.stdout.write(`~ ${c.id} (${c.fields.join(', ')})\n`);
    if (d.added.length + d.removed.length + d.changed.length === 0) process.stdout.write('no rule changes\n');
  });
}
