/**
 * `warden user …`, `warden apikey …` and `warden tenant onboard|update|deactivate`: the identity
 * module's commands. With the operator token, name the tenant with `--tenant <id>` (sent as
 * X-Warden-Tenant); with an API key or session token the credential's own tenant is used.
 *
 * Passwords are read from standard input (`--password-stdin`), never from an argument (arguments
 * show up in `ps` and shell history).
 */
import type { Command } from 'commander';
import { CliError, EXIT, resolveClient } from './client.js';
import { printJson, printTable } from './output.js';

type RemoteOpts = { url?: string; token?: string; json?: boolean; tenant?: string };

function remote(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'Warden base URL (WARDEN_URL; default http://127.0.0.1:8080)')
    .option('--token <token>', 'credential (WARDEN_TOKEN; default <data dir>/admin-token)')
    .option('--tenant <id>', 'tenant to act in (operator token only; X-Warden-Tenant)')
    .option('--json', 'print as JSON');
}

function tenantHeader(opts: RemoteOpts): Record<string, string> {
  return opts.tenant ? { 'x-warden-tenant': opts.tenant } : {};
}

async function readPassword(opts: { passwordStdin?: boolean }): Promise<string | undefined> {
  if (!opts.passwordStdin) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

async function listAll(
  opts: RemoteOpts & { limit: string; all?: boolean },
  path: string,
): Promise<Record<string, unknown>[]> {
  const client = resolveClient(opts);
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: opts.limit, ...(cursor ? { cursor } : {}) });
    const page: { items: Record<string, unknown>[]; next_cursor: string | null } = await client.request(
      'GET',
      `${path}?${q}`,
      undefined,
      tenantHeader(opts),
    );
    items.push(...page.items);
    cursor = opts.all ? page.next_cursor : null;
  } while (cursor);
  return items;
}

/**
 * @example
 *   registerIdentityCommands(program); // adds `warden user …`, `warden apikey …`, `warden tenant onboard …`
 */
