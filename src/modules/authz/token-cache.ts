/**
 * The verified-token cache: a token whose signature and caveats have been checked once is, until it
 * expires or is revoked, a lookup plus four comparisons on every later request (the decision path in
 * ARCHITECTURE §4 presents the same delegation token again and again).
 *
 * Keyed on the WHOLE serialized token: an entry is found only by a string equal to the token it was
 * verified from. Never on the tail signature alone, which would let any string ending in a cached
 * signature borrow that token's grant.
 *
 * Why the table is hand-written rather than a Map<string, …>: on Node 20 a Map hashes a string key over
 * every character, and a request's token is a fresh ~450-character string each time, so a plain Map lookup
 * alone costs ~600 ns — more than the whole warm-hit budget. Here the bucket index comes from six characters
 * near the end of the token (the signature, which is uniformly random for genuine tokens) and the entry is
 * then confirmed by comparing the whole string. Only verified tokens are stored, and a chain holds at most
 * MAX_CHAIN entries, so an attacker who grinds signatures into one bucket gains nothing but evictions.
 *
 * Bounded: at most `maxEntries` tokens, least recently used evicted first (an intrusive doubly linked
 * list, so a hit reorders in O(1) without touching the table). Entries honour their not_after. `revoke`
 * (fed by the bus) evicts every cached form of a token id — attenuated tokens share their root's id — and
 * remembers the id until the given time so an in-flight verification cannot re-insert it.
 *
 * Depends on delegation-token.ts only: the agent SDK reuses it.
 */
import {
  authorizeRequest,
  type TokenFailure,
  type TokenGrant,
  type VerifiedToken,
  type VerifyResult,
  type VerifyTokenOptions,
  verifyTokenGrant,
} from './delegation-token.js';
import type { PatternList } from './patterns.js';

/** Most entries sharing one bucket; a full chain drops its oldest entry. */
const MAX_CHAIN = 8;
const DEFAULT_MAX_REVOKED = 100_000;

export interface TokenCacheOptions {
  /** Most tokens kept. */
  maxEntries: number;
  /** Most revoked token ids remembered at once (default 100 000). When full of unexpired ids the cache
   * stops storing new tokens (lookups still work, misses verify cold) until some expire. */
  maxRevoked?: number;
  /** Unix seconds; only used to forget revocations that have expired. Defaults to the system clock. */
  clock?: () => number;
}

export interface TokenCache {
  /**
   * verifyToken with a cache in front: a hit checks expiry, revocation, holder, action and resource
   * against the cached grant; a miss verifies cold and caches the grant if the token itself is valid
   * (even when this request is refused, e.g. for another action).
   */
  verify(token: string, options: VerifyTokenOptions): VerifyResult;
  /** Evicts every cached token with this id and refuses to cache it again until `until` (unix seconds;
   * pass the token's not_after, or an upper bound on token lifetime when it is not known). Returns false
   * when the id could not be remembered (the revocation memory is full of unexpired ids): the caller
   * must then check revocation elsewhere until `until`, or it would accept the token on a cold path. */
  revoke(tokenId: string, until: number): boolean;
  /** Evicts every token of a tenant (its root key was rotated or the tenant removed). */
  forgetTenant(tenant: string): void;
  /** Drops every cached token; revocations are kept. */
  clear(): void;
  readonly size: number;
}

class Entry {
  prev: Entry | undefined = undefined;
  next: Entry | undefined = undefined;
  bucketNext: Entry | undefined = undefined;
  readonly verified: VerifiedToken;
  readonly tokenId: string;
  readonly holder: string;
  readonly notAfter: number;
  readonly actionList: PatternList;
  readonly resourceList: PatternList;

  constructor(
    readonly token: string,
    readonly hash: number,
    grant: TokenGrant,
  ) {
    // Flattened so a hit reads fields of one object.
    this.verified = grant.token;
    this.tokenId = grant.token.tokenId;
    this.holder = grant.token.holder;
    this.notAfter = grant.token.notAfter;
    this.actionList = grant.actionList;
    this.resourceList = grant.resourceList;
  }
}

