import { describe, expect, it } from 'vitest';
import type { Principal } from '../../platform/http/auth.js';
import { CredentialCache } from './credential-cache.js';

const principal = (tenantId: string): Principal => ({
  kind: 'api_key',
  id: 'k',
  tenantId,
  roles: ['viewer'],
});
const entry = (
  id: string,
  tenantId = 't1',
  userId: string | null = null,
  expiresAt: number | null = null,
) => ({
  principal: principal(tenantId),
  credentialId: id,
  userId,
  expiresAt,
});

describe('CredentialCache', () => {
  it('holds at most maxEntries, dropping the oldest first', () => {
    const cache = new CredentialCache({ maxEntries: 3, ttlMs: 60_000, rejectionTtlMs: 1000 });
    for (const id of ['a', 'b', 'c', 'd']) cache.setCredential(id, entry(id), 0);
    expect(cache.size).toBe(3);
    expect(cache.get('a', 1)).toBeUndefined();
    expect(cache.get('d', 1)).toMatchObject({ credentialId: 'd' });
  });

  it('forgets entries after their TTL, and never keeps a credential past its expiry', () => {
    const cache = new CredentialCache({ maxEntries: 10, ttlMs: 1000, rejectionTtlMs: 100 });
    cache.setCredential('long', entry('long'), 0);
    cache.setCredential('short', entry('short', 't1', null, 500), 0);
    cache.setRejection('bad', 'unknown API key', 0);
    expect(cache.get('short', 499)).toBeDefined();
    expect(cache.get('short', 500)).toBeUndefined();
    expect(cache.get('bad', 99)).toEqual({ reject: 'unknown API key', cachedUntil: 100 });
    expect(cache.get('bad', 100)).toBeUndefined();
    expect(cache.get('long', 999)).toBeDefined();
    expect(cache.get('long', 1000)).toBeUndefined();
  });

  it('evicts by credential, by user and by tenant', () => {
    const cache = new CredentialCache({ maxEntries: 10, ttlMs: 60_000, rejectionTtlMs: 1000 });
    cache.setCredential('k1', entry('k1', 't1'), 0);
    cache.setCredential('s1', entry('s1', 't1', 'u1'), 0);
    cache.setCredential('s2', entry('s2', 't1', 'u1'), 0);
    cache.setCredential('k2', entry('k2', 't2'), 0);
    expect(cache.evict('api_key', 'k1')).toBe(1);
    expect(cache.evict('user', 'u1')).toBe(2);
    expect(cache.evict('tenant', 't2')).toBe(1);
    expect(cache.size).toBe(0);
  });
});
