/**
 * `warden policy …`: the policy module's commands. With the operator token, name the tenant with
 * `--tenant <id>`; with an API key the key's own tenant is used. Exit codes as everywhere: 0 done,
 * 1 the server refused (its problem is printed), 2 bad usage, 3 the server could not be reached.
 *
 *   warden policy list | get <policy-id>                  policies, and one with its versions
 *   warden policy templates list | get <template>         the template catalogue
 *   warden policy install <template> --name N [--param k=v]…  a template as a draft policy
 *   warden policy propose|enforce|revoke <policy-id> <version> --reason R   lifecycle transitions
 *   warden policy shadow <policy-id> <version> --reason R [--stop]         run beside the active one
 *   warden policy shadow-report <policy-id> <version>     where the shadow version disagreed
 *   warden policy rollback <policy-id> --reason R [--to V]  re-activate an earlier version
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

interface VersionShape {
  id: string;
  version: number;
  state: string;
  shadow: boolean;
  created_at: string;
  rules: RuleShape[];
  tests: unknown[];
}

const path = (id: string, rest = '') => `/v1/oversight/policies/${encodeURIComponent(id)}${rest}`;

function printVersion(v: VersionShape): void {
  printTable(
    [
      {
        version: v.version,
        state: v.state,
        shadow: v.shadow ? 'yes' : 'no',
        rules: v.rules.length,
        tests: v.tests.length,
        id: v.id,
      },
    ],
    ['version', 'state', 'shadow', 'rules', 'tests', 'id'],
  );
}

/**
 * `--param name=value` pairs as template parameters: the value is JSON when it parses (numbers,
 * booleans, lists), else the text itself.
 *
 * @example
 *   parseParams(['max_cost=20', 'hosts=["a.com"]', 'zone=Europe/Paris']);
 *   // { max_cost: 20, hosts: ['a.com'], zone: 'Europe/Paris' }
 */
export function parseParams(pairs: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at < 1) throw new CliError(`--param takes name=value, got ${JSON.stringify(pair)}`, EXIT.usage);
    const name = pair.slice(0, at);
    const text = pair.slice(at + 1);
    if (Object.hasOwn(out, name)) throw new CliError(`--param ${name} is given twice`, EXIT.usage);
    try {
      out[name] = JSON.parse(text);
    } catch {
      out[name] = text;
    }
  }
  return out;
}

const collect = (value: string, previous: string[]) => [...previous, value];

/**
 * @example
 *   registerPolicyCommands(program); // adds `warden policy …` (list, install, enforce, rollback, simulate…)
 */
