import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, maskedConfig, registerModuleNames } from './config.js';

describe('config', () => {
  it('has documented defaults: 127.0.0.1:8080, ./.warden, embedded everything', () => {
    const c = loadConfig({ env: {}, file: undefined });
    expect(c).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      dataDir: './.warden',
      databaseUrl: undefined,
      redisUrl: undefined,
      auditPrepareWorkers: 0,
    });
    expect(loadConfig({ env: { WARDEN_AUDIT_PREPARE_WORKERS: '2' } }).auditPrepareWorkers).toBe(2);
  });

  it('reads WARDEN_* over warden.yaml, and overrides over both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-cfg-'));
    const file = join(dir, 'warden.yaml');
    writeFileSync(file, 'port: 9000\nhost: 0.0.0.0\nlog_level: debug\n');
    const c = loadConfig({ env: { WARDEN_PORT: '9100' }, file });
    expect(c).toMatchObject({ port: 9100, host: '0.0.0.0', logLevel: 'debug' });
    expect(loadConfig({ env: { WARDEN_PORT: '9100' }, file, overrides: { port: 9200 } }).port).toBe(9200);
  });

  it.each([
    [{ WARDEN_PORT: 'eighty' }, 'WARDEN_PORT', /integer between 0 and 65535/],
    [{ WARDEN_PORT: '70000' }, 'WARDEN_PORT', /integer between 0 and 65535, got "70000"/],
    [{ WARDEN_LOG_LEVEL: 'loud' }, 'WARDEN_LOG_LEVEL', /one of fatal, error/],
    [{ WARDEN_DATABASE_URL: 'mysql://x' }, 'WARDEN_DATABASE_URL', /postgres: or postgresql:/],
    [{ WARDEN_REDIS_URL: 'not a url' }, 'WARDEN_REDIS_URL', /URL with scheme/],
    [{ WARDEN_TRUST_PROXY: 'maybe' }, 'WARDEN_TRUST_PROXY', /true or false/],
    [{ WARDEN_PROT: '8080' }, 'WARDEN_PROT', /unknown environment setting/],
    [{ WARDEN_AUDIT_PREPARE_WORKERS: '17' }, 'WARDEN_AUDIT_PREPARE_WORKERS', /integer between 0 and 16/],
  ])('rejects %j naming %s and what is allowed', (env, key, message) => {
    let err: unknown;
    try {
      loadConfig({ env });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe(key);
    expect((err as ConfigError).message).toMatch(message);
  });

  it('rejects unknown keys and non-mappings in the YAML file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-cfg-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'prot: 1\n');
    expect(() => loadConfig({ env: {}, file: bad })).toThrow(/prot: unknown setting/);
    writeFileSync(bad, '- a\n- b\n');
    expect(() => loadConfig({ env: {}, file: bad })).toThrow(/mapping/);
    expect(() => loadConfig({ env: {}, file: join(dir, 'missing.yaml') })).toThrow(/cannot read/);
  });

  it('checks module names once the server registered them', () => {
    registerModuleNames(['identity', 'audit']);
    expect(loadConfig({ env: { WARDEN_MODULES: 'identity,audit' } }).modules).toEqual(['identity', 'audit']);
    expect(() => loadConfig({ env: { WARDEN_MODULES: 'identity,billingz' } })).toThrow(
      /unknown module "billingz"/,
    );
  });

  it('masks secrets and URL passwords when printed', () => {
    const c = loadConfig({
      env: {
        WARDEN_ADMIN_TOKEN: 'wdn_op_supersecret_value',
        WARDEN_DATABASE_URL: 'postgres://app:hunter2@db.internal:5432/warden',
        WARDEN_MASTER_KEY: Buffer.alloc(32).toString('base64'),
      },
    });
    const masked = maskedConfig(c);
    const text = JSON.stringify(masked);
    expect(text).not.toContain('supersecret');
    expect(text).not.toContain('hunter2');
    expect(masked.databaseUrl).toBe('postgres://app:****@db.internal:5432/warden');
    expect(masked.adminToken).toBe('****');
    expect(masked.masterKey).toBe('****');
  });
});
