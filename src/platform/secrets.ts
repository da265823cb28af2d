/**
 * Secrets at rest, envelope-encrypted.
 *
 * Each secret version gets a fresh 256-bit data key; the value is sealed with AES-256-GCM under the
 * data key, and the data key is sealed under the primary master key. Both seals bind the secret's
 * name and version as associated data, so a ciphertext moved to another row does not open.
 *
 * Master keys come from `WARDEN_MASTER_KEY` (`base64` or `id:base64,id:base64…`, the first is
 * primary) or, embedded, from `<data dir>/master.key` (generated on first start, mode 0600).
 * Rotation without downtime: put the new key first and keep the old one after it; reads use
 * whichever key sealed the row, `rewrapAll()` moves every data key to the primary, then the old
 * key can be dropped. Values are never logged; errors name the secret, never its content.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { sql } from 'kysely';
import type { Database, Executor } from './db/database.js';

export interface MasterKey {
  id: string;
  key: Buffer;
}

export class SecretsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsError';
  }
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_./:-]{0,199}$/;
const MAX_VALUE_BYTES = 64 * 1024;

/**
 * Parse a master keyring.
 *
 * @example
 *   parseMasterKeys('k2:' + newKeyB64 + ',k1:' + oldKeyB64); // [{id:'k2'…}, {id:'k1'…}]
 */
export function parseMasterKeys(text: string): MasterKey[] {
  const keys = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((part) => {
      const colon = part.indexOf(':');
      const b64 = colon >= 0 ? part.slice(colon + 1) : part;
      const key = Buffer.from(b64, 'base64');
      if (key.length !== 32) throw new SecretsError('each master key must be 32 bytes, base64-encoded');
      const id =
        colon >= 0 ? part.slice(0, colon) : createHash('sha256').update(key).digest('hex').slice(0, 12);
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id))
        throw new SecretsError('master key ids are letters, digits, _ and -');
      return { id, key };
    });
  if (keys.length === 0) throw new SecretsError('no master key given');
  if (new Set(keys.map((k) => k.id)).size !== keys.length)
    throw new SecretsError('master key ids must be unique');
  return keys;
}

/** Read the embedded key file, creating it (0600) with a fresh key on first start. */
export function loadOrCreateKeyFile(path: string): { keys: MasterKey[]; created: boolean } {
  if (existsSync(path)) return { keys: parseMasterKeys(readFileSync(path, 'utf8')), created: false };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  const id = `k${Date.now().toString(36)}`;
  writeFileSync(path, `${id}:${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return { keys: [{ id, key }], created: true };
}

function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), ct]);
}

function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 28) throw new SecretsError('sealed value is truncated');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]);
}

export class SecretsStore {
  private readonly byId: Map<string, Buffer>;
  private readonly primary: MasterKey;

  constructor(
    private readonly db: Database,
    keys: MasterKey[],
  ) {
    if (keys.length === 0) throw new SecretsError('no master key');
    this.primary = keys[0]!;
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  get primaryKeyId(): string {
    return this.primary.id;
  }

  /**
   * Store a new version of a secret; returns the version number.
   *
   * @example
   *   const v = await secrets.put(trx, `tenant/${id}/root-key`, randomBytes(32), { tenantId: id });
   */
  async put(
    executor: Executor,
    name: string,
    value: Buffer | string,
    options: { tenantId?: string } = {},
  ): Promise<number> {
    if (!NAME_RE.test(name)) throw new SecretsError(`secret name ${JSON.stringify(name)} is not valid`);
    const plaintext = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    if (plaintext.length > MAX_VALUE_BYTES)
      throw new SecretsError(`secret ${name} is over ${MAX_VALUE_BYTES} bytes`);
    const current = await sql<{
      v: number | null;
    }>`select max(version) as v from platform.secrets where name = ${name}`.execute(executor);
    const version = (current.rows[0]?.v ?? 0) + 1;
    const dataKey = randomBytes(32);
    const ciphertext = seal(dataKey, plaintext, `warden-secret:v1:${name}:${version}`);
    const wrapped = seal(this.primary.key, dataKey, `warden-dek:v1:${name}:${version}`);
    dataKey.fill(0);
    await sql`insert into platform.secrets (tenant_id, name, version, ciphertext, data_key_wrapped, master_key_id)
      values (${options.tenantId ?? null}, ${name}, ${version}, ${ciphertext}, ${wrapped}, ${this.primary.id})`.execute(
      executor,
    );
    return version;
  }

  /** The latest (or a given) version's value, or undefined if there is none. */
  async get(executor: Executor, name: string, version?: number): Promise<Buffer | undefined> {
    const rows = await sql<{
      version: number;
      ciphertext: Uint8Array;
      data_key_wrapped: Uint8Array;
      master_key_id: string;
    }>`
      select version, ciphertext, data_key_wrapped, master_key_id from platform.secrets
      where name = ${name} and (${version ?? null}::int is null or version = ${version ?? null}::int)
      order by version desc limit 1`.execute(executor);
    const row = rows.rows[0];
    if (!row) return undefined;
    const master = this.byId.get(row.master_key_id);
    if (!master) {
      throw new SecretsError(
        `secret ${name} v${row.version} is sealed under master key ${row.master_key_id}, which is not configured`,
      );
    }
    try {
      const dataKey = open(master, Buffer.from(row.data_key_wrapped), `warden-dek:v1:${name}:${row.version}`);
      const value = open(dataKey, Buffer.from(row.ciphertext), `warden-secret:v1:${name}:${row.version}`);
      dataKey.fill(0);
      return value;
    } catch (err) {
      if (err instanceof SecretsError) throw err;
      throw new SecretsError(
        `secret ${name} v${row.version} failed authentication (tampered, or the wrong master key)`,
      );
    }
  }

  async delete(executor: Executor, name: string): Promise<number> {
    const res = await sql`delete from platform.secrets where name = ${name}`.execute(executor);
    return Number(res.numAffectedRows ?? 0);
  }

  /**
   * Re-seal every data key not under the primary master key. Safe to run while serving: each row
   * is rewritten in its own small transaction and reads accept either key meanwhile.
   */
  async rewrapAll(onProgress?: (done: number, total: number) => void): Promise<number> {
    const rows = await sql<{ name: string; version: number; master_key_id: string }>`
      select name, version, master_key_id from platform.secrets where master_key_id <> ${this.primary.id}`.execute(
      this.db.kysely,
    );
    let done = 0;
    for (const r of rows.rows) {
      await this.db.transaction(async (trx) => {
        const cur = await sql<{ data_key_wrapped: Uint8Array; master_key_id: string }>`
          select data_key_wrapped, master_key_id from platform.secrets where name = ${r.name} and version = ${r.version}
          for update`.execute(trx);
        const row = cur.rows[0];
        if (!row || row.master_key_id === this.primary.id) return;
        const old = this.byId.get(row.master_key_id);
        if (!old)
          throw new SecretsError(
            `cannot rewrap ${r.name} v${r.version}: master key ${row.master_key_id} is not configured`,
          );
        const aad = `warden-dek:v1:${r.name}:${r.version}`;
        const dataKey = open(old, Buffer.from(row.data_key_wrapped), aad);
        const wrapped = seal(this.primary.key, dataKey, aad);
        dataKey.fill(0);
        await sql`update platform.secrets set data_key_wrapped = ${wrapped}, master_key_id = ${this.primary.id}
                  where name = ${r.name} and version = ${r.version}`.execute(trx);
      });
      onProgress?.(++done, rows.rows.length);
    }
    return done;
  }
}
