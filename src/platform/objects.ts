/**
 * Object storage behind one interface: a local directory (embedded default) now, an
 * S3-compatible implementation with billing exports. Keys are `a/b/c.ext` paths; a key can never
 * escape the root (no `..`, no absolute paths, no backslashes).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
  /** Hex SHA-256 of the content. */
  etag: string;
  modifiedAt: string;
}

export interface ObjectStore {
  put(key: string, body: Buffer | string): Promise<ObjectInfo>;
  get(key: string): Promise<Buffer | undefined>;
  stream(key: string): Promise<Readable | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  delete(key: string): Promise<boolean>;
  /** Keys under a prefix, sorted, at most `limit`, after `startAfter` (for paging). */
  list(prefix: string, options?: { limit?: number; startAfter?: string }): Promise<ObjectInfo[]>;
  ping(): Promise<void>;
}

export class ObjectKeyError extends Error {
  constructor(key: string, why: string) {
    super(`object key ${JSON.stringify(key)}: ${why}`);
    this.name = 'ObjectKeyError';
  }
}

const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._=-]{0,254}$/;

export function validateObjectKey(key: string): string[] {
  if (key.length === 0 || key.length > 1024) throw new ObjectKeyError(key, 'must be 1 to 1024 characters');
  const parts = key.split('/');
  for (const p of parts) {
    if (!SEGMENT_RE.test(p) || p === '.' || p === '..') {
      throw new ObjectKeyError(key, 'segments are letters, digits, . _ = - and may not start with a dot');
    }
  }
  return parts;
}

/**
 * @example
 *   const store = new LocalObjectStore('./.warden/objects');
 *   await store.put('exports/2026/evidence.json', json);
 */
export class LocalObjectStore implements ObjectStore {
  constructor(private readonly root: string) {}

  private path(key: string): string {
    return join(this.root, ...validateObjectKey(key));
  }

  async put(key: string, body: Buffer | string): Promise<ObjectInfo> {
    const target = this.path(key);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    // Write then rename: a reader never sees half an object, and a crash leaves only a temp file.
    const tmp = `${target}.tmp-${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, data, { mode: 0o600 });
    await rename(tmp, target);
    const st = await stat(target);
    return { key, size: data.length, etag: sha256(data), modifiedAt: st.mtime.toISOString() };
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async stream(key: string): Promise<Readable | undefined> {
    const p = this.path(key);
    try {
      await stat(p);
    } catch {
      return undefined;
    }
    return createReadStream(p);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const data = await this.get(key);
    if (!data) return undefined;
    const st = await stat(this.path(key));
    return { key, size: data.length, etag: sha256(data), modifiedAt: st.mtime.toISOString() };
  }

  async delete(key: string): Promise<boolean> {
    const p = this.path(key);
    try {
      await stat(p);
    } catch {
      return false;
    }
    await rm(p, { force: true });
    return true;
  }

  async list(prefix: string, options: { limit?: number; startAfter?: string } = {}): Promise<ObjectInfo[]> {
    const limit = Math.min(Math.max(options.limit ?? 1000, 1), 1000);
    const keys: string[] = [];
    await this.walk(this.root, keys);
    const selected = keys
      .filter((k) => k.startsWith(prefix) && !/\.tmp-[0-9a-f]{12}$/.test(k))
      .filter((k) => options.startAfter === undefined || k > options.startAfter)
      .sort()
      .slice(0, limit);
    const out: ObjectInfo[] = [];
    for (const k of selected) {
      const info = await this.head(k);
      if (info) out.push(info);
    }
    return out;
  }

  private async walk(dir: string, into: string[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await this.walk(full, into);
      else if (e.isFile()) into.push(relative(this.root, full).split(sep).join('/'));
    }
  }

  async ping(): Promise<void> {
    await mkdir(this.root, { recursive: true, mode: 0o700 });
  }
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
