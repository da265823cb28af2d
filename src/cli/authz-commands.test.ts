import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { importAgentKeys, WardenAgent, WardenError } from '../../sdk/src/index.js';
import { onboardTenant } from '../../test/support/identity-fixtures.js';
import { runWarden } from '../../test/support/process.js';
import { drivers, useWarden } from '../../test/support/warden.js';

const warden = runWarden;

describe('warden agent / token commands', () => {
  const t = useWarden(drivers()[0]!);
  const dir = mkdtempSync(join(tmpdir(), 'warden-cli-keys-'));
  const keysFile = join(dir, 'nested', 'agent-keys.json');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('registers agents with locally kept keys, mints, attenuates, inspects, rotates and suspends', async () => {
    const owner = await onboardTenant(t, 'cliAuthz');
    const as = ['--url', t.node.url, '--token', owner.key];
    const keys = ['--keys', keysFile];

    const reg = await warden(['agent', 'register', 'cli-bot', ...as, ...keys, '--json']);
    expect(reg.code, reg.stderr).toBe(0);
    const bot = JSON.parse(reg.stdout) as { id: string; keys_file: string };
    expect(bot.keys_file).toBe(keysFile);
    expect(statSync(keysFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(keysFile, 'utf8')).agents[bot.id];
    expect(stored).toMatchObject({ name: 'cli-bot', tenant_id: owner.tenantId, key_version: 1 });
    const sub = JSON.parse(
      (await warden(['agent', 'register', 'cli-sub', ...as, ...keys, '--json'])).stdout,
    ) as {
      id: string;
    };

    const list = JSON.parse((await warden(['agent', 'list', ...as, ...keys, '--json'])).stdout) as {
      id: string;
      local_key: boolean;
    }[];
    expect(
      list
        .filter((a) => a.local_key)
        .map((a) => a.id)
        .sort(),
    ).toEqual([bot.id, sub.id].sort());

    const minted = await warden([
      'token',
      'mint',
      '--agent',
      bot.id,
      '--action',
      'llm.call',
      'sandbox.*',
      '--resource',
      'model:*',
      '--max-depth',
      '1',
      '--ttl',
      '600',
      ...as,
    ]);
    expect(minted.code, minted.stderr).toBe(0);
    const token = minted.stdout.trim().split('\n')[1]!;
    expect(minted.stderr).toMatch(/not shown again/);

    const narrowed = await warden(
      ['token', 'attenuate', '-', '--holder', sub.id, '--action', 'llm.call'],
      `${token}\n`,
    );
    expect(narrowed.code, narrowed.stderr).toBe(0);
    const childToken = narrowed.stdout.trim();
    const widened = await warden(['token', 'attenuate', '-', '--action', 'files.read'], token);
    expect(widened.code).toBe(1);
    expect(widened.stderr).toMatch(/widened_caveat/);

    const offline = JSON.parse((await warden(['token', 'inspect', '-', '--json'], childToken)).stdout);
    expect(offline.effective).toMatchObject({
      holders: [bot.id, sub.id],
      actions: ['llm.call'],
      remainingDepth: 0,
    });
    const human = await warden(['token', 'inspect', childToken]);
    expect(human.stdout).toMatch(/holder = /);
    expect(human.stdout).toMatch(/not verified/);
    const server = await warden(['token', 'inspect', '-', '--server', ...as, '--json'], childToken);
    expect(JSON.parse(server.stdout)).toMatchObject({
      signature_valid: true,
      delegation: { status: 'active' },
    });

    // The sub-agent, signing with the key the CLI stored, is authorized by the attenuated token.
    const subAgent = WardenAgent.create(
      t.node.url,
      importAgentKeys(JSON.parse(readFileSync(keysFile, 'utf8')).agents[sub.id].private_key_pem),
    );
    expect(await subAgent.authorize('llm.call', 'model:x', childToken)).toMatchObject({ allowed: true });

    const rotated = await warden(['agent', 'rotate', bot.id, ...as, ...keys, '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(JSON.parse(rotated.stdout).key_version).toBe(2);
    const after = JSON.parse(readFileSync(keysFile, 'utf8')).agents[bot.id];
    expect(after.key_version).toBe(2);
    expect(after.pending_private_key_pem).toBeUndefined();
    expect(after.private_key_pem).not.toBe(stored.private_key_pem);
    // Same agent id, new key: the token (bound to the agent) still works when signed with the new key.
    const botAgent = WardenAgent.create(t.node.url, {
      ...importAgentKeys(after.private_key_pem),
      agentId: bot.id,
    });
    expect(await botAgent.authorize('sandbox.exec', 'model:x', token)).toMatchObject({ allowed: true });

    const suspended = await warden(['agent', 'suspend', bot.id, '--reason', 'test', ...as]);
    expect(suspended.code, suspended.stderr).toBe(0);
    const refused = await botAgent.authorize('sandbox.exec', 'model:x', token).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WardenError);
    expect((refused as WardenError).status).toBe(401);
  }, 180_000);

  it('prints help, exits 2 on bad usage or an exposed keys file, 1 when the server refuses', async () => {
    const help = await warden(['token', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/mint/);
    expect(help.stdout).toMatch(/attenuate/);
    expect(help.stdout).toMatch(/inspect/);
    expect((await warden(['token', 'mint', '--action', 'a.b', '--resource', 'r'])).code).toBe(2);
    expect((await warden(['token', 'inspect', 'not-a-token'])).code).toBe(2);
    chmodSync(keysFile, 0o644);
    const exposed = await warden(['agent', 'list', '--keys', keysFile, '--url', t.node.url]);
    expect(exposed.code).toBe(2);
    expect(exposed.stderr).toMatch(/chmod 600/);
    chmodSync(keysFile, 0o600);
    const noAgent = await warden([
      'token',
      'mint',
      '--agent',
      'f'.repeat(64),
      '--action',
      'a.b',
      '--resource',
      'r',
      '--url',
      t.node.url,
      '--token',
      'wdn_op_test_operator_token_0123456789',
      '--tenant',
      '00000000-0000-7000-8000-000000000000',
    ]);
    expect(noAgent.code).toBe(1);
    expect(noAgent.stderr).toMatch(/404/);
  }, 120_000);
});
