#!/usr/bin/env node
/**
 * `warden` — run the server and operate it.
 *
 * Exit codes: 0 success · 1 the operation failed (the server said no) · 2 bad usage or
 * configuration · 3 the server could not be reached.
 */
import { Command, CommanderError } from 'commander';
import { MIGRATION_SOURCES, MODULE_NAMES } from '../module-list.js';
import {
  CONFIG_SPEC,
  ConfigError,
  loadConfig,
  maskedConfig,
  registerModuleNames,
  type WardenConfig,
} from '../platform/config.js';
import { openDatabase } from '../platform/db/database.js';
import { migrate } from '../platform/db/migrate.js';
import { parseMasterKeys, SecretsStore } from '../platform/secrets.js';
import { createLogger } from '../platform/telemetry/logger.js';
import { buildWarden } from '../server.js';
import { VERSION } from '../version.js';
import { registerAgentCommands } from './agent-commands.js';
import { registerAuditCommands } from './audit-commands.js';
import { registerAuthzCommands } from './authz-commands.js';
import { CliError, EXIT, resolveClient } from './client.js';
import { registerIdentityCommands } from './identity-commands.js';
import { printJson, printTable } from './output.js';
import { registerPolicyCommands } from './policy-commands.js';
import { progress } from './progress.js';

registerModuleNames(MODULE_NAMES);

const program = new Command()
  .name('warden')
  .description('Warden: the control plane for autonomous AI agents.')
  .version(VERSION, '-V, --version', 'print the version')
  .showHelpAfterError()
  .exitOverride();

const configHelp = `\nEnvironment (also settable in warden.yaml):\n${Object.values(CONFIG_SPEC)
  .map((s) => `  ${s.env.padEnd(32)} ${s.help}`)
  .join('\n')}\n`;

function config(overrides: Partial<WardenConfig> = {}): WardenConfig {
  return loadConfig({ overrides });
}

program
  .command('serve')
  .description('run a Warden node (all modules, or --modules)')
  .option('--modules <list>', 'comma-separated modules to serve (default all)')
  .option('--port <n>', 'TCP port (WARDEN_PORT)')
  .option('--host <addr>', 'listen address (WARDEN_HOST)')
  .addHelpText('after', configHelp)
  .action(async (opts: { modules?: string; port?: string; host?: string }) => {
    const cfg = config({
      ...(opts.modules ? { modules: opts.modules.split(',') } : {}),
      ...(opts.port !== undefined ? { port: opts.port as unknown as number } : {}),
      ...(opts.host ? { host: opts.host } : {}),
    });
    const log = createLogger({ level: cfg.logLevel });
    const node = await buildWarden(cfg, { logger: log });
    const url = await node.listen();
    log.info(
      { url, version: VERSION, database: node.db.kind, bus: node.bus.transport.name, modules: cfg.modules },
      'warden listening',
    );
    log.flush();
    let closing = false;
    const shutdown = (signal: string) => {
      if (closing) return;
      closing = true;
      log.info({ signal }, 'shutting down: draining requests and flushing events');
      const timer = setTimeout(() => {
        log.error({ timeoutMs: cfg.shutdownTimeoutMs }, 'graceful shutdown timed out; exiting');
        process.exit(1);
      }, cfg.shutdownTimeoutMs);
      timer.unref();
      node.close().then(
        () => log.flush(() => process.exit(0)),
        (err) => {
          log.error({ err }, 'shutdown failed');
          log.flush(() => process.exit(1));
        },
      );
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });

program
  .command('migrate')
  .description('apply pending database migrations and exit')
  .option('--json', 'print the result as JSON')
  .addHelpText('after', configHelp)
  .action(async (opts: { json?: boolean }) => {
    const cfg = config();
    const db = await openDatabase({ url: cfg.databaseUrl, dataDir: `${cfg.dataDir}/data` });
    try {
      const bar = opts.json ? undefined : progress('migrating');
      const result = await migrate(db, MIGRATION_SOURCES, (done, total, current) =>
        bar?.update(done, total, current),
      );
      bar?.stop();
      if (opts.json) printJson(result);
      else if (result.applied.length === 0) process.stdout.write('database is up to date\n');
      else
        for (const a of result.applied) process.stdout.write(`applied ${a.module}/${a.version}_${a.name}\n`);
    } finally {
      await db.close();
    }
  });

const configCmd = program.command('config').description('inspect configuration');
configCmd
  .command('print')
  .description('print the effective configuration (secrets masked)')
  .option('--json', 'print as JSON')
  .addHelpText('after', configHelp)
  .action((opts: { json?: boolean }) => {
    const masked = maskedConfig(config());
    if (opts.json) printJson(masked);
    else
      printTable(
        Object.entries(masked).map(([key, value]) => ({ key, value })),
        ['key', 'value'],
      );
  });

program
  .command('version')
  .description('print the version')
  .option('--json', 'print as JSON')
  .action((opts: { json?: boolean }) => {
    if (opts.json) printJson({ version: VERSION, node: process.version });
    else process.stdout.write(`warden ${VERSION} (node ${process.version})\n`);
  });

function remote(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'Warden base URL (WARDEN_URL; default http://127.0.0.1:8080)')
    .option('--token <token>', 'credential (WARDEN_TOKEN; default <data dir>/admin-token)')
    .option('--json', 'print as JSON');
}
type RemoteOpts = { url?: string; token?: string; json?: boolean };

