import { describe, expect, it } from 'vitest';
import { runWarden } from '../../test/support/process.js';
import { ADMIN_TOKEN, drivers, useWarden } from '../../test/support/warden.js';

const warden = runWarden;

describe('warden user / apikey / tenant onboard commands', () => {
  const t = useWarden(drivers()[0]!);

  it('goes from the operator token to a working tenant, users and keys', async () => {
    const op = ['--url', t.node.url, '--token', ADMIN_TOKEN];
    const tenant = JSON.parse((await warden(['tenant', 'create', 'Cli Co', ...op, '--json'])).stdout);
    const onboarded = await warden(
      [
        'tenant',
        'onboard',
        tenant.id,
        '--owner-email',
        'cli-owner@example.com',
        '--password-stdin',
        ...op,
        '--json',
      ],
      'owner password of length\n',
    );
    expect(onboarded.code).toBe(0);
    const ownerKey = JSON.parse(onboarded.stdout).api_key.key as string;
    const asOwner = ['--url', t.node.url, '--token', ownerKey];

    const user = await warden(
      ['user', 'create', 'cli-viewer@example.com', '--role', 'viewer', '--password-stdin', ...asOwner],
      'viewer password 123\n',
    );
    expect(user.code).toBe(0);
    expect(user.stdout).toMatch(/created user .* \(cli-viewer@example.com, viewer\)/);
    const login = await t.node.app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'cli-viewer@example.com', password: 'viewer password 123' },
    });
    expect(login.statusCode).toBe(200);

    const viaOperator = await warden([
      'user',
      'create',
      'cli-sso@example.com',
      '--role',
      'auditor',
      '--tenant',
      tenant.id,
      ...op,
      '--json',
    ]);
    expect(JSON.parse(viaOperator.stdout)).toMatchObject({ tenant_id: tenant.id, role: 'auditor' });

    const created = await warden([
      'apikey',
      'create',
      'ci',
      '--role',
      'developer',
      '--scope',
      'agents:*',
      ...asOwner,
    ]);
    expect(created.code).toBe(0);
    const secret = created.stdout.trim().split('\n')[1]!;
    expect(secret).toMatch(/^wdn_k_/);
    expect(created.stderr).toMatch(/not shown again/);

    const list = JSON.parse((await warden(['apikey', 'list', ...asOwner, '--json'])).stdout) as {
      id: string;
      name: string;
    }[];
    expect(JSON.stringify(list)).not.toContain(secret);
    const ci = list.find((k) => k.name === 'ci')!;
    const revoked = await warden(['apikey', 'revoke', ci.id, ...asOwner]);
    expect(revoked.code).toBe(0);
    const me = await t.node.app.inject({
      method: 'GET',
      url: '/v1/auth/user',
      headers: { authorization: `Bearer ${secret}` },
    });
    expect(me.statusCode).toBe(401);

    const users = await warden(['user', 'list', ...asOwner]);
    expect(users.stdout).toMatch(/cli-owner@example.com/);
  }, 120_000);

  it('exits 1 with the server’s reason when the server refuses, 2 on bad usage', async () => {
    const op = ['--url', t.node.url, '--token', ADMIN_TOKEN];
    const noTenant = await warden(['user', 'create', 'x@example.com', '--role', 'viewer', ...op]);
    expect(noTenant.code).toBe(1);
    expect(noTenant.stderr).toMatch(/400 Tenant required/);
    const noRole = await warden(['user', 'create', 'x@example.com', ...op]);
    expect(noRole.code).toBe(2);
  }, 60_000);
});