export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command('policy')
    .description('policies: install templates, move versions through their lifecycle, test and simulate');

  remote(
    policy
      .command('list')
      .description("list the tenant's policies and which one is active")
      .option('--limit <n>', 'page size (1-200)', '50'),
  ).action(async (opts: RemoteOpts & { limit: string }) => {
    const page = await resolveClient(opts).request<{ items: Record<string, unknown>[] }>(
      'GET',
      `/v1/oversight/policies?${new URLSearchParams({ limit: opts.limit })}`,
      undefined,
      tenantHeader(opts),
    );
    if (opts.json) return printJson(page.items);
    printTable(page.items, ['id', 'name', 'latest_version', 'active_version', 'updated_at']);
  });

  remote(
    policy.command('get').description('show a policy and its versions').argument('<policy-id>', 'policy id'),
  ).action(async (id: string, opts: RemoteOpts) => {
    const client = resolveClient(opts);
    const [p, { items: versions }] = await Promise.all([
      client.request<Record<string, unknown>>('GET', path(id), undefined, tenantHeader(opts)),
      client.request<{ items: VersionShape[] }>('GET', path(id, '/versions'), undefined, tenantHeader(opts)),
    ]);
    if (opts.json) return printJson({ ...p, versions });
    process.stdout.write(
      `${p.name} (${p.id}): latest version ${p.latest_version}, active ${p.active_version ?? 'none'}\n`,
    );
    printTable(
      versions.map((v) => ({
        version: v.version,
        state: v.state,
        shadow: v.shadow ? 'yes' : 'no',
        rules: v.rules.length,
        tests: v.tests.length,
        created_at: v.created_at,
      })),
      ['version', 'state', 'shadow', 'rules', 'tests', 'created_at'],
    );
  });

  const templates = policy.command('templates').description('the policy template catalogue');
  remote(
    templates.command('list').description('built-in templates, the tenant’s own and public ones'),
  ).action(async (opts: RemoteOpts) => {
    const r = await resolveClient(opts).request<{ items: Record<string, unknown>[] }>(
      'GET',
      '/v1/oversight/templates',
      undefined,
      tenantHeader(opts),
    );
    if (opts.json) return printJson(r.items);
    printTable(
      r.items.map((t) => ({
        ...t,
        parameters: (t.parameters as { name: string }[]).map((x) => x.name).join(','),
      })),
      ['ref', 'visibility', 'version', 'parameters', 'description'],
    );
  });
  remote(
    templates
      .command('get')
      .description('show a template: parameters, rules and tests')
      .argument('<template>', 'built-in name or template id')
      .option('--template-version <n>', 'template version (default: latest)'),
  ).action(async (ref: string, opts: RemoteOpts & { templateVersion?: string }) => {
    const q = opts.templateVersion ? `?version=${versionNumber(opts.templateVersion)}` : '';
    const t = await resolveClient(opts).request<{
      ref: string;
      description: string;
      version: number;
      parameters: { name: string; type: string; description: string; default?: unknown }[];
      rules: RuleShape[];
      tests: unknown[];
    }>('GET', `/v1/oversight/templates/${encodeURIComponent(ref)}${q}`, undefined, tenantHeader(opts));
    if (opts.json) return printJson(t);
    process.stdout.write(`${t.ref} v${t.version}: ${t.description}\n\nparameters:\n`);
    printTable(t.parameters, ['name', 'type', 'default', 'description']);
    process.stdout.write('\nrules:\n');
    printTable(t.rules, ['id', 'effect', 'when']);
    process.stdout.write(`\n${t.tests.length} test case(s)\n`);
  });

  remote(
    policy
      .command('install')
      .description('install a template as a new draft policy')
      .argument('<template>', 'built-in name or template id')
      .requiredOption('--name <name>', 'the new policy’s name')
      .option(
        '--param <name=value>',
        'a template parameter (repeatable; JSON values are parsed)',
        collect,
        [],
      )
      .option('--template-version <n>', 'template version (default: latest)'),
  ).action(
    async (ref: string, opts: RemoteOpts & { name: string; param: string[]; templateVersion?: string }) => {
      const r = await resolveClient(opts).request<{
        policy: { id: string; name: string };
        version: VersionShape;
      }>(
        'POST',
        `/v1/oversight/templates/${encodeURIComponent(ref)}/deploy`,
        {
          name: opts.name,
          parameters: parseParams(opts.param),
          ...(opts.templateVersion ? { version: versionNumber(opts.templateVersion) } : {}),
        },
        tenantHeader(opts),
      );
      if (opts.json) return printJson(r);
      process.stdout.write(`installed ${ref} as policy ${r.policy.id} (${r.policy.name}), version 1 draft\n`);
    },
  );

  for (const [verb, description] of [
    ['propose', 'draft → proposed (its expressions are compiled and type-checked)'],
    ['enforce', 'proposed → active (its tests must pass; the active version is superseded)'],
    ['revoke', 'draft | proposed | active → revoked (revoking the active one leaves default deny)'],
  ] as const)
    remote(
      policy
        .command(verb)
        .description(description)
        .argument('<policy-id>', 'policy id')
        .argument('<version>', 'version number')
        .requiredOption('--reason <text>', 'why: kept with the transition and audited'),
    ).action(async (id: string, version: string, opts: RemoteOpts & { reason: string }) => {
      const v = await resolveClient(opts).request<VersionShape>(
        'POST',
        path(id, `/versions/${versionNumber(version)}/${verb}`),
        { reason: opts.reason },
        tenantHeader(opts),
      );
      if (opts.json) return printJson(v);
      printVersion(v);
    });

  remote(
    policy
      .command('shadow')
      .description('run a proposed version in shadow beside the active one (--stop to end it)')
      .argument('<policy-id>', 'policy id')
      .argument('<version>', 'version number')
      .requiredOption('--reason <text>', 'why: kept with the transition and audited')
      .option('--stop', 'stop running it in shadow'),
  ).action(async (id: string, version: string, opts: RemoteOpts & { reason: string; stop?: boolean }) => {
    const v = await resolveClient(opts).request<VersionShape>(
      'POST',
      path(id, `/versions/${versionNumber(version)}/shadow`),
      { enabled: !opts.stop, reason: opts.reason },
      tenantHeader(opts),
    );
    if (opts.json) return printJson(v);
    printVersion(v);
  });

  remote(
    policy
      .command('shadow-report')
      .description('the decisions where a shadow version disagreed with the active one, newest first')
      .argument('<policy-id>', 'policy id')
      .argument('<version>', 'version number')
      .option('--limit <n>', 'page size (1-200)', '50'),
  ).action(async (id: string, version: string, opts: RemoteOpts & { limit: string }) => {
    const r = await resolveClient(opts).request<{
      shadow: boolean;
      disagreements_total: number;
      items: {
        decision_id: string;
        action: string;
        at: string;
        active: { decision: string };
        shadow: { decision: string; rule_ids: string[] };
      }[];
    }>(
      'GET',
      path(
        id,
        `/versions/${versionNumber(version)}/shadow-report?${new URLSearchParams({ limit: opts.limit })}`,
      ),
      undefined,
      tenantHeader(opts),
    );
    if (opts.json) return printJson(r);
    process.stdout.write(
      `${r.disagreements_total} disagreement(s); ${r.shadow ? 'running in shadow' : 'not in shadow now'}\n`,
    );
    printTable(
      r.items.map((d) => ({
        decision: d.decision_id,
        action: d.action,
        active: d.active.decision,
        shadow: d.shadow.decision,
        rules: d.shadow.rule_ids.join(','),
        at: d.at,
      })),
      ['decision', 'action', 'active', 'shadow', 'rules', 'at'],
    );
  });

  remote(
    policy
      .command('rollback')
      .description('re-activate an earlier version of a policy (default: the one active before)')
      .argument('<policy-id>', 'policy id')
      .requiredOption('--reason <text>', 'why: kept with the transition and audited')
      .option('--to <version>', 'the version to re-activate'),
  ).action(async (id: string, opts: RemoteOpts & { reason: string; to?: string }) => {
    const v = await resolveClient(opts).request<VersionShape>(
      'POST',
      path(id, '/rollback'),
      { reason: opts.reason, ...(opts.to ? { to_version: versionNumber(opts.to) } : {}) },
      tenantHeader(opts),
    );
    if (opts.json) return printJson(v);
    printVersion(v);
  });
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
