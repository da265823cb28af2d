import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  attenuateToken,
  DelegationTokenError,
  inspectToken,
  type MintTokenParams,
  mintToken,
  type TokenFailureCode,
  type VerifyTokenOptions,
  verifyToken,
} from './delegation-token.js';
import {
  addFirstPartyCaveat,
  computeMacaroonSignature,
  createMacaroon,
  decodeMacaroon,
  deriveMacaroonKey,
  type Macaroon,
  serializeMacaroon,
} from './macaroon.js';
import {
  compileActionPatterns,
  compileResourcePatterns,
  isSubset,
  patternListFromCaveat,
} from './patterns.js';

const ROOT = createHash('sha256').update('acme root key (test)').digest();
const OTHER_ROOT = createHash('sha256').update('another root key (test)').digest();
const NOW = 1_750_000_000;
const keys = new Map<string, Buffer>([['acme', ROOT]]);
const rootKeyFor = (tenant: string) => keys.get(tenant);

function mint(over: Partial<MintTokenParams> = {}): string {
  return mintToken({
    rootKey: ROOT,
    tokenId: 'tok_01J9ZQ4M6W5S8Y',
    tenant: 'acme',
    holder: 'agt_parent',
    actions: ['sandbox.*', 'llm.call'],
    resources: ['repo:acme/*'],
    notAfter: NOW + 3600,
    maxDepth: 2,
    ...over,
  });
}

function request(over: Partial<VerifyTokenOptions> = {}): VerifyTokenOptions {
  return {
    rootKeyFor,
    presenter: 'agt_parent',
    action: 'sandbox.exec',
    resource: 'repo:acme/widgets',
    now: NOW,
    ...over,
  };
}

/** Appends raw caveats with the macaroon primitives, bypassing attenuateToken's checks (what an attacker can do). */
function forge(token: string, ...caveats: string[]): string {
  return serializeMacaroon(caveats.reduce((m, c) => addFirstPartyCaveat(m, c), decodeMacaroon(token)));
}

/** A correctly signed token with arbitrary caveats (to reach the semantic checks). */
function signed(caveats: string[], rootKey: Buffer = ROOT, identifier = 'tok_raw'): string {
  return serializeMacaroon(
    caveats.reduce((m, c) => addFirstPartyCaveat(m, c), createMacaroon({ rootKey, identifier })),
  );
}

const BASE = ['tenant = acme', 'holder = agt_parent', 'actions = sandbox.*', 'resources = repo:acme/*'];

function codeOf(token: string, over: Partial<VerifyTokenOptions> = {}): TokenFailureCode | 'ok' {
  const r = verifyToken(token, request(over));
  return r.ok ? 'ok' : r.code;
}

function thrownCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (err) {
    if (err instanceof DelegationTokenError) return err.code;
    throw err;
  }
  return undefined;
}

describe('mint and verify', () => {
  it('verifies a freshly minted token for its holder', () => {
    const r = verifyToken(mint({ location: 'https://warden.example' }), request());
    expect(r).toEqual({
      ok: true,
      tokenId: 'tok_01J9ZQ4M6W5S8Y',
      tenant: 'acme',
      holder: 'agt_parent',
      holders: ['agt_parent'],
      actions: ['sandbox.*', 'llm.call'],
      resources: ['repo:acme/*'],
      notAfter: NOW + 3600,
      remainingDepth: 2,
      location: 'https://warden.example',
    });
  });

  it('writes the caveats in the documented order, as base64url without padding', () => {
    const token = mint();
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(inspectToken(token).caveats.map((c) => c.text)).toEqual([
      'tenant = acme',
      'holder = agt_parent',
      'actions = sandbox.*,llm.call',
      'resources = repo:acme/*',
      `not_after = ${NOW + 3600}`,
      'depth <= 2',
    ]);
  });

  it('accepts the last second and refuses the one after', () => {
    expect(codeOf(mint(), { now: NOW + 3600 })).toBe('ok');
    expect(codeOf(mint(), { now: NOW + 3601 })).toBe('token_expired');
  });

  it('accepts the same token in standard base64 with padding', () => {
    const bytes = Buffer.from(mint(), 'base64url');
    expect(codeOf(bytes.toString('base64'))).toBe('ok');
  });

  it.each([
    ['a short root key', { rootKey: Buffer.alloc(16) }],
    ['a tenant with a space', { tenant: 'ac me' }],
    ['an empty holder', { holder: '' }],
    ['a bad action pattern', { actions: ['sandbox.*.read'] }],
    ['no resources', { resources: [] }],
    ['a fractional notAfter', { notAfter: NOW + 0.5 }],
    ['a negative depth', { maxDepth: -1 }],
    ['a depth over 64', { maxDepth: 65 }],
  ])('refuses to mint with %s', (_name, over) => {
    expect(thrownCode(() => mint(over as Partial<MintTokenParams>))).toBe('invalid_argument');
  });
});

