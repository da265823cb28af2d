import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalObjectStore, ObjectKeyError } from './objects.js';

describe('local object store', () => {
  const root = mkdtempSync(join(tmpdir(), 'warden-objects-'));
  const store = new LocalObjectStore(root);

  it('puts, heads, gets, lists by prefix and deletes', async () => {
    const info = await store.put('exports/2026/a.json', '{"a":1}');
    expect(info).toMatchObject({ key: 'exports/2026/a.json', size: 7 });
    expect(info.etag).toMatch(/^[0-9a-f]{64}$/);
    await store.put('exports/2026/b.json', Buffer.from('bb'));
    await store.put('other/c.txt', 'c');
    expect((await store.get('exports/2026/a.json'))?.toString()).toBe('{"a":1}');
    expect((await store.head('exports/2026/b.json'))?.size).toBe(2);
    expect((await store.list('exports/')).map((o) => o.key)).toEqual([
      'exports/2026/a.json',
      'exports/2026/b.json',
    ]);
    expect((await store.list('exports/', { startAfter: 'exports/2026/a.json' })).map((o) => o.key)).toEqual([
      'exports/2026/b.json',
    ]);
    expect(await store.delete('exports/2026/a.json')).toBe(true);
    expect(await store.delete('exports/2026/a.json')).toBe(false);
    expect(await store.get('exports/2026/a.json')).toBeUndefined();
  });

  it('overwrites atomically, leaving no temporary files', async () => {
    await store.put('atomic/x', 'one');
    await store.put('atomic/x', 'two');
    expect((await store.get('atomic/x'))?.toString()).toBe('two');
    expect(readdirSync(join(root, 'atomic'))).toEqual(['x']);
  });

  it.each(['../etc/passwd', '/abs', 'a/../../b', 'a//b', '.hidden', 'a\\b', '', 'x'.repeat(1100)])(
    'refuses the key %j that could escape or is malformed',
    async (key) => {
      await expect(store.put(key, 'x')).rejects.toBeInstanceOf(ObjectKeyError);
    },
  );
});
