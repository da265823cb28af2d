import { randomBytes, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mintToken, verifyToken } from '../../src/modules/authz/delegation-token.js';
import { attenuate, DelegationTokenError, generateAgentKeys, inspect } from '../src/index.js';

const now = () => Math.floor(Date.now() / 1000);
const rootKey = randomBytes(32);
const tenant = randomUUID();
const parent = generateAgentKeys().agentId;
const child = generateAgentKeys().agentId;

function root(maxDepth = 1, ttl = 3600) {
  return mintToken({
    rootKey,
    tokenId: randomUUID(),
    tenant,
    holder: parent,
    actions: ['sandbox.*', 'llm.call'],
    resources: ['repo:acme/**'],
    notAfter: now() + ttl,
    maxDepth,
  });
}

function verifyAs(token: string, presenter: string, action: string, resource: string) {
  return verifyToken(token, {
    rootKeyFor: (t) => (t === tenant ? rootKey : undefined),
    presenter,
    action,
    resource,
    now: now(),
  });
}

describe('SDK: offline attenuation and inspection', () => {
  it('narrows a token for a sub-agent without the server; the result verifies for the sub-agent only', () => {
    const token = root();
    const narrowed = attenuate(token, {
      holder: child,
      actions: ['sandbox.exec'],
      resources: ['repo:acme/widgets'],
      ttlSeconds: 60,
      maxDepth: 0,
    });
    const info = inspect(narrowed);
    expect(info.effective).toMatchObject({
      tenant,
      holder: child,
      holders: [parent, child],
      actions: ['sandbox.exec'],
      resources: ['repo:acme/widgets'],
      remainingDepth: 0,
    });
    expect(info.effective!.notAfter).toBeLessThanOrEqual(now() + 60);
    expect(info.caveats.slice(-5).map((c) => c.kind)).toEqual([
      'holder',
      'actions',
      'resources',
      'not_after',
      'depth',
    ]);
    expect(verifyAs(narrowed, child, 'sandbox.exec', 'repo:acme/widgets').ok).toBe(true);
    expect(verifyAs(narrowed, parent, 'sandbox.exec', 'repo:acme/widgets')).toMatchObject({
      code: 'holder_mismatch',
    });
    expect(verifyAs(narrowed, child, 'llm.call', 'repo:acme/widgets')).toMatchObject({
      code: 'action_not_permitted',
    });
  });

  it('refuses to widen, to delegate without depth left, or to outlive the token', () => {
    const token = root(0, 60);
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(DelegationTokenError);
        return (err as DelegationTokenError).code;
      }
      throw new Error('expected a refusal');
    };
    expect(refused(() => attenuate(token, { actions: ['sandbox.*', 'files.read'] }))).toBe('widened_caveat');
    expect(refused(() => attenuate(token, { resources: ['repo:**'] }))).toBe('invalid_argument');
    expect(refused(() => attenuate(token, { resources: ['repo:other/**'] }))).toBe('widened_caveat');
    expect(refused(() => attenuate(token, { notAfter: now() + 3600 }))).toBe('widened_caveat');
    expect(refused(() => attenuate(token, { holder: child }))).toBe('depth_exceeded');
    expect(refused(() => attenuate(token, { ttlSeconds: 1, notAfter: now() }))).toBe('invalid_argument');
    // A TTL longer than what is left keeps the token's own expiry instead of failing.
    expect(inspect(attenuate(token, { ttlSeconds: 86_400 })).effective!.notAfter).toBe(
      inspect(token).effective!.notAfter,
    );
  });

  it('never grants more after attenuation (property)', () => {
    const actions = ['sandbox.exec', 'sandbox.create', 'llm.call', 'files.read'];
    const resources = ['repo:acme/widgets', 'repo:acme/widgets/main', 'repo:other/x', 'model:gpt'];
    fc.assert(
      fc.property(
        fc.subarray(['sandbox.exec', 'sandbox.*', 'llm.call', 'files.read'], { minLength: 1 }),
        fc.subarray(['repo:acme/*', 'repo:acme/**', 'repo:acme/widgets', 'model:*'], { minLength: 1 }),
        (narrowActions, narrowResources) => {
          const token = root();
          let narrowed: string;
          try {
            narrowed = attenuate(token, { actions: narrowActions, resources: narrowResources });
          } catch (err) {
            // A refusal is always allowed; what must never happen is a widening that verifies.
            expect(err).toBeInstanceOf(DelegationTokenError);
            return;
          }
          for (const a of actions) {
            for (const r of resources) {
              if (verifyAs(narrowed, parent, a, r).ok) expect(verifyAs(token, parent, a, r).ok).toBe(true);
            }
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('inspects without verifying, and refuses what is not a token', () => {
    const forged = mintToken({
      rootKey: randomBytes(32),
      tokenId: 't1',
      tenant,
      holder: parent,
      actions: ['a.b'],
      resources: ['r'],
      notAfter: now() + 10,
      maxDepth: 0,
    });
    expect(inspect(forged).tokenId).toBe('t1');
    expect(verifyAs(forged, parent, 'a.b', 'r')).toMatchObject({ code: 'signature_invalid' });
    expect(() => inspect('definitely not a token')).toThrow(DelegationTokenError);
  });
});
