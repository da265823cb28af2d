/**
 * The per-node cache in front of credential lookups (API keys, sessions, verified OIDC tokens).
 *
 * The authenticator runs on every request, so a known credential must cost a hash and a Map lookup,
 * not a database read. Entries are keyed by the SHA-256 of the credential (never the credential),
 * bounded (least recently inserted evicted first) and live at most `ttlMs`, which caps how stale an
 * entry can be if every other eviction path failed.
 *
 * Revocation (decided: "check a version"): every revocation — API key revoked, session ended, user
 * disabled, tenant deactivated — inserts a row into `identity.credential_revocations` in the same
 * transaction as the change. The node that made the change evicts at once; every node polls the log
 * by its `seq` (one indexed query per interval, never per request) and evicts the matching entries.
 * An outbox consumer was not used because the bus delivers each event to one node per consumer
 * name, and eviction must happen on all of them.
 */
import type { Principal } from '../../platform/http/auth.js';

export interface CachedCredential {
  /** The principal to hand the edge (shared, never mutated). */
  principal: Principal;
  /** The credential's own id (API key id, session id), for targeted eviction. */
  credentialId: string;
  /** The user behind it, if any (disabling the user evicts). */
  userId: string | null;
  /** Epoch ms after which the credential is expired; null = never. */
  expiresAt: number | null;
  /** Epoch ms when this entry stops being trusted without a fresh lookup. */
  cachedUntil: number;
}

/** What a lookup found that is not a usable credential: cached briefly so a flood of bad keys stays cheap. */
export interface CachedRejection {
  reject: string;
  cachedUntil: number;
}

export type CacheEntry = CachedCredential | CachedRejection;

export type RevocationKind = 'api_key' | 'session' | 'user' | 'tenant';

export class CredentialCache {
  private readonly entries = new Map<string, CacheEntry>();

  constructor(private readonly options: { maxEntries: number; ttlMs: number; rejectionTtlMs: number }) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.cachedUntil <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  setCredential(key: string, value: Omit<CachedCredential, 'cachedUntil'>, now: number): void {
    const until = now + this.options.ttlMs;
    const cachedUntil = value.expiresAt !== null ? Math.min(until, value.expiresAt) : until;
    this.put(key, { ...value, cachedUntil });
  }

  setRejection(key: string, reject: string, now: number): void {
    this.put(key, { reject, cachedUntil: now + this.options.rejectionTtlMs });
  }

  private put(key: string, entry: CacheEntry): void {
    this.entries.delete(key);
    if (this.entries.size >= this.options.maxEntries) {
      // Maps iterate in insertion order: the first key is the oldest entry.
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, entry);
  }

  /**
   * Drop every entry a revocation touches. Rare (revocations, not requests), so a scan of at most
   * `maxEntries` entries is fine.
   *
   * @example
   *   cache.evict('api_key', keyId);
   */
  evict(kind: RevocationKind, subjectId: string): number {
    let n = 0;
    for (const [key, entry] of this.entries) {
      if ('reject' in entry) continue;
      const hit =
        kind === 'tenant'
          ? entry.principal.tenantId === subjectId
          : kind === 'user'
            ? entry.userId === subjectId
            : entry.credentialId === subjectId;
      if (hit) {
        this.entries.delete(key);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.entries.clear();
  }
}
