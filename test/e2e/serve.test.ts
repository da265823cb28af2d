import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { backendUrl } from '../support/backends.js';
import { drivers } from '../support/drivers.js';
import { listeningUrl, spawnWarden } from '../support/process.js';
import { MASTER_KEY } from '../support/warden.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warden-e2e-'));
  dirs.push(d);
  return d;
}

describe('warden serve (embedded, as the README runs it)', () => {
  it('is ready within 15 s with no external service, and keeps a tenant across a restart', async () => {
    const dataDir = tempDir();
    const env = { WARDEN_DATA_DIR: dataDir, WARDEN_PORT: '0', WARDEN_LOG_LEVEL: 'info' };
    const started = Date.now();
    const first = spawnWarden(['serve'], env);
    const url = await listeningUrl(first, 15_000);
    const ready = await fetch(`${url}/health/ready`);
    expect(ready.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(15_000);

    // The operator token was generated into a 0600 file whose path, never the token, was logged.
    const tokenPath = join(dataDir, 'admin-token');
    const token = readFileSync(tokenPath, 'utf8').trim();
    expect(statSync(tokenPath).mode & 0o777).toBe(0o600);
    expect(first.lines.some((l) => l.includes(tokenPath))).toBe(true);
    expect(first.lines.join('\n')).not.toContain(token);

    const created = await fetch(`${url}/v1/tenants`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Survives Restarts' }),
    });
    expect(created.status).toBe(201);
    const tenant = (await created.json()) as { id: string };

    first.child.kill('SIGTERM');
    expect((await first.exited).code).toBe(0);

    const second = spawnWarden(['serve'], env);
    const url2 = await listeningUrl(second, 15_000);
    const got = await fetch(`${url2}/v1/tenants/${tenant.id}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(got.status).toBe(200);
    expect(((await got.json()) as { name: string }).name).toBe('Survives Restarts');
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 60_000);

  it('exits with code 2 and names the key for a bad configuration value', async () => {
    const p = spawnWarden(['serve'], { WARDEN_DATA_DIR: tempDir(), WARDEN_PORT: 'eighty' });
    expect((await p.exited).code).toBe(2);
    expect(p.lines.join('\n')).toMatch(/WARDEN_PORT: must be an integer between 0 and 65535/);
  });

  it('exits with code 2 for an unknown command and prints help', async () => {
    const p = spawnWarden(['frobnicate'], {});
    expect((await p.exited).code).toBe(2);
    expect(p.lines.join('\n')).toMatch(/unknown command/);
  });

  it('answers --help on every command and prints the version', async () => {
    for (const args of [
      ['--help'],
      ['serve', '--help'],
      ['migrate', '--help'],
      ['config', 'print', '--help'],
      ['tenant', 'create', '--help'],
    ]) {
      const p = spawnWarden(args, {});
      expect((await p.exited).code, args.join(' ')).toBe(0);
      expect(p.lines.join('\n')).toMatch(/Usage: warden/);
    }
    const v = spawnWarden(['version', '--json'], {});
    expect((await v.exited).code).toBe(0);
    expect(JSON.parse(v.lines.join(''))).toMatchObject({ version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });

  it('prints the effective config with secrets masked', async () => {
    const p = spawnWarden(['config', 'print', '--json'], {
      WARDEN_ADMIN_TOKEN: 'wdn_op_do_not_print_me_0123',
      WARDEN_DATABASE_URL: 'postgres://u:pw-secret@127.0.0.1:5432/x',
    });
    expect((await p.exited).code).toBe(0);
    const out = p.lines.join('\n');
    expect(out).not.toMatch(/do_not_print_me|pw-secret/);
    expect(JSON.parse(out)).toMatchObject({ adminToken: '****', port: 8080 });
  });

  it('reports an unreachable server with exit code 3', async () => {
    const p = spawnWarden(['tenant', 'list', '--url', 'http://127.0.0.1:9', '--token', 'x'], {});
    expect((await p.exited).code).toBe(3);
    expect(p.lines.join('\n')).toMatch(/cannot reach Warden/);
  });
});

const pgUrl = backendUrl('postgres');
describe.skipIf(!pgUrl)('warden serve on PostgreSQL', () => {
  it('migrates once when two nodes start at the same moment', async () => {
    const driver = drivers().find((d) => d.name === 'postgres')!;
    const url = (await driver.createDatabase())!;
    try {
      const env = (dir: string) => ({
        WARDEN_DATA_DIR: dir,
        WARDEN_PORT: '0',
        WARDEN_DATABASE_URL: url,
        WARDEN_MASTER_KEY: MASTER_KEY,
        WARDEN_ADMIN_TOKEN: 'wdn_op_two_nodes_token_0123456789',
        WARDEN_LOG_LEVEL: 'info',
      });
      const a = spawnWarden(['serve'], env(tempDir()));
      const b = spawnWarden(['serve'], env(tempDir()));
      const [ua, ub] = await Promise.all([listeningUrl(a), listeningUrl(b)]);
      expect((await fetch(`${ua}/health/ready`)).status).toBe(200);
      expect((await fetch(`${ub}/health/ready`)).status).toBe(200);
      const applied = [...a.lines, ...b.lines].filter((l) => l.includes('"msg":"migrations applied"'));
      expect(applied).toHaveLength(1);
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const rows = await client.query(
        'select module, version, count(*)::int as n from platform.schema_migrations group by 1, 2',
      );
      await client.end();
      expect(rows.rows.length).toBeGreaterThan(1);
      expect(rows.rows.every((r) => r.n === 1)).toBe(true);
      a.child.kill('SIGTERM');
      b.child.kill('SIGTERM');
      expect((await a.exited).code).toBe(0);
      expect((await b.exited).code).toBe(0);
    } finally {
      await driver.dropDatabase(url);
    }
  }, 60_000);
});