function fail(code: TokenFailure['code'], detail: string): TokenFailure {
  return { ok: false, code, detail };
}

/** Bucket index from the characters just before any `=` padding: the signature's bytes. */
function tailHash(token: string): number {
  let end = token.length;
  while (end > 0 && token.charCodeAt(end - 1) === 0x3d) end--;
  let h = end;
  for (let i = end < 6 ? 0 : end - 6; i < end; i++) h = (Math.imul(h, 31) + token.charCodeAt(i)) | 0;
  return h & 0x3fffffff;
}

class VerifiedTokenCache implements TokenCache {
  private readonly buckets = new Map<number, Entry>();
  /** Most recently used. */
  private head: Entry | undefined = undefined;
  private tail: Entry | undefined = undefined;
  private count = 0;
  private readonly revoked = new Map<string, number>();
  private storesBlocked = false;
  private lastPrune = -1;
  private readonly maxEntries: number;
  private readonly maxRevoked: number;
  private readonly clock: () => number;

  constructor(options: TokenCacheOptions) {
    const maxRevoked = options.maxRevoked ?? DEFAULT_MAX_REVOKED;
    if (!Number.isSafeInteger(options.maxEntries) || options.maxEntries < 1) {
      throw new RangeError(`maxEntries must be a positive integer, got ${options.maxEntries}`);
    }
    if (!Number.isSafeInteger(maxRevoked) || maxRevoked < 1) {
      throw new RangeError(`maxRevoked must be a positive integer, got ${maxRevoked}`);
    }
    this.maxEntries = options.maxEntries;
    this.maxRevoked = maxRevoked;
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  get size(): number {
    return this.count;
  }

  verify(token: string, options: VerifyTokenOptions): VerifyResult {
    try {
      const entry = typeof token === 'string' ? this.find(token) : undefined;
      if (entry !== undefined) return this.checkHit(entry, options);
      // The ids this cache was told are revoked count on the cold path too, so push invalidation works
      // even for a caller that passes no `revoked` of its own.
      const callerRevoked = options.revoked;
      const grant = verifyTokenGrant(token, {
        rootKeyFor: options.rootKeyFor,
        now: options.now,
        revoked: (id) => this.revoked.has(id) || (callerRevoked !== undefined && callerRevoked(id) === true),
      });
      if (!grant.ok) return grant;
      this.store(token, grant);
      return authorizeRequest(grant, options);
    } catch {
      return fail('internal_error', 'token verification failed unexpectedly');
    }
  }

  private find(token: string): Entry | undefined {
    let e = this.buckets.get(tailHash(token));
    while (e !== undefined && e.token !== token) e = e.bucketNext;
    return e;
  }

  private checkHit(e: Entry, options: VerifyTokenOptions): VerifyResult {
    // Same order as a cold verification, so a hit never answers differently from one.
    if (
      (this.revoked.size !== 0 && this.revoked.has(e.tokenId)) ||
      (options.revoked !== undefined && options.revoked(e.tokenId) === true)
    ) {
      this.remove(e);
      return fail('token_revoked', `token ${e.tokenId} was revoked`);
    }
    if (!(options.now <= e.notAfter)) {
      this.remove(e);
      return fail('token_expired', `the token expired at ${e.notAfter} (unix seconds)`);
    }
    if (e !== this.head) {
      this.unlink(e);
      this.pushFront(e);
    }
    if (options.presenter !== e.holder) {
      return fail(
        'holder_mismatch',
        'the token is held by another agent; only its last holder may present it',
      );
    }
    if (!e.actionList.matches(options.action)) {
      return fail('action_not_permitted', `action ${options.action} is not among ${e.actionList.text}`);
    }
    if (!e.resourceList.matches(options.resource)) {
      return fail(
        'resource_not_permitted',
        `resource ${options.resource} is not among ${e.resourceList.text}`,
      );
    }
    return e.verified;
  }

  private store(token: string, grant: TokenGrant): void {
    if (this.storesBlocked && !this.unblock()) return;
    if (this.revoked.has(grant.token.tokenId)) return;
    const hash = tailHash(token);
    const first = this.buckets.get(hash);
    let chain = 0;
    let last: Entry | undefined;
    for (let e = first; e !== undefined; e = e.bucketNext) {
      if (e.token === token) return;
      chain++;
      last = e;
    }
    if (chain >= MAX_CHAIN && last !== undefined) this.remove(last);
    const entry = new Entry(token, hash, grant);
    entry.bucketNext = this.buckets.get(hash);
    this.buckets.set(hash, entry);
    this.pushFront(entry);
    this.count++;
    if (this.count > this.maxEntries && this.tail !== undefined) this.remove(this.tail);
  }

  revoke(tokenId: string, until: number): boolean {
    const now = this.clock();
    let remembered = true;
    if (until > now) {
      const known = this.revoked.get(tokenId);
      if (known === undefined && this.revoked.size >= this.maxRevoked) this.prune(now);
      if (known !== undefined || this.revoked.size < this.maxRevoked) {
        this.revoked.set(tokenId, Math.max(known ?? until, until));
      } else {
        // Cannot remember it, so an in-flight verification could re-insert it: store nothing for now.
        this.storesBlocked = true;
        remembered = false;
      }
    }
    this.evictWhere((e) => e.tokenId === tokenId);
    return remembered;
  }

  forgetTenant(tenant: string): void {
    this.evictWhere((e) => e.verified.tenant === tenant);
  }

  clear(): void {
    this.buckets.clear();
    this.head = undefined;
    this.tail = undefined;
    this.count = 0;
  }

  private evictWhere(predicate: (e: Entry) => boolean): void {
    let e = this.head;
    while (e !== undefined) {
      const next = e.next;
      if (predicate(e)) this.remove(e);
      e = next;
    }
  }

  private prune(now: number): void {
    this.lastPrune = now;
    for (const [id, until] of this.revoked) if (until <= now) this.revoked.delete(id);
  }

  /** Tries (at most once a second) to make room among revocations so stores can resume. */
  private unblock(): boolean {
    const now = this.clock();
    if (now !== this.lastPrune) this.prune(now);
    if (this.revoked.size < this.maxRevoked) this.storesBlocked = false;
    return !this.storesBlocked;
  }

  private pushFront(e: Entry): void {
    e.prev = undefined;
    e.next = this.head;
    if (this.head !== undefined) this.head.prev = e;
    this.head = e;
    if (this.tail === undefined) this.tail = e;
  }

  private unlink(e: Entry): void {
    if (e.prev !== undefined) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next !== undefined) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.prev = undefined;
    e.next = undefined;
  }

  private remove(e: Entry): void {
    this.unlink(e);
    const first = this.buckets.get(e.hash);
    if (first === e) {
      if (e.bucketNext === undefined) this.buckets.delete(e.hash);
      else this.buckets.set(e.hash, e.bucketNext);
    } else {
      let p = first;
      while (p !== undefined && p.bucketNext !== e) p = p.bucketNext;
      if (p !== undefined) p.bucketNext = e.bucketNext;
    }
    e.bucketNext = undefined;
    this.count--;
  }
}

/**
 * Creates a verified-token cache (one per process; feed `revoke` from the bus).
 *
 * @example
 * const cache = createTokenCache({ maxEntries: 50_000 });
 * bus.on('authz.token_revoked', (e) => cache.revoke(e.tokenId, e.notAfter));
 * const r = cache.verify(token, { rootKeyFor, presenter: agentId, action, resource, now });
 */
export function createTokenCache(options: TokenCacheOptions): TokenCache {
  return new VerifiedTokenCache(options);
}