describe('attenuation', () => {
  it('delegates offline to a sub-agent, who alone may then present it', () => {
    const child = attenuateToken(mint(), {
      holder: 'agt_child',
      actions: ['sandbox.exec'],
      resources: ['repo:acme/widgets'],
      notAfter: NOW + 600,
      maxDepth: 0,
    });
    const r = verifyToken(child, request({ presenter: 'agt_child' }));
    expect(r.ok && r.holders).toEqual(['agt_parent', 'agt_child']);
    expect(r.ok && [r.actions, r.resources, r.notAfter, r.remainingDepth]).toEqual([
      ['sandbox.exec'],
      ['repo:acme/widgets'],
      NOW + 600,
      0,
    ]);
    expect(codeOf(child)).toBe('holder_mismatch');
    expect(codeOf(child, { presenter: 'agt_child', action: 'llm.call' })).toBe('action_not_permitted');
    expect(codeOf(child, { presenter: 'agt_child', resource: 'repo:acme/gadgets' })).toBe(
      'resource_not_permitted',
    );
    expect(codeOf(child, { presenter: 'agt_child', now: NOW + 601 })).toBe('token_expired');
  });

  it('narrows without delegating, and returns the token unchanged when asked for nothing', () => {
    const t = mint();
    const narrowed = attenuateToken(t, { actions: ['llm.call'] });
    expect(codeOf(narrowed, { action: 'llm.call' })).toBe('ok');
    expect(codeOf(narrowed, { action: 'sandbox.exec' })).toBe('action_not_permitted');
    expect(attenuateToken(t, {})).toBe(t);
  });

  it('counts delegation hops against the depth', () => {
    const t1 = attenuateToken(mint({ maxDepth: 2 }), { holder: 'agt_b' });
    const t2 = attenuateToken(t1, { holder: 'agt_c' });
    expect(codeOf(t2, { presenter: 'agt_c' })).toBe('ok');
    expect(thrownCode(() => attenuateToken(t2, { holder: 'agt_d' }))).toBe('depth_exceeded');
    expect(codeOf(forge(t2, 'holder = agt_d'), { presenter: 'agt_d' })).toBe('depth_exceeded');
    // A depth caveat added later only limits the hops after it.
    const t3 = attenuateToken(mint({ maxDepth: 3 }), { holder: 'agt_b', maxDepth: 1 });
    expect(codeOf(attenuateToken(t3, { holder: 'agt_c' }), { presenter: 'agt_c' })).toBe('ok');
    expect(
      codeOf(forge(attenuateToken(t3, { holder: 'agt_c' }), 'holder = agt_d'), { presenter: 'agt_d' }),
    ).toBe('depth_exceeded');
  });

  it.each([
    ['wider actions', { actions: ['*'] }, 'widened_caveat'],
    ['actions outside', { actions: ['net.fetch'] }, 'widened_caveat'],
    ['wider resources', { resources: ['repo:acme/**'] }, 'widened_caveat'],
    ['a later notAfter', { notAfter: NOW + 3601 }, 'widened_caveat'],
    ['more depth than is left', { maxDepth: 3 }, 'widened_caveat'],
    ['more depth than is left after this hop', { holder: 'agt_b', maxDepth: 2 }, 'widened_caveat'],
    ['a bad pattern', { actions: ['sandbox.*.x'] }, 'invalid_argument'],
    ['a bad holder', { holder: 'agt b' }, 'invalid_argument'],
    ['a fractional notAfter', { notAfter: 1.5 }, 'invalid_argument'],
  ])('refuses %s', (_name, narrower, code) => {
    expect(thrownCode(() => attenuateToken(mint(), narrower))).toBe(code);
  });

  it('refuses to delegate a token whose depth is used up', () => {
    expect(thrownCode(() => attenuateToken(mint({ maxDepth: 0 }), { holder: 'agt_b' }))).toBe(
      'depth_exceeded',
    );
  });

  it('refuses to attenuate something that is not a usable Warden token', () => {
    expect(thrownCode(() => attenuateToken('not a token', { actions: ['llm.call'] }))).toBe(
      'token_malformed',
    );
    expect(thrownCode(() => attenuateToken(forge(mint(), 'ip = 10.0.0.1'), { actions: ['llm.call'] }))).toBe(
      'unknown_caveat',
    );
  });
});