const tenant = program.command('tenant').description('manage tenants');
remote(tenant.command('create').description('create a tenant').argument('<name>', 'tenant name')).action(
  async (name: string, opts: RemoteOpts) => {
    const t = await resolveClient(opts).request<Record<string, unknown>>('POST', '/v1/tenants', { name });
    if (opts.json) printJson(t);
    else process.stdout.write(`created tenant ${t.id} (${t.name})\n`);
  },
);
remote(
  tenant
    .command('list')
    .description('list tenants')
    .option('--limit <n>', 'page size (1-200)', '50')
    .option('--all', 'follow cursors to the end'),
).action(async (opts: RemoteOpts & { limit: string; all?: boolean }) => {
  const client = resolveClient(opts);
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ limit: opts.limit, ...(cursor ? { cursor } : {}) });
    const page: { items: Record<string, unknown>[]; next_cursor: string | null } = await client.request(
      'GET',
      `/v1/tenants?${q}`,
    );
    items.push(...page.items);
    cursor = opts.all ? page.next_cursor : null;
  } while (cursor);
  if (opts.json) printJson(items);
  else printTable(items, ['id', 'name', 'status', 'created_at']);
});
remote(tenant.command('get').description('show a tenant').argument('<id>', 'tenant id')).action(
  async (id: string, opts: RemoteOpts) => {
    const t = await resolveClient(opts).request<Record<string, unknown>>(
      'GET',
      `/v1/tenants/${encodeURIComponent(id)}`,
    );
    if (opts.json) printJson(t);
    else printTable([t], ['id', 'name', 'status', 'version', 'created_at']);
  },
);

registerIdentityCommands(program);
registerAgentCommands(program);
registerAuthzCommands(program);
registerAuditCommands(program);
registerPolicyCommands(program);

const events = program.command('events').description('the event bus');
const dead = events.command('dead').description('dead-lettered deliveries');
remote(
  dead
    .command('list')
    .description('list dead-lettered deliveries')
    .option('--consumer <name>', 'one consumer'),
).action(async (opts: RemoteOpts & { consumer?: string }) => {
  const q = new URLSearchParams(opts.consumer ? { consumer: opts.consumer } : {});
  const res = await resolveClient(opts).request<{ items: Record<string, unknown>[] }>(
    'GET',
    `/v1/platform/events/dead?${q}`,
  );
  if (opts.json) printJson(res.items);
  else printTable(res.items, ['consumer', 'event_id', 'topic', 'attempts', 'failed_at', 'last_error']);
});
remote(
  dead
    .command('replay')
    .description('queue dead deliveries again')
    .option('--consumer <name>', 'only this consumer')
    .option('--event <id>', 'only this event'),
).action(async (opts: RemoteOpts & { consumer?: string; event?: string }) => {
  const res = await resolveClient(opts).request<{ replayed: number }>(
    'POST',
    '/v1/platform/events/dead/replay',
    {
      ...(opts.consumer ? { consumer: opts.consumer } : {}),
      ...(opts.event ? { event_id: opts.event } : {}),
    },
  );
  if (opts.json) printJson(res);
  else process.stdout.write(`replayed ${res.replayed} deliveries\n`);
});

const secrets = program.command('secrets').description('the secrets store');
secrets
  .command('rewrap')
  .description(
    're-seal every data key under the primary master key (after adding a new master key first in WARDEN_MASTER_KEY)',
  )
  .action(async () => {
    const cfg = config();
    if (!cfg.masterKey)
      throw new CliError(
        'set WARDEN_MASTER_KEY to the new keyring (new key first, old keys after)',
        EXIT.usage,
      );
    const db = await openDatabase({ url: cfg.databaseUrl, dataDir: `${cfg.dataDir}/data` });
    try {
      const store = new SecretsStore(db, parseMasterKeys(cfg.masterKey));
      const bar = progress('rewrapping');
      const n = await store.rewrapAll((done, total) => bar.update(done, total, ''));
      bar.stop();
      process.stdout.write(`re-sealed ${n} data keys under ${store.primaryKeyId}\n`);
    } finally {
      await db.close();
    }
  });

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exit(err.exitCode === 0 ? 0 : EXIT.usage);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`warden: ${err.message}\n`);
      process.exit(EXIT.usage);
    }
    if (err instanceof CliError) {
      process.stderr.write(`warden: ${err.message}\n`);
      process.exit(err.exitCode);
    }
    process.stderr.write(`warden: ${(err as Error).message}\n`);
    process.exit(EXIT.failed);
  }
}

await main();
