import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attenuateToken,
  type MintTokenParams,
  mintToken,
  type VerifyTokenOptions,
  verifyToken,
} from './delegation-token.js';
import { decodeMacaroon, encodeMacaroon } from './macaroon.js';
import { createTokenCache, type TokenCacheOptions } from './token-cache.js';

const ROOT = createHash('sha256').update('acme root key (cache test)').digest();
const NOW = 1_750_000_000;

function mint(over: Partial<MintTokenParams> = {}): string {
  return mintToken({
    rootKey: ROOT,
    tokenId: 'tok_1',
    tenant: 'acme',
    holder: 'agt_parent',
    actions: ['sandbox.*', 'llm.call'],
    resources: ['repo:acme/*'],
    notAfter: NOW + 3600,
    maxDepth: 2,
    ...over,
  });
}

/** A cache plus a count of cold verifications (each one asks for the tenant's root key). */
function setup(options: Partial<TokenCacheOptions> = {}) {
  let now = NOW;
  const cache = createTokenCache({ maxEntries: 100, clock: () => now, ...options });
  const stats = { cold: 0 };
  const rootKeyFor = (tenant: string) => {
    stats.cold++;
    return tenant === 'acme' ? ROOT : undefined;
  };
  const req = (over: Partial<VerifyTokenOptions> = {}): VerifyTokenOptions => ({
    rootKeyFor,
    presenter: 'agt_parent',
    action: 'sandbox.exec',
    resource: 'repo:acme/widgets',
    now: NOW,
    ...over,
  });
  return {
    cache,
    stats,
    req,
    setClock: (t: number) => {
      now = t;
    },
  };
}