describe('refusals, each with its code', () => {
  it('token_malformed: not base64, not a macaroon, truncated, not a string', () => {
    expect(codeOf('garbage!')).toBe('token_malformed');
    expect(codeOf('')).toBe('token_malformed');
    expect(codeOf('AQID')).toBe('token_malformed');
    expect(verifyToken(42 as unknown as string, request())).toMatchObject({
      ok: false,
      code: 'token_malformed',
    });
    const token = mint();
    for (let n = 0; n < token.length; n++) expect(codeOf(token.slice(0, n))).toBe('token_malformed');
    const bytes = Buffer.from(token, 'base64url');
    for (let n = 0; n < bytes.length; n++)
      expect(codeOf(bytes.subarray(0, n).toString('base64url'))).toBe('token_malformed');
  });

  it.each([
    ['no caveats at all', []],
    [
      'tenant not first',
      ['holder = agt_parent', 'tenant = acme', 'actions = x', 'resources = y', 'not_after = 1'],
    ],
    ['a second tenant', [...BASE, `not_after = ${NOW}`, 'tenant = acme']],
    ['no holder', ['tenant = acme', 'actions = x', 'resources = y', `not_after = ${NOW}`]],
    ['no actions', ['tenant = acme', 'holder = agt_parent', 'resources = y', `not_after = ${NOW}`]],
    ['no resources', ['tenant = acme', 'holder = agt_parent', 'actions = x', `not_after = ${NOW}`]],
    ['no not_after', BASE],
    ['a not_after that is not a number', [...BASE, 'not_after = soon']],
    ['a not_after with a leading zero', [...BASE, `not_after = 0${NOW}`]],
    ['a depth that is not a number', [...BASE, `not_after = ${NOW}`, 'depth <= many']],
    ['a bad action pattern', [...BASE, `not_after = ${NOW}`, 'actions = sandbox.*.x']],
    ['a holder with a space', [...BASE, `not_after = ${NOW}`, 'depth <= 1', 'holder = a b']],
  ])('token_malformed: %s (correctly signed)', (_name, caveats) => {
    expect(codeOf(signed(caveats))).toBe('token_malformed');
  });

  it('token_too_large: too long, or too many caveats', () => {
    expect(codeOf('A'.repeat(30_000))).toBe('token_too_large');
    const full = signed([
      ...BASE,
      `not_after = ${NOW}`,
      ...Array.from({ length: 59 }, () => 'actions = sandbox.*'),
    ]);
    expect(codeOf(full)).toBe('ok');
    const bytes = Buffer.from(full, 'base64url');
    // One more caveat section, spliced in before the end-of-caveats byte and the 34-byte signature field.
    const at = bytes.length - 35;
    const oneMore = Buffer.concat([
      bytes.subarray(0, at),
      Buffer.from('0213616374696f6e73203d2073616e64626f782e2a00', 'hex'),
      bytes.subarray(at),
    ]);
    expect(codeOf(oneMore.toString('base64url'))).toBe('token_too_large');
    expect(thrownCode(() => attenuateToken(full, { actions: ['sandbox.x'] }))).toBe('token_too_large');
  });

  it('signature_invalid: another key, or any tampered byte that still decodes', () => {
    keys.set('other', OTHER_ROOT);
    try {
      expect(codeOf(signed(['tenant = other', ...BASE.slice(1), `not_after = ${NOW}`], ROOT))).toBe(
        'signature_invalid',
      );
    } finally {
      keys.delete('other');
    }
    const bytes = Buffer.from(mint(), 'base64url');
    const codes = new Set<string>();
    for (let at = 0; at < bytes.length; at++) {
      for (const flip of [0x01, 0x20, 0x80]) {
        const copy = Buffer.from(bytes);
        copy[at] = copy[at]! ^ flip;
        const code = codeOf(copy.toString('base64url'));
        codes.add(code);
        // Past the tenant caveat, every byte is covered by the signature.
        if (at >= bytes.length - 32) expect(code).toBe('signature_invalid');
      }
    }
    expect([...codes].sort()).toEqual(['signature_invalid', 'tenant_unknown', 'token_malformed']);
  });

  it('signature_invalid: a caveat removed from the end (the chain cannot be shortened)', () => {
    const m = decodeMacaroon(attenuateToken(mint(), { actions: ['llm.call'] }));
    const shortened: Macaroon = { ...m, caveats: m.caveats.slice(0, -1) };
    expect(codeOf(serializeMacaroon(shortened), { action: 'sandbox.exec' })).toBe('signature_invalid');
  });

  it('token_expired, holder_mismatch, action_not_permitted, resource_not_permitted', () => {
    expect(codeOf(mint(), { now: NOW + 7200 })).toBe('token_expired');
    expect(codeOf(mint(), { presenter: 'agt_thief' })).toBe('holder_mismatch');
    expect(codeOf(mint(), { action: 'net.fetch' })).toBe('action_not_permitted');
    expect(codeOf(mint(), { action: 'sandbox' })).toBe('action_not_permitted');
    expect(codeOf(mint(), { resource: 'repo:other/widgets' })).toBe('resource_not_permitted');
    expect(codeOf(mint(), { resource: 'repo:acme/widgets/src' })).toBe('resource_not_permitted');
  });

  it.each([
    ['actions', 'actions = *'],
    ['actions, sideways', 'actions = net.fetch'],
    ['resources', 'resources = repo:acme/**'],
    ['not_after', `not_after = ${NOW + 7200}`],
  ])('widened_caveat: a later %s caveat wider than an earlier one', (_name, caveat) => {
    expect(codeOf(forge(mint(), caveat))).toBe('widened_caveat');
    expect(inspectToken(forge(mint(), caveat)).problem?.code).toBe('widened_caveat');
  });

  it('depth_exceeded: a hop past depth 0, or any hop without a depth caveat', () => {
    expect(codeOf(forge(mint({ maxDepth: 0 }), 'holder = agt_b'), { presenter: 'agt_b' })).toBe(
      'depth_exceeded',
    );
    expect(codeOf(signed([...BASE, `not_after = ${NOW}`, 'holder = agt_b']), { presenter: 'agt_b' })).toBe(
      'depth_exceeded',
    );
    expect(codeOf(signed([...BASE, `not_after = ${NOW}`]))).toBe('ok');
  });

  it.each([
    ['an unknown key', 'ip = 10.0.0.1'],
    ['a known key with another operator', 'depth = 1'],
    ['a comparison Warden does not do', 'not_after < 5'],
    ['no operator', 'holder'],
    ['non-ASCII text', 'holder = agént'],
    ['a libmacaroons-style predicate', 'account = 3735928559'],
  ])('unknown_caveat: %s', (_name, caveat) => {
    expect(codeOf(forge(mint(), caveat))).toBe('unknown_caveat');
  });

  it('third_party_caveat_unsupported: a correctly chained third-party caveat', () => {
    const m = decodeMacaroon(mint());
    const caveats = [
      ...m.caveats,
      { identifier: Buffer.from('tp id'), location: 'https://auth', vid: Buffer.alloc(72, 9) },
    ];
    const withTp: Macaroon = {
      ...m,
      caveats,
      signature: computeMacaroonSignature(deriveMacaroonKey(ROOT), { identifier: m.identifier, caveats }),
    };
    expect(codeOf(serializeMacaroon(withTp))).toBe('third_party_caveat_unsupported');
    expect(inspectToken(serializeMacaroon(withTp)).caveats.at(-1)).toMatchObject({
      kind: 'third_party',
      location: 'https://auth',
    });
  });

  it('tenant_unknown, token_revoked, internal_error', () => {
    expect(codeOf(mint(), { rootKeyFor: () => undefined })).toBe('tenant_unknown');
    expect(codeOf(mint(), { revoked: (id) => id === 'tok_01J9ZQ4M6W5S8Y' })).toBe('token_revoked');
    expect(codeOf(mint(), { revoked: () => false })).toBe('ok');
    const boom = () => {
      throw new Error('keystore down');
    };
    expect(codeOf(mint(), { rootKeyFor: boom })).toBe('internal_error');
    expect(codeOf(mint(), { revoked: boom })).toBe('internal_error');
  });
});