export function registerIdentityCommands(program: Command): void {
  const user = program.command('user').description('manage users of a tenant');
  remote(
    user
      .command('create')
      .description(
        'create a user (password from --password-stdin; without it the user signs in through SSO only)',
      )
      .argument('<email>', 'the login email')
      .requiredOption('--role <role>', 'owner, admin, approver, auditor, developer or viewer')
      .option('--password-stdin', 'read the password from standard input'),
  ).action(async (email: string, opts: RemoteOpts & { role: string; passwordStdin?: boolean }) => {
    const password = await readPassword(opts);
    const u = await resolveClient(opts).request<Record<string, unknown>>(
      'POST',
      '/v1/users',
      { email, role: opts.role, ...(password !== undefined ? { password } : {}) },
      tenantHeader(opts),
    );
    if (opts.json) printJson(u);
    else process.stdout.write(`created user ${u.id} (${u.email}, ${u.role})\n`);
  });
  remote(
    user
      .command('list')
      .description('list users')
      .option('--limit <n>', 'page size (1-200)', '50')
      .option('--all', 'follow cursors to the end'),
  ).action(async (opts: RemoteOpts & { limit: string; all?: boolean }) => {
    const items = await listAll(opts, '/v1/users');
    if (opts.json) printJson(items);
    else printTable(items, ['id', 'email', 'role', 'status', 'created_at']);
  });
  remote(user.command('disable').description('disable a user').argument('<id>', 'user id')).action(
    async (id: string, opts: RemoteOpts) => {
      const u = await resolveClient(opts).request<Record<string, unknown>>(
        'DELETE',
        `/v1/users/${encodeURIComponent(id)}`,
        undefined,
        tenantHeader(opts),
      );
      if (opts.json) printJson(u);
      else process.stdout.write(`disabled user ${u.id}\n`);
    },
  );

  const apikey = program.command('apikey').description('manage API keys of a tenant');
  remote(
    apikey
      .command('create')
      .description('create an API key; the key is printed once')
      .argument('<name>', 'a name to recognise the key by')
      .option('--role <role>', 'the key’s role (default: your own)')
      .option('--scope <permission...>', 'narrow the key to these permissions (area:verb, area:*)')
      .option('--expires-at <date-time>', 'ISO 8601 expiry'),
  ).action(
    async (name: string, opts: RemoteOpts & { role?: string; scope?: string[]; expiresAt?: string }) => {
      const k = await resolveClient(opts).request<Record<string, unknown>>(
        'POST',
        '/v1/api-keys',
        {
          name,
          ...(opts.role ? { role: opts.role } : {}),
          ...(opts.scope ? { scopes: opts.scope } : {}),
          ...(opts.expiresAt ? { expires_at: opts.expiresAt } : {}),
        },
        tenantHeader(opts),
      );
      if (opts.json) printJson(k);
      else {
        process.stdout.write(`created API key ${k.id} (${k.prefix}…, ${k.role})\n`);
        process.stdout.write(`${k.key}\n`);
        process.stderr.write('store this key now: it is not shown again\n');
      }
    },
  );
  remote(
    apikey
      .command('list')
      .description('list API keys (never their secrets)')
      .option('--limit <n>', 'page size (1-200)', '50')
      .option('--all', 'follow cursors to the end'),
  ).action(async (opts: RemoteOpts & { limit: string; all?: boolean }) => {
    const items = await listAll(opts, '/v1/api-keys');
    if (opts.json) printJson(items);
    else printTable(items, ['id', 'name', 'prefix', 'role', 'expires_at', 'revoked_at', 'last_used_at']);
  });
  remote(apikey.command('revoke').description('revoke an API key').argument('<id>', 'API key id')).action(
    async (id: string, opts: RemoteOpts) => {
      const k = await resolveClient(opts).request<Record<string, unknown>>(
        'DELETE',
        `/v1/api-keys/${encodeURIComponent(id)}`,
        undefined,
        tenantHeader(opts),
      );
      if (opts.json) printJson(k);
      else process.stdout.write(`revoked API key ${k.id} (${k.prefix}…)\n`);
    },
  );

  // `tenant` exists in main.ts (create, list, get); these join it.
  const tenant =
    program.commands.find((c) => c.name() === 'tenant') ??
    program.command('tenant').description('manage tenants');
  remote(
    tenant
      .command('onboard')
      .description(
        'create the owner account (password from --password-stdin) and an owner API key (printed once)',
      )
      .argument('<id>', 'tenant id')
      .requiredOption('--owner-email <email>', 'the owner’s login email')
      .requiredOption('--password-stdin', 'read the owner password from standard input'),
  ).action(async (id: string, opts: RemoteOpts & { ownerEmail: string; passwordStdin?: boolean }) => {
    const password = await readPassword(opts);
    if (!password)
      throw new CliError('give the owner password on standard input (--password-stdin)', EXIT.usage);
    const res = await resolveClient(opts).request<{
      tenant: Record<string, unknown>;
      owner: Record<string, unknown>;
      api_key: Record<string, unknown>;
    }>('POST', `/v1/tenants/${encodeURIComponent(id)}/onboard`, {
      owner_email: opts.ownerEmail,
      owner_password: password,
    });
    if (opts.json) printJson(res);
    else {
      process.stdout.write(`onboarded tenant ${res.tenant.id}: owner ${res.owner.email} (${res.owner.id})\n`);
      process.stdout.write(`${res.api_key.key}\n`);
      process.stderr.write('store this owner API key now: it is not shown again\n');
    }
  });
  remote(
    tenant
      .command('rename')
      .description('rename a tenant')
      .argument('<id>', 'tenant id')
      .argument('<name>', 'the new name')
      .option('--if-match <etag>', 'only if the tenant is still at this version (ETag)'),
  ).action(async (id: string, name: string, opts: RemoteOpts & { ifMatch?: string }) => {
    const etag: Record<string, string> = opts.ifMatch
      ? { 'if-match': opts.ifMatch.startsWith('"') ? opts.ifMatch : `"${opts.ifMatch}"` }
      : {};
    const t = await resolveClient(opts).request<Record<string, unknown>>(
      'PUT',
      `/v1/tenants/${encodeURIComponent(id)}`,
      { name },
      etag,
    );
    if (opts.json) printJson(t);
    else process.stdout.write(`renamed tenant ${t.id} to ${t.name} (version ${t.version})\n`);
  });
  remote(
    tenant.command('deactivate').description('deactivate a tenant (data kept)').argument('<id>', 'tenant id'),
  ).action(async (id: string, opts: RemoteOpts) => {
    const t = await resolveClient(opts).request<Record<string, unknown>>(
      'DELETE',
      `/v1/tenants/${encodeURIComponent(id)}`,
    );
    if (opts.json) printJson(t);
    else process.stdout.write(`deactivated tenant ${t.id}\n`);
  });
}
