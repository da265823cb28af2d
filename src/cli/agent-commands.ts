/**
 * `warden agent register|list|suspend|rotate`: agents (non-human identities) from the command line.
 * `register` generates the Ed25519 keypair here and keeps the private key in the local agent keys file
 * (see agent-keys-file.ts); `rotate` hands the agent over to a new key signed by the old one. With the
 * operator token, name the tenant with `--tenant <id>`.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import type { Command } from 'commander';
import { agentIdFor, registrationMessage, rotationMessage } from '../modules/identity/agent-keys.js';
import { agentKeysPath, readAgentKeys, writeAgentKeys } from './agent-keys-file.js';
import { CliError, EXIT, resolveClient } from './client.js';
import { printJson, printTable } from './output.js';

type RemoteOpts = { url?: string; token?: string; json?: boolean; tenant?: string; keys?: string };

function remote(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'Warden base URL (WARDEN_URL; default http://127.0.0.1:8080)')
    .option('--token <token>', 'credential (WARDEN_TOKEN; default <data dir>/admin-token)')
    .option('--tenant <id>', 'tenant to act in (operator token only; X-Warden-Tenant)')
    .option('--json', 'print as JSON');
}

const keysOption = (cmd: Command) =>
  cmd.option('--keys <file>', 'agent keys file (WARDEN_AGENT_KEYS; default <data dir>/agent-keys.json)');

function tenantHeader(opts: RemoteOpts): Record<string, string> {
  return opts.tenant ? { 'x-warden-tenant': opts.tenant } : {};
}

function newKeyPair(): { privateKey: KeyObject; publicKey: string; pem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKey: (publicKey.export({ format: 'jwk' }) as { x: string }).x,
    pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

function signWith(key: KeyObject, message: Buffer): string {
  return sign(null, message, key).toString('base64url');
}

/**
 * @example
 *   registerAgentCommands(program); // adds `warden agent register|list|suspend|rotate`
 */
export function registerAgentCommands(program: Command): void {
  const agent = program.command('agent').description('manage agents (Ed25519 identities) of a tenant');

  keysOption(
    remote(
      agent
        .command('register')
        .description('generate a keypair, register it with proof of possession, keep the private key locally')
        .argument('<name>', 'a name to recognise the agent by')
        .option('--tier <tier>', 'basic, standard or premium'),
    ),
  ).action(async (name: string, opts: RemoteOpts & { tier?: string }) => {
    const path = agentKeysPath(opts.keys);
    const file = readAgentKeys(path);
    const client = resolveClient(opts);
    const headers = tenantHeader(opts);
    const ch = await client.request<{ challenge: string; tenant_id: string }>(
      'POST',
      '/v1/agents/challenge',
      undefined,
      headers,
    );
    const keys = newKeyPair();
    const registered = await client.request<Record<string, unknown> & { id: string; key_version: number }>(
      'POST',
      '/v1/agents',
      {
        name,
        public_key: keys.publicKey,
        challenge: ch.challenge,
        signature: signWith(keys.privateKey, registrationMessage(ch.tenant_id, ch.challenge, keys.publicKey)),
        ...(opts.tier ? { tier: opts.tier } : {}),
      },
      headers,
    );
    file.agents[registered.id] = {
      name,
      tenant_id: ch.tenant_id,
      public_key: keys.publicKey,
      private_key_pem: keys.pem,
      key_version: registered.key_version,
    };
    writeAgentKeys(path, file);
    if (opts.json) printJson({ ...registered, keys_file: path });
    else process.stdout.write(`registered agent ${registered.id} (${name}); private key kept in ${path}\n`);
  });

  keysOption(
    remote(
      agent
        .command('list')
        .description('list the tenant’s agents (LOCAL_KEY: whether the keys file holds its private key)')
        .option('--limit <n>', 'page size (1-200)', '50')
        .option('--all', 'follow cursors to the end'),
    ),
  ).action(async (opts: RemoteOpts & { limit: string; all?: boolean }) => {
    const local = readAgentKeys(agentKeysPath(opts.keys)).agents;
    const client = resolveClient(opts);
    const items: Record<string, unknown>[] = [];
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ limit: opts.limit, ...(cursor ? { cursor } : {}) });
      const page: { items: Record<string, unknown>[]; next_cursor: string | null } = await client.request(
        'GET',
        `/v1/agents?${q}`,
        undefined,
        tenantHeader(opts),
      );
      items.push(...page.items.map((a) => ({ ...a, local_key: String(a.id) in local })));
      cursor = opts.all ? page.next_cursor : null;
    } while (cursor);
    if (opts.json) printJson(items);
    else printTable(items, ['id', 'name', 'tier', 'trust_level', 'status', 'key_version', 'local_key']);
  });

  remote(
    agent
      .command('suspend')
      .description('suspend an agent: its signed requests are refused on every node from the next one')
      .argument('<id>', 'agent id')
      .option('--reason <text>', 'why (kept in the audit log)'),
  ).action(async (id: string, opts: RemoteOpts & { reason?: string }) => {
    const a = await resolveClient(opts).request<Record<string, unknown>>(
      'POST',
      `/v1/agents/${encodeURIComponent(id)}/suspend`,
      opts.reason ? { reason: opts.reason } : {},
      tenantHeader(opts),
    );
    if (opts.json) printJson(a);
    else process.stdout.write(`suspended agent ${a.id}\n`);
  });

  keysOption(
    remote(
      agent
        .command('rotate')
        .description('move an agent to a new key, signed by its current key from the keys file')
        .argument('<id>', 'agent id'),
    ),
  ).action(async (id: string, opts: RemoteOpts) => {
    const path = agentKeysPath(opts.keys);
    const file = readAgentKeys(path);
    const entry = file.agents[id];
    if (!entry) throw new CliError(`the keys file ${path} holds no key for agent ${id}`, EXIT.usage);
    const current = createPrivateKey(entry.private_key_pem);
    const currentPublic = (createPublicKey(current).export({ format: 'jwk' }) as { x: string }).x;
    if (agentIdFor(Buffer.from(currentPublic, 'base64url')) !== id && entry.key_version === 1) {
      throw new CliError(`the key stored for agent ${id} does not belong to it`, EXIT.usage);
    }
    const next = newKeyPair();
    // Saved before the server switches, so the new key survives a crash between the two.
    entry.pending_private_key_pem = next.pem;
    writeAgentKeys(path, file);
    const message = rotationMessage(id, entry.key_version, next.publicKey);
    const rotated = await resolveClient(opts).request<Record<string, unknown> & { key_version: number }>(
      'POST',
      `/v1/agents/${encodeURIComponent(id)}/rotate-key`,
      {
        new_public_key: next.publicKey,
        signature_by_current: signWith(current, message),
        signature_by_new: signWith(next.privateKey, message),
      },
      tenantHeader(opts),
    );
    file.agents[id] = {
      ...entry,
      public_key: next.publicKey,
      private_key_pem: next.pem,
      key_version: rotated.key_version,
    };
    delete file.agents[id]!.pending_private_key_pem;
    writeAgentKeys(path, file);
    if (opts.json) printJson(rotated);
    else process.stdout.write(`rotated agent ${id} to key version ${rotated.key_version}\n`);
  });
}
