/**
 * `warden token mint|attenuate|inspect`: delegation tokens from the command line.
 *
 * `mint` asks the server (a credential with `delegations:create`); `attenuate` and `inspect` work
 * offline on the token alone, as an agent would (`inspect --server` also asks the server whether the
 * signature verifies and whether the token was revoked). A token argument of `-` is read from standard
 * input: prefer it, since arguments show up in `ps` and shell history.
 */
import type { Command } from 'commander';
import { attenuateToken, DelegationTokenError, inspectToken } from '../modules/authz/index.js';
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

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new CliError(`${name} must be an integer from ${min} to ${max}, got ${value}`, EXIT.usage);
  }
  return n;
}

async function tokenArgument(value: string): Promise<string> {
  if (value !== '-') return value.trim();
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

/** A refused attenuation is the operation failing (1); an unreadable token or bad flag is usage (2). */
function tokenError(err: unknown): never {
  if (err instanceof DelegationTokenError) {
    const usage =
      err.code === 'invalid_argument' || err.code === 'token_malformed' || err.code === 'token_too_large';
    throw new CliError(`${err.code}: ${err.message}`, usage ? EXIT.usage : EXIT.failed);
  }
  throw err;
}

/**
 * @example
 *   registerAuthzCommands(program); // adds `warden token mint|attenuate|inspect`
 */
export function registerAuthzCommands(program: Command): void {
  const token = program.command('token').description('delegation tokens (macaroons bound to an agent)');

  remote(
    token
      .command('mint')
      .description('mint a delegation token for an agent; the token is printed once')
      .requiredOption('--agent <id>', 'the agent the token is bound to')
      .requiredOption('--action <pattern...>', 'allowed actions: sandbox.exec, sandbox.*')
      .requiredOption('--resource <pattern...>', 'allowed resources: repo:acme/*, repo:acme/**')
      .option('--ttl <seconds>', 'lifetime in seconds (default 3600)')
      .option('--max-depth <n>', 'how many times the agent may delegate further (default 0)'),
  ).action(
    async (
      opts: RemoteOpts & {
        agent: string;
        action: string[];
        resource: string[];
        ttl?: string;
        maxDepth?: string;
      },
    ) => {
      const ttl = integer('--ttl', opts.ttl, 1, 90 * 86_400);
      const depth = integer('--max-depth', opts.maxDepth, 0, 8);
      const minted = await resolveClient(opts).request<Record<string, unknown> & { token: string }>(
        'POST',
        '/v1/delegations',
        {
          agent_id: opts.agent,
          actions: opts.action,
          resources: opts.resource,
          ...(ttl !== undefined ? { ttl_seconds: ttl } : {}),
          ...(depth !== undefined ? { max_depth: depth } : {}),
        },
        tenantHeader(opts),
      );
      if (opts.json) printJson(minted);
      else {
        process.stdout.write(
          `minted token ${minted.id} for agent ${minted.agent_id}, expires ${minted.expires_at}\n`,
        );
        process.stdout.write(`${minted.token}\n`);
        process.stderr.write('hand this token to the agent now: it is not shown again\n');
      }
    },
  );

  token
    .command('attenuate')
    .description('narrow a token offline (for a sub-agent); it can only narrow, never widen')
    .argument('<token>', 'the token, or - to read it from standard input')
    .option('--holder <agent-id>', 'delegate to this agent (needs a delegation hop left)')
    .option('--action <pattern...>', 'a subset of the current actions')
    .option('--resource <pattern...>', 'a subset of the current resources')
    .option('--ttl <seconds>', 'expire this many seconds from now (never later than the token)')
    .option('--max-depth <n>', 'hops the new holder may make (at most what is left)')
    .option('--json', 'print as JSON')
    .action(
      async (
        value: string,
        opts: {
          holder?: string;
          action?: string[];
          resource?: string[];
          ttl?: string;
          maxDepth?: string;
          json?: boolean;
        },
      ) => {
        const input = await tokenArgument(value);
        const ttl = integer('--ttl', opts.ttl, 0, 90 * 86_400);
        const maxDepth = integer('--max-depth', opts.maxDepth, 0, 64);
        let out: string;
        try {
          let notAfter: number | undefined;
          if (ttl !== undefined) {
            const current = inspectToken(input).effective?.notAfter;
            const wanted = Math.floor(Date.now() / 1000) + ttl;
            notAfter = current === undefined ? wanted : Math.min(current, wanted);
          }
          out = attenuateToken(input, {
            ...(opts.holder !== undefined ? { holder: opts.holder } : {}),
            ...(opts.action ? { actions: opts.action } : {}),
            ...(opts.resource ? { resources: opts.resource } : {}),
            ...(notAfter !== undefined ? { notAfter } : {}),
            ...(maxDepth !== undefined ? { maxDepth } : {}),
          });
        } catch (err) {
          tokenError(err);
        }
        if (opts.json) printJson({ token: out, effective: inspectToken(out).effective });
        else process.stdout.write(`${out}\n`);
      },
    );

  remote(
    token
      .command('inspect')
      .description('show a token’s caveats (offline; --server also checks signature and revocation)')
      .argument('<token>', 'the token, or - to read it from standard input')
      .option('--server', 'ask the server (needs a credential with delegations:read)'),
  ).action(async (value: string, opts: RemoteOpts & { server?: boolean }) => {
    const input = await tokenArgument(value);
    if (opts.server) {
      const res = await resolveClient(opts).request<
        Record<string, unknown> & { caveats: Record<string, unknown>[] }
      >('POST', '/v1/delegations/inspect', { token: input }, tenantHeader(opts));
      if (opts.json) printJson(res);
      else {
        printTable(res.caveats, ['index', 'kind', 'text']);
        const d = res.delegation as { status?: string } | null;
        process.stdout.write(
          `token ${res.token_id}: signature ${res.signature_valid ? 'valid' : 'INVALID'}, ${d ? `status ${d.status}` : 'no record of it'}\n`,
        );
      }
      return;
    }
    let info: ReturnType<typeof inspectToken>;
    try {
      info = inspectToken(input);
    } catch (err) {
      tokenError(err);
    }
    if (opts.json) printJson(info);
    else {
      printTable(
        info.caveats.map((c) => ({ ...c })),
        ['index', 'kind', 'text'],
      );
      const e = info.effective;
      process.stdout.write(
        e
          ? `token ${info.tokenId}: held by ${e.holder}, expires ${new Date(e.notAfter * 1000).toISOString()}, ${e.remainingDepth} delegation hop(s) left (not verified: use --server)\n`
          : `token ${info.tokenId}: not usable (${info.problem?.code}: ${info.problem?.detail})\n`,
      );
    }
  });
}