describe('verified-token cache', () => {
  it('verifies once, then answers from the cache with the same result object', () => {
    const { cache, stats, req } = setup();
    const token = mint();
    const first = cache.verify(token, req());
    expect(first.ok).toBe(true);
    expect(stats.cold).toBe(1);
    // A different string object with the same text, as a new request would carry.
    const again = cache.verify(Buffer.from(token).toString('latin1'), req());
    expect(again).toBe(first);
    expect(stats.cold).toBe(1);
    expect(cache.size).toBe(1);
  });

  it('checks holder, action and resource on a hit', () => {
    const { cache, stats, req } = setup();
    const token = mint();
    cache.verify(token, req());
    expect(cache.verify(token, req({ presenter: 'agt_thief' }))).toMatchObject({ code: 'holder_mismatch' });
    expect(cache.verify(token, req({ action: 'net.fetch' }))).toMatchObject({ code: 'action_not_permitted' });
    expect(cache.verify(token, req({ resource: 'repo:other/x' }))).toMatchObject({
      code: 'resource_not_permitted',
    });
    expect(cache.verify(token, req({ action: 'llm.call', resource: 'repo:acme/x' })).ok).toBe(true);
    expect(stats.cold).toBe(1);
  });

  it('caches a valid token even when its first request is refused', () => {
    const { cache, stats, req } = setup();
    const token = mint();
    expect(cache.verify(token, req({ action: 'net.fetch' }))).toMatchObject({ code: 'action_not_permitted' });
    expect(cache.verify(token, req()).ok).toBe(true);
    expect(stats.cold).toBe(1);
  });

  it('never caches a token that fails verification', () => {
    const { cache, stats, req } = setup();
    const token = mint();
    expect(cache.verify(token, req({ now: NOW + 3601 }))).toMatchObject({ code: 'token_expired' });
    expect(cache.verify('garbage', req())).toMatchObject({ code: 'token_malformed' });
    expect(cache.verify(token, req({ rootKeyFor: () => undefined }))).toMatchObject({
      code: 'tenant_unknown',
    });
    expect(cache.size).toBe(0);
    expect(stats.cold).toBe(1);
  });

  it('honours not_after on a hit and drops the entry', () => {
    const { cache, req } = setup();
    const token = mint();
    cache.verify(token, req());
    expect(cache.verify(token, req({ now: NOW + 3600 })).ok).toBe(true);
    expect(cache.verify(token, req({ now: NOW + 3601 }))).toMatchObject({ code: 'token_expired' });
    expect(cache.size).toBe(0);
  });

  it('is keyed on the whole token: same signature, different caveats is a miss and fails', () => {
    const { cache, stats, req } = setup();
    const token = mint();
    cache.verify(token, req());
    const m = decodeMacaroon(token);
    const caveats = [...m.caveats];
    caveats[2] = { ...caveats[2]!, identifier: Buffer.from('actions = *,llm.call,llm.xyz') };
    const forged = encodeMacaroon({ ...m, caveats }).toString('base64url');
    expect(forged.slice(-40)).toBe(token.slice(-40));
    expect(cache.verify(forged, req({ action: 'net.fetch' }))).toMatchObject({ code: 'signature_invalid' });
    expect(stats.cold).toBe(2);
    expect(cache.size).toBe(1);
  });

  it('keeps textual variants of one token apart and bounds a bucket', () => {
    const { cache, stats, req } = setup();
    // Find a token whose text has four or more "-"/"_" away from its tail: swapping them for "+"/"/"
    // gives other spellings of the same bytes that land in the same bucket.
    let token = '';
    let spots: number[] = [];
    for (let i = 0; spots.length < 4; i++) {
      token = mint({ tokenId: `tok_variant_${i}` });
      spots = [...token.slice(0, -10)].flatMap((ch, at) => (ch === '-' || ch === '_' ? [at] : []));
    }
    const variants = Array.from({ length: 12 }, (_, mask) => {
      const chars = [...token];
      spots.slice(0, 4).forEach((at, bit) => {
        if (mask & (1 << bit)) chars[at] = chars[at] === '-' ? '+' : '/';
      });
      return chars.join('');
    });
    for (const v of variants) expect(cache.verify(v, req()).ok).toBe(true);
    expect(stats.cold).toBe(12);
    expect(cache.size).toBeLessThanOrEqual(8);
    expect(cache.verify(variants[11]!, req()).ok).toBe(true);
    expect(stats.cold).toBe(12);
    expect(cache.verify(variants[0]!, req()).ok).toBe(true);
    expect(stats.cold).toBe(13);
  });

  it('evicts the least recently used token past maxEntries', () => {
    const { cache, stats, req } = setup({ maxEntries: 2 });
    const [a, b, c] = ['tok_a', 'tok_b', 'tok_c'].map((tokenId) => mint({ tokenId }));
    cache.verify(a!, req());
    cache.verify(b!, req());
    cache.verify(a!, req());
    cache.verify(c!, req());
    expect(cache.size).toBe(2);
    expect(stats.cold).toBe(3);
    cache.verify(a!, req());
    expect(stats.cold).toBe(3);
    cache.verify(b!, req());
    expect(stats.cold).toBe(4);
  });

  it('revoke evicts every cached form of a token id and keeps refusing it', () => {
    const { cache, stats, req, setClock } = setup();
    const root = mint();
    const child = attenuateToken(root, { holder: 'agt_child' });
    const other = mint({ tokenId: 'tok_2' });
    cache.verify(root, req());
    cache.verify(child, req({ presenter: 'agt_child' }));
    cache.verify(other, req());
    expect(cache.size).toBe(3);
    cache.revoke('tok_1', NOW + 3600);
    expect(cache.size).toBe(1);
    expect(cache.verify(root, req())).toMatchObject({ code: 'token_revoked' });
    expect(cache.verify(child, req({ presenter: 'agt_child' }))).toMatchObject({ code: 'token_revoked' });
    expect(cache.size).toBe(1);
    expect(cache.verify(other, req()).ok).toBe(true);
    expect(stats.cold).toBe(5);
    cache.clear();
    expect(cache.verify(root, req())).toMatchObject({ code: 'token_revoked' });
    // Past `until`, the token has expired anyway, and the id may be forgotten.
    setClock(NOW + 4000);
    cache.revoke('tok_3', NOW + 5000);
    expect(cache.verify(root, req({ now: NOW + 4000 }))).toMatchObject({ code: 'token_revoked' });
  });

  it("checks the caller's revocation callback on a hit", () => {
    const { cache, req } = setup();
    const token = mint();
    const revoked = new Set<string>();
    cache.verify(token, req({ revoked: (id) => revoked.has(id) }));
    revoked.add('tok_1');
    expect(cache.verify(token, req({ revoked: (id) => revoked.has(id) }))).toMatchObject({
      code: 'token_revoked',
    });
    expect(cache.size).toBe(0);
  });

  it('stops storing while it cannot remember another revocation, and resumes when old ones expire', () => {
    const { cache, stats, req, setClock } = setup({ maxRevoked: 1 });
    cache.revoke('tok_x', NOW + 10);
    cache.revoke('tok_y', NOW + 10);
    const token = mint();
    cache.verify(token, req());
    cache.verify(token, req());
    expect(stats.cold).toBe(2);
    expect(cache.size).toBe(0);
    setClock(NOW + 11);
    cache.verify(token, req());
    cache.verify(token, req());
    expect(stats.cold).toBe(3);
    expect(cache.size).toBe(1);
  });

  it('forgetTenant evicts the tenant’s tokens', () => {
    const { cache, stats, req } = setup();
    const token = mint();
    cache.verify(token, req());
    cache.forgetTenant('other');
    expect(cache.size).toBe(1);
    cache.forgetTenant('acme');
    expect(cache.size).toBe(0);
    cache.verify(token, req());
    expect(stats.cold).toBe(2);
  });

  it('fails closed when a callback throws', () => {
    const { cache, req } = setup();
    const token = mint();
    cache.verify(token, req());
    const boom = () => {
      throw new Error('bus down');
    };
    expect(cache.verify(token, req({ revoked: boom }))).toMatchObject({ ok: false, code: 'internal_error' });
    expect(cache.verify(mint({ tokenId: 'tok_9' }), req({ rootKeyFor: boom }))).toMatchObject({
      ok: false,
      code: 'internal_error',
    });
    expect(cache.verify(token, req({ presenter: undefined as unknown as string }))).toMatchObject({
      ok: false,
    });
  });

  it('refuses a nonsensical size', () => {
    expect(() => createTokenCache({ maxEntries: 0 })).toThrow(RangeError);
    expect(() => createTokenCache({ maxEntries: 10, maxRevoked: 0 })).toThrow(RangeError);
  });

  it('answers exactly as a cold verification would, whatever the sequence', () => {
    const root = mint({ maxDepth: 2 });
    const tokens = [
      root,
      attenuateToken(root, { holder: 'agt_child', actions: ['sandbox.exec'], notAfter: NOW + 100 }),
      attenuateToken(root, { resources: ['repo:acme/widgets'] }),
      mint({ tokenId: 'tok_2', notAfter: NOW + 50, holder: 'agt_child' }),
    ];
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('verify' as const),
        token: fc.nat(tokens.length - 1),
        presenter: fc.constantFrom('agt_parent', 'agt_child'),
        action: fc.constantFrom('sandbox.exec', 'llm.call', 'net.fetch'),
        resource: fc.constantFrom('repo:acme/widgets', 'repo:acme/gadgets', 'repo:other/x'),
        now: fc.integer({ min: NOW, max: NOW + 4000 }),
      }),
      fc.record({ kind: fc.constant('revoke' as const), id: fc.constantFrom('tok_1', 'tok_2') }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), fc.integer({ min: 1, max: 3 }), (ops, maxEntries) => {
        const { cache, req } = setup({ maxEntries });
        const revoked = new Set<string>();
        for (const o of ops) {
          if (o.kind === 'revoke') {
            revoked.add(o.id);
            cache.revoke(o.id, NOW + 10_000);
            continue;
          }
          const options = req({ presenter: o.presenter, action: o.action, resource: o.resource, now: o.now });
          const cached = cache.verify(tokens[o.token]!, options);
          const cold = verifyToken(tokens[o.token]!, { ...options, revoked: (id) => revoked.has(id) });
          expect(cached.ok ? 'ok' : cached.code).toBe(cold.ok ? 'ok' : cold.code);
          if (cached.ok && cold.ok) expect(cached).toEqual(cold);
        }
      }),
      { numRuns: 300 },
    );
  });
});