describe('inspectToken', () => {
  it('lists the caveats and the effective grant without verifying', () => {
    const child = attenuateToken(mint(), { holder: 'agt_child', actions: ['llm.call'] });
    const info = inspectToken(child);
    expect(info.tokenId).toBe('tok_01J9ZQ4M6W5S8Y');
    expect(info.caveats.map((c) => c.kind)).toEqual([
      'tenant',
      'holder',
      'actions',
      'resources',
      'not_after',
      'depth',
      'holder',
      'actions',
    ]);
    expect(info.effective).toMatchObject({ holder: 'agt_child', actions: ['llm.call'], remainingDepth: 1 });
    expect(info.signatureHex).toMatch(/^[0-9a-f]{64}$/);
    expect(inspectToken(forge(mint(), 'ip = 1')).caveats.at(-1)?.kind).toBe('unknown');
    expect(thrownCode(() => inspectToken('%%%'))).toBe('token_malformed');
  });
});

// ─── properties ──────────────────────────────────────────────────────────────────────────────────────

const actionSegment = fc.constantFrom('a', 'b', 'c');
const actionName = fc.array(actionSegment, { minLength: 1, maxLength: 3 }).map((s) => s.join('.'));
const actionPattern = fc.oneof(
  fc.constant('*'),
  actionName,
  actionName.map((n) => `${n}.*`),
);
const resourceLiteral = fc.constantFrom('x', 'y', 'xy', 'repo:x');
const resourceName = fc.array(resourceLiteral, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));
const resourceSegment = fc.oneof(
  resourceLiteral,
  fc.tuple(fc.constantFrom('', 'x', 'repo:'), fc.constantFrom('', 'y')).map(([a, b]) => `${a}*${b}`),
);
const resourcePattern = fc.oneof(
  fc.constant('**'),
  fc.array(resourceSegment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')),
  fc.array(resourceSegment, { minLength: 1, maxLength: 2 }).map((s) => `${s.join('/')}/**`),
);
const actionList = fc.array(actionPattern, { minLength: 1, maxLength: 3 });
const resourceList = fc.array(resourcePattern, { minLength: 1, maxLength: 3 });
const holderId = fc.constantFrom('agt_a', 'agt_b', 'agt_c', 'agt_d');

describe('no attenuation lets through what the root did not permit', () => {
  it('through attenuateToken', () => {
    let appliedSteps = 0;
    let allowed = 0;
    // Random requests (mostly refused as widening) and sub-lists of what the token currently grants
    // (always narrower), so that long chains of accepted attenuations get built.
    const listChoice = <T>(random: fc.Arbitrary<T>) =>
      fc.oneof(
        random.map((value) => ({ value })),
        fc.array(fc.nat(), { minLength: 1, maxLength: 3 }).map((pick) => ({ pick })),
      );
    const step = fc.record(
      {
        holder: holderId,
        actions: listChoice(actionList),
        resources: listChoice(resourceList),
        notAfter: fc.integer({ min: NOW, max: NOW + 5000 }),
        maxDepth: fc.integer({ min: 0, max: 4 }),
      },
      { requiredKeys: [] },
    );
    const resolve = (
      choice: { value: string[] } | { pick: number[] } | undefined,
      current: readonly string[],
    ) =>
      choice === undefined
        ? undefined
        : 'value' in choice
          ? choice.value
          : choice.pick.map((i) => current[i % current.length]!);
    fc.assert(
      fc.property(
        actionList,
        resourceList,
        fc.integer({ min: 0, max: 4 }),
        fc.array(step, { maxLength: 6 }),
        fc.array(fc.tuple(actionName, resourceName), { minLength: 1, maxLength: 12 }),
        (rootActions, rootResources, maxDepth, steps, probes) => {
          let token = mint({ actions: rootActions, resources: rootResources, maxDepth, holder: 'agt_root' });
          let holder = 'agt_root';
          for (const s of steps) {
            const current = inspectToken(token).effective!;
            try {
              token = attenuateToken(token, {
                ...s,
                actions: resolve(s.actions, current.actions),
                resources: resolve(s.resources, current.resources),
              });
              if (s.holder !== undefined) holder = s.holder;
              appliedSteps++;
            } catch (err) {
              if (!(err instanceof DelegationTokenError)) throw err;
            }
          }
          const rootA = compileActionPatterns(rootActions);
          const rootR = compileResourcePatterns(rootResources);
          for (const [action, resource] of probes) {
            const r = verifyToken(token, request({ presenter: holder, action, resource }));
            if (r.ok) {
              allowed++;
              expect(rootA.matches(action)).toBe(true);
              expect(rootR.matches(resource)).toBe(true);
              expect(isSubset(compileActionPatterns(r.actions), rootA)).toBe(true);
            } else {
              expect(['action_not_permitted', 'resource_not_permitted']).toContain(r.code);
            }
          }
        },
      ),
      { numRuns: 400 },
    );
    // The property only bites if attenuations go through and requests get allowed.
    console.log('STATS', appliedSteps, allowed);
    expect(appliedSteps).toBeGreaterThan(120);
    expect(allowed).toBeGreaterThan(50);
  });

  it('through raw caveats appended without attenuateToken (a forger)', () => {
    const caveat = fc.oneof(
      actionList.map((l) => `actions = ${l.join(',')}`),
      resourceList.map((l) => `resources = ${l.join(',')}`),
      holderId.map((h) => `holder = ${h}`),
      fc.integer({ min: 0, max: 3 }).map((n) => `depth <= ${n}`),
      fc.integer({ min: NOW - 10, max: NOW + 5000 }).map((t) => `not_after = ${t}`),
    );
    fc.assert(
      fc.property(
        actionList,
        resourceList,
        fc.array(caveat, { maxLength: 8 }),
        fc.array(fc.tuple(holderId, actionName, resourceName), { minLength: 1, maxLength: 12 }),
        (rootActions, rootResources, extra, probes) => {
          const token = forge(
            mint({ actions: rootActions, resources: rootResources, holder: 'agt_a' }),
            ...extra,
          );
          const rootA = compileActionPatterns(rootActions);
          const rootR = compileResourcePatterns(rootResources);
          for (const [presenter, action, resource] of probes) {
            const r = verifyToken(token, request({ presenter, action, resource }));
            if (!r.ok) continue;
            expect(rootA.matches(action)).toBe(true);
            expect(rootR.matches(resource)).toBe(true);
            // Every actions/resources caveat in the chain holds, not only the last one.
            for (const c of extra) {
              if (c.startsWith('actions = '))
                expect(patternListFromCaveat('action', c.slice(10)).matches(action)).toBe(true);
              if (c.startsWith('resources = ')) {
                expect(patternListFromCaveat('resource', c.slice(12)).matches(resource)).toBe(true);
              }
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

// ─── interop with the npm `macaroon` package ─────────────────────────────────────────────────────────

interface NpmMacaroon {
  addFirstPartyCaveat(id: string | Uint8Array): void;
  addThirdPartyCaveat(rootKey: Uint8Array, id: string | Uint8Array, location: string): void;
  verify(rootKey: Uint8Array, check: (cond: string) => string | null): void;
  exportJSON(): NpmJsonV2;
  clone(): NpmMacaroon;
}
interface NpmJsonV2 {
  l?: string;
  i?: string;
  i64?: string;
  s64: string;
  c?: { i?: string; i64?: string; l?: string; v?: string; v64?: string }[];
}
const npm = createRequire(import.meta.url)('macaroon') as {
  newMacaroon(p: {
    identifier: string;
    location?: string;
    rootKey: Uint8Array;
    version?: number;
  }): NpmMacaroon;
  importMacaroon(text: string): NpmMacaroon;
};

/**
 * Their v2 JSON export as our struct, field for field. The package's binary exporter (3.0.4) doubles its
 * buffer on every field appended and throws a RangeError past about twenty fields, so a Warden-sized
 * macaroon can only leave it as JSON; the HMAC chain and every byte of content are still theirs.
 */
function fromNpm(theirs: NpmMacaroon): string {
  const j = theirs.exportJSON();
  const bytes = (text: string | undefined, b64: string | undefined): Buffer =>
    text !== undefined ? Buffer.from(text, 'utf8') : Buffer.from(b64 ?? '', 'base64');
  return serializeMacaroon({
    location: j.l || undefined,
    identifier: bytes(j.i, j.i64),
    caveats: (j.c ?? []).map((c) => ({
      identifier: bytes(c.i, c.i64),
      location: c.l || undefined,
      vid: c.v === undefined && c.v64 === undefined ? undefined : bytes(c.v, c.v64),
    })),
    signature: Buffer.from(j.s64, 'base64'),
  });
}

/** Warden's caveat semantics as a per-caveat checker for their verify (root tokens: one holder). */
function wardenChecker(req: VerifyTokenOptions, tenant: string): (cond: string) => string | null {
  return (cond) => {
    const [key, op, value = ''] = cond.split(' ');
    if (key === 'tenant' && op === '=') return value === tenant ? null : 'wrong tenant';
    if (key === 'holder' && op === '=') return value === req.presenter ? null : 'wrong holder';
    if (key === 'actions' && op === '=')
      return patternListFromCaveat('action', value).matches(req.action) ? null : 'action';
    if (key === 'resources' && op === '=') {
      return patternListFromCaveat('resource', value).matches(req.resource) ? null : 'resource';
    }
    if (key === 'not_after' && op === '=') return req.now <= Number(value) ? null : 'expired';
    if (key === 'depth' && op === '<=') return null;
    return 'unknown caveat';
  };
}

describe('interop with the npm macaroon package', () => {
  it('their verify accepts our minted token with the same root key and a Warden caveat checker', () => {
    const token = mint({ location: 'https://warden.example' });
    const theirs = npm.importMacaroon(token);
    expect(() => theirs.verify(ROOT, wardenChecker(request(), 'acme'))).not.toThrow();
    expect(() => theirs.verify(ROOT, wardenChecker(request({ action: 'net.fetch' }), 'acme'))).toThrow(
      /action/,
    );
    expect(() => theirs.verify(OTHER_ROOT, wardenChecker(request(), 'acme'))).toThrow(/signature/);
  });

  it('we verify a Warden token they made, and their attenuations of it', () => {
    const theirs = npm.newMacaroon({
      identifier: 'tok_npm',
      location: 'https://svc',
      rootKey: ROOT,
      version: 2,
    });
    for (const c of [
      'tenant = acme',
      'holder = agt_parent',
      'actions = sandbox.*,llm.call',
      'resources = repo:acme/*',
    ]) {
      theirs.addFirstPartyCaveat(c);
    }
    theirs.addFirstPartyCaveat(`not_after = ${NOW + 60}`);
    theirs.addFirstPartyCaveat('depth <= 1');
    expect(verifyToken(fromNpm(theirs), request())).toMatchObject({
      ok: true,
      tokenId: 'tok_npm',
      remainingDepth: 1,
    });

    const delegated = theirs.clone();
    delegated.addFirstPartyCaveat('holder = agt_child');
    delegated.addFirstPartyCaveat('actions = sandbox.exec');
    expect(verifyToken(fromNpm(delegated), request({ presenter: 'agt_child' }))).toMatchObject({
      ok: true,
      holder: 'agt_child',
      actions: ['sandbox.exec'],
    });
    expect(codeOf(fromNpm(delegated), { presenter: 'agt_child', action: 'llm.call' })).toBe(
      'action_not_permitted',
    );

    const widened = delegated.clone();
    widened.addFirstPartyCaveat('actions = *');
    expect(codeOf(fromNpm(widened), { presenter: 'agt_child' })).toBe('widened_caveat');

    const tooDeep = delegated.clone();
    tooDeep.addFirstPartyCaveat('holder = agt_grandchild');
    expect(codeOf(fromNpm(tooDeep), { presenter: 'agt_grandchild' })).toBe('depth_exceeded');

    const thirdParty = theirs.clone();
    thirdParty.addThirdPartyCaveat(Buffer.from('a caveat root key'), 'is-human', 'https://idp.example');
    expect(codeOf(fromNpm(thirdParty))).toBe('third_party_caveat_unsupported');

    expect(codeOf(fromNpm(theirs), { rootKeyFor: () => OTHER_ROOT })).toBe('signature_invalid');
  });

  it('our attenuation of our token is still accepted by their verify (one holder)', () => {
    const narrowed = attenuateToken(mint(), { actions: ['sandbox.exec'], notAfter: NOW + 10 });
    expect(() => npm.importMacaroon(narrowed).verify(ROOT, wardenChecker(request(), 'acme'))).not.toThrow();
  });
});
