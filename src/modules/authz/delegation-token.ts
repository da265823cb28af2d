/**
 * Warden delegation tokens: macaroons (see macaroon.ts) rooted at a per-tenant root key whose first-party
 * caveats are short `key op value` conditions.
 *
 *   tenant = <tenant id>          must be the first caveat, exactly once; picks the root key
 *   holder = <agent or key id>    who may present the token; the LAST one is the effective holder
 *   actions = <action patterns>   comma-separated, see patterns.ts
 *   resources = <resource patterns>
 *   not_after = <unix seconds>    the last second at which the token is still valid
 *   depth <= <n>                  at most n holder caveats may follow this one
 *
 * Semantics. Every caveat must hold (a conjunction), so appending a caveat can only narrow what the token
 * allows; appending needs no key (the macaroon property), which is how an agent delegates to a sub-agent
 * offline. A token needs at least one holder, actions, resources and not_after caveat, or it is malformed.
 *   - The first holder caveat names the original holder; each later holder caveat is one delegation hop.
 *   - A `depth <= n` caveat limits the hops appended after it to n. A token without any depth caveat
 *     allows no hops (fail closed). Several depth caveats all apply; the tightest one decides.
 *   - A later actions / resources / not_after caveat that is not provably as narrow as the one before it
 *     is refused as `widened_caveat`, even though the conjunction would make it harmless: a token that
 *     claims more than it grants is a bug or an attack, and refusing it means the LAST actions and
 *     resources caveats are exactly what the token allows, which is what the verifier checks.
 *   - Unknown conditions and third-party caveats are refused (fail closed).
 *
 * This file depends on node:crypto, macaroon.ts and patterns.ts only: the agent SDK reuses it.
 */
import { createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import {
  addFirstPartyCaveat,
  computeMacaroonSignature,
  createMacaroon,
  decodeMacaroon,
  deriveMacaroonKey,
  MAX_CAVEATS,
  MAX_MACAROON_TEXT_LENGTH,
  type Macaroon,
  MacaroonError,
  serializeMacaroon,
} from './macaroon.js';
import {
  compileActionPatterns,
  compileResourcePatterns,
  isSubset,
  type PatternKind,
  type PatternList,
  PatternSyntaxError,
  patternListFromCaveat,
} from './patterns.js';

/** Stable reasons a token is refused. */
export type TokenFailureCode =
  /** Not a v2 macaroon, or a Warden caveat with a bad value, or a required caveat missing. */
  | 'token_malformed'
  /** Over MAX_MACAROON_BYTES, or more than MAX_CAVEATS caveats. */
  | 'token_too_large'
  /** The HMAC chain does not reproduce the signature under the tenant's root key. */
  | 'signature_invalid'
  /** `now` is after the tightest not_after. */
  | 'token_expired'
  /** The presenter is not the effective (last) holder. */
  | 'holder_mismatch'
  | 'action_not_permitted'
  | 'resource_not_permitted'
  /** A later actions / resources / not_after caveat is wider than an earlier one. */
  | 'widened_caveat'
  /** More delegation hops than a depth caveat allows (or than are left, when attenuating). */
  | 'depth_exceeded'
  /** A first-party condition Warden does not understand. */
  | 'unknown_caveat'
  | 'third_party_caveat_unsupported'
  /** No root key for the token's tenant. */
  | 'tenant_unknown'
  | 'token_revoked'
  /** Something threw during verification (a callback, a bug): refused rather than allowed. */
  | 'internal_error';

export interface VerifiedToken {
  readonly ok: true;
  /** The macaroon identifier; shared by the root token and everything attenuated from it. */
  readonly tokenId: string;
  readonly tenant: string;
  /** The effective holder: the last holder caveat. */
  readonly holder: string;
  /** Every holder caveat in order: the original holder first, then one entry per delegation hop. */
  readonly holders: readonly string[];
  /** The patterns of the last actions caveat, which the earlier ones all include. */
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  /** The tightest not_after, unix seconds (inclusive). */
  readonly notAfter: number;
  /** How many more delegation hops may be appended. */
  readonly remainingDepth: number;
  /** The macaroon's location hint. NOT covered by the signature (no macaroon location is): never decide on it. */
  readonly location: string | undefined;
}

export interface TokenFailure {
  readonly ok: false;
  readonly code: TokenFailureCode;
  readonly detail: string;
}

export type VerifyResult = VerifiedToken | TokenFailure;

/** What verification needs about the token itself, independent of the request. */
export interface TokenCheckOptions {
  /** The tenant's root key, or undefined for an unknown tenant. Treat returned buffers as immutable. */
  rootKeyFor(tenantId: string): Uint8Array | undefined;
  /** Current time, unix seconds. */
  now: number;
  /** Whether the token id was revoked (the push-invalidated revocation set). */
  revoked?(tokenId: string): boolean;
}

/** The request a token is presented for. */
export interface TokenRequest {
  /** The authenticated agent or key id presenting the token: it must be the effective holder. */
  presenter: string;
  action: string;
  resource: string;
  /** Current time, unix seconds. */
  now: number;
}

export type VerifyTokenOptions = TokenCheckOptions & TokenRequest;

/** A token whose signature and caveats checked out, with its matchers compiled: what the cache keeps. */
export interface TokenGrant {
  readonly ok: true;
  readonly token: VerifiedToken;
  readonly actionList: PatternList;
  readonly resourceList: PatternList;
}

export type DelegationTokenErrorCode = TokenFailureCode | 'invalid_argument';

/** Thrown by mintToken, attenuateToken and inspectToken; `code` is stable. */
export class DelegationTokenError extends Error {
  override readonly name = 'DelegationTokenError';
  constructor(
    readonly code: DelegationTokenErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Largest not_after accepted: twelve digits of unix seconds. */
const MAX_NOT_AFTER = 999_999_999_999;
const MAX_ID_LENGTH = 256;
const MIN_ROOT_KEY_BYTES = 32;

function fail(code: TokenFailureCode, detail: string): TokenFailure {
  return { ok: false, code, detail };
}

type CaveatKind = 'tenant' | 'holder' | 'actions' | 'resources' | 'not_after' | 'depth';

interface ParsedCaveat {
  readonly kind: CaveatKind;
  readonly value: string;
}

const OPERATOR: Readonly<Record<CaveatKind, string>> = {
  tenant: '=',
  holder: '=',
  actions: '=',
  resources: '=',
  not_after: '=',
  depth: '<=',
};

/** Printable ASCII, no spaces: ids, tenants and holders. */
function isIdent(value: string): boolean {
  if (value.length === 0 || value.length > MAX_ID_LENGTH) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** Canonical decimal (no sign, no leading zero), at most `maxDigits`; -1 if not one. */
function parseDecimal(value: string, maxDigits: number): number {
  if (value.length === 0 || value.length > maxDigits || (value.length > 1 && value.charCodeAt(0) === 0x30)) {
    return -1;
  }
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/**
 * Splits `key op value`. Null for anything that is not a known key with its operator (unknown_caveat);
 * a known key with a bad value is reported by the caller as token_malformed.
 */
function parseCaveatText(bytes: Buffer): ParsedCaveat | null {
  // Warden caveats are printable ASCII; anything else is some other issuer's condition.
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c < 0x20 || c > 0x7e) return null;
  }
  const text = bytes.toString('latin1');
  const sp1 = text.indexOf(' ');
  if (sp1 <= 0) return null;
  const sp2 = text.indexOf(' ', sp1 + 1);
  if (sp2 < 0) return null;
  const key = text.slice(0, sp1);
  let kind: CaveatKind;
  switch (key) {
    case 'tenant':
    case 'holder':
    case 'actions':
    case 'resources':
    case 'not_after':
    case 'depth':
      kind = key;
      break;
    default:
      return null;
  }
  if (text.slice(sp1 + 1, sp2) !== OPERATOR[kind]) return null;
  return { kind, value: text.slice(sp2 + 1) };
}

function caveatText(kind: CaveatKind, value: string): string {
  return `${kind} ${OPERATOR[kind]} ${value}`;
}

interface CaveatState {
  tenant: string;
  holders: string[];
  actions: PatternList;
  resources: PatternList;
  notAfter: number;
  remainingDepth: number;
}

function compileCaveatList(kind: PatternKind, value: string): PatternList | TokenFailure {
  try {
    return patternListFromCaveat(kind, value);
  } catch (err) {
    if (err instanceof PatternSyntaxError) return fail('token_malformed', err.message);
    throw err;
  }
}

/**
 * Reads the caveats in order and applies the semantics in the file comment. Returns failures rather than
 * throwing: this runs on every cold verification.
 */
function interpretCaveats(m: Macaroon): CaveatState | TokenFailure {
  const caveats = m.caveats;
  let tenant: string | undefined;
  const holders: string[] = [];
  let actions: PatternList | undefined;
  let resources: PatternList | undefined;
  let notAfter = -1;
  // Each depth caveat as [limit, holder caveats seen before it], flattened to avoid an object per caveat.
  const depths: number[] = [];
  for (let i = 0; i < caveats.length; i++) {
    const c = caveats[i]!;
    if (c.vid !== undefined) {
      return fail(
        'third_party_caveat_unsupported',
        `caveat ${i + 1} is a third-party caveat; Warden tokens accept first-party caveats only`,
      );
    }
    const parsed = parseCaveatText(c.identifier);
    if (parsed === null) {
      return fail('unknown_caveat', `caveat ${i + 1} is not a condition Warden understands`);
    }
    const { kind, value } = parsed;
    switch (kind) {
      case 'tenant':
        if (i !== 0) return fail('token_malformed', `caveat ${i + 1}: tenant may only be the first caveat`);
        if (!isIdent(value)) return fail('token_malformed', 'the tenant caveat has an invalid tenant id');
        tenant = value;
        break;
      case 'holder':
        if (!isIdent(value)) return fail('token_malformed', `caveat ${i + 1}: invalid holder id`);
        holders.push(value);
        break;
      case 'actions': {
        const list = compileCaveatList('action', value);
        if (isFailure(list)) return list;
        if (actions !== undefined && !isSubset(list, actions)) {
          return fail(
            'widened_caveat',
            `caveat ${i + 1}: actions ${value} is wider than the earlier ${actions.text}`,
          );
        }
        actions = list;
        break;
      }
      case 'resources': {
        const list = compileCaveatList('resource', value);
        if (isFailure(list)) return list;
        if (resources !== undefined && !isSubset(list, resources)) {
          return fail(
            'widened_caveat',
            `caveat ${i + 1}: resources ${value} is wider than the earlier ${resources.text}`,
          );
        }
        resources = list;
        break;
      }
      case 'not_after': {
        const t = parseDecimal(value, 12);
        if (t < 0) return fail('token_malformed', `caveat ${i + 1}: not_after must be unix seconds`);
        if (notAfter >= 0 && t > notAfter) {
          return fail(
            'widened_caveat',
            `caveat ${i + 1}: not_after ${t} is later than the earlier ${notAfter}`,
          );
        }
        notAfter = t;
        break;
      }
      case 'depth': {
        const n = parseDecimal(value, 2);
        if (n < 0 || n > MAX_CAVEATS) {
          return fail(
            'token_malformed',
            `caveat ${i + 1}: depth must be an integer from 0 to ${MAX_CAVEATS}`,
          );
        }
        depths.push(n, holders.length);
        break;
      }
    }
  }
  if (tenant === undefined) return fail('token_malformed', 'the first caveat must be "tenant = <id>"');
  if (holders.length === 0) return fail('token_malformed', 'the token has no holder caveat');
  if (actions === undefined) return fail('token_malformed', 'the token has no actions caveat');
  if (resources === undefined) return fail('token_malformed', 'the token has no resources caveat');
  if (notAfter < 0) return fail('token_malformed', 'the token has no not_after caveat');
  let remainingDepth = depths.length === 0 ? 0 : MAX_CAVEATS;
  if (depths.length === 0 && holders.length > 1) {
    return fail(
      'depth_exceeded',
      `the token was delegated ${holders.length - 1} times without a depth caveat`,
    );
  }
  for (let d = 0; d < depths.length; d += 2) {
    const limit = depths[d]!;
    const seen = depths[d + 1]!;
    // Holder caveats after this one are hops, except the original holder when it comes after it.
    const hops = holders.length - seen - (seen === 0 ? 1 : 0);
    if (hops > limit) {
      return fail(
        'depth_exceeded',
        `the token was delegated ${hops} times after a "depth <= ${limit}" caveat`,
      );
    }
    if (limit - hops < remainingDepth) remainingDepth = limit - hops;
  }
  return { tenant, holders, actions, resources, notAfter, remainingDepth };
}

function isFailure(x: object): x is TokenFailure {
  return (x as { ok?: unknown }).ok === false;
}

// Deriving the HMAC key costs one HMAC and importing it as a KeyObject makes the first chain step cheaper,
// so both are done once per root key buffer; the WeakMap lets dropped keys be collected.
const derivedKeys = new WeakMap<Uint8Array, KeyObject>();

function derivedKeyFor(rootKey: Uint8Array): KeyObject {
  let key = derivedKeys.get(rootKey);
  if (key === undefined) {
    key = createSecretKey(deriveMacaroonKey(rootKey));
    derivedKeys.set(rootKey, key);
  }
  return key;
}

function tenantOf(m: Macaroon): string | undefined {
  const first = m.caveats[0];
  if (first === undefined || first.vid !== undefined) return undefined;
  const parsed = parseCaveatText(first.identifier);
  return parsed !== null && parsed.kind === 'tenant' && isIdent(parsed.value) ? parsed.value : undefined;
}

function tokenIdOf(m: Macaroon): string | undefined {
  const id = m.identifier;
  for (let i = 0; i < id.length; i++) {
    const c = id[i]!;
    if (c < 0x21 || c > 0x7e) return undefined;
  }
  return id.length === 0 || id.length > MAX_ID_LENGTH ? undefined : id.toString('latin1');
}

/**
 * Checks the token itself — format, signature, caveat semantics, revocation, expiry — without a request.
 * The result is what the verified-token cache keeps; authorizeRequest then checks a request against it.
 * Never throws for bad input.
 *
 * @example
 * const grant = verifyTokenGrant(token, { rootKeyFor: (t) => keys.get(t), now: nowSeconds() });
 * if (grant.ok) authorizeRequest(grant, { presenter, action: 'llm.call', resource: 'model:gpt', now });
 */
export function verifyTokenGrant(token: string, options: TokenCheckOptions): TokenGrant | TokenFailure {
  try {
    if (typeof token !== 'string') return fail('token_malformed', 'a token must be a string');
    if (token.length > MAX_MACAROON_TEXT_LENGTH) {
      return fail('token_too_large', `a token must be at most ${MAX_MACAROON_TEXT_LENGTH} characters`);
    }
    let m: Macaroon;
    try {
      m = decodeMacaroon(token);
    } catch (err) {
      if (err instanceof MacaroonError) return fail(err.code, err.message);
      throw err;
    }
    // The tenant picks the key, so it is read before the signature can be checked.
    const tenant = tenantOf(m);
    if (tenant === undefined) return fail('token_malformed', 'the first caveat must be "tenant = <id>"');
    const rootKey = options.rootKeyFor(tenant);
    if (rootKey === undefined || rootKey === null)
      return fail('tenant_unknown', `no root key for tenant ${tenant}`);
    if (!timingSafeEqual(computeMacaroonSignature(derivedKeyFor(rootKey), m), m.signature)) {
      return fail('signature_invalid', 'the token signature does not verify under the tenant root key');
    }
    const tokenId = tokenIdOf(m);
    if (tokenId === undefined)
      return fail('token_malformed', 'the token id must be 1 to 256 printable ASCII');
    const state = interpretCaveats(m);
    if (isFailure(state)) return state;
    if (options.revoked?.(tokenId) === true) return fail('token_revoked', `token ${tokenId} was revoked`);
    if (!(options.now <= state.notAfter)) {
      return fail('token_expired', `the token expired at ${state.notAfter} (unix seconds)`);
    }
    const verified: VerifiedToken = Object.freeze({
      ok: true,
      tokenId,
      tenant: state.tenant,
      holder: state.holders[state.holders.length - 1]!,
      holders: Object.freeze(state.holders),
      actions: state.actions.patterns,
      resources: state.resources.patterns,
      notAfter: state.notAfter,
      remainingDepth: state.remainingDepth,
      location: m.location,
    });
    return Object.freeze({
      ok: true,
      token: verified,
      actionList: state.actions,
      resourceList: state.resources,
    });
  } catch {
    return fail('internal_error', 'token verification failed unexpectedly');
  }
}

/**
 * Checks a request against a verified grant: expiry, holder, action, resource. The same object is
 * returned on success every time (no allocation on the cached path).
 *
 * @example
 * const result = authorizeRequest(grant, { presenter: 'agt_1', action: 'sandbox.exec', resource: 'repo:acme/w', now });
 * if (!result.ok) console.log(result.code); // e.g. 'action_not_permitted'
 */
export function authorizeRequest(grant: TokenGrant, request: TokenRequest): VerifyResult {
  const token = grant.token;
  if (!(request.now <= token.notAfter)) {
    return fail('token_expired', `the token expired at ${token.notAfter} (unix seconds)`);
  }
  if (request.presenter !== token.holder) {
    return fail('holder_mismatch', 'the token is held by another agent; only its last holder may present it');
  }
  if (!grant.actionList.matches(request.action)) {
    return fail('action_not_permitted', `action ${request.action} is not among ${grant.actionList.text}`);
  }
  if (!grant.resourceList.matches(request.resource)) {
    return fail(
      'resource_not_permitted',
      `resource ${request.resource} is not among ${grant.resourceList.text}`,
    );
  }
  return token;
}

/**
 * Verifies a token for one request. Fails closed: any problem, including an exception from a callback,
 * is `{ ok: false, code, detail }`.
 *
 * @example
 * const r = verifyToken(token, {
 *   rootKeyFor: (tenant) => rootKeys.get(tenant),
 *   presenter: 'agt_7f3a',
 *   action: 'sandbox.exec',
 *   resource: 'repo:acme/widgets',
 *   now: Math.floor(Date.now() / 1000),
 *   revoked: (id) => revokedIds.has(id),
 * });
 * if (r.ok) console.log(r.holder, r.actions); else console.log(r.code, r.detail);
 */
export function verifyToken(token: string, options: VerifyTokenOptions): VerifyResult {
  const grant = verifyTokenGrant(token, options);
  if (!grant.ok) return grant;
  try {
    return authorizeRequest(grant, options);
  } catch {
    return fail('internal_error', 'token verification failed unexpectedly');
  }
}

export interface MintTokenParams {
  /** The tenant's root key, at least 32 random bytes. */
  rootKey: Uint8Array;
  /** The macaroon identifier; also what revocation names. */
  tokenId: string;
  /** A hint for people and other libraries (where the token is used); unsigned. */
  location?: string;
  tenant: string;
  holder: string;
  actions: readonly string[];
  resources: readonly string[];
  /** Last valid second, unix seconds. */
  notAfter: number;
  /** How many delegation hops may follow (0 = the holder cannot delegate). */
  maxDepth: number;
}

function invalid(message: string): DelegationTokenError {
  return new DelegationTokenError('invalid_argument', message);
}

function checkedPatterns(kind: PatternKind, patterns: readonly string[]): PatternList {
  try {
    return kind === 'action' ? compileActionPatterns(patterns) : compileResourcePatterns(patterns);
  } catch (err) {
    if (err instanceof PatternSyntaxError) throw invalid(err.message);
    throw err;
  }
}

function checkNotAfter(notAfter: number): void {
  if (!Number.isSafeInteger(notAfter) || notAfter < 0 || notAfter > MAX_NOT_AFTER) {
    throw invalid(`notAfter must be unix seconds, an integer from 0 to ${MAX_NOT_AFTER}, got ${notAfter}`);
  }
}

function checkDepth(depth: number): void {
  if (!Number.isSafeInteger(depth) || depth < 0 || depth > MAX_CAVEATS) {
    throw invalid(`maxDepth must be an integer from 0 to ${MAX_CAVEATS}, got ${depth}`);
  }
}

function serialize(m: Macaroon): string {
  try {
    return serializeMacaroon(m);
  } catch (err) {
    if (err instanceof MacaroonError) throw new DelegationTokenError(err.code, err.message);
    throw err;
  }
}

function appendCaveat(m: Macaroon, kind: CaveatKind, value: string): Macaroon {
  try {
    return addFirstPartyCaveat(m, caveatText(kind, value));
  } catch (err) {
    if (err instanceof MacaroonError) throw new DelegationTokenError(err.code, err.message);
    throw err;
  }
}

/**
 * Mints a root delegation token for a holder. The caveats are, in order: tenant, holder, actions,
 * resources, not_after, depth.
 *
 * @example
 * const token = mintToken({
 *   rootKey, tokenId: '01J9ZQ4M6W5S8Y2R3T7V0X1B2C', tenant: 'acme', holder: 'agt_7f3a',
 *   actions: ['sandbox.*', 'llm.call'], resources: ['repo:acme/*'],
 *   notAfter: Math.floor(Date.now() / 1000) + 3600, maxDepth: 2,
 * });
 */
export function mintToken(params: MintTokenParams): string {
  const { rootKey, tokenId, location, tenant, holder, actions, resources, notAfter, maxDepth } = params;
  if (!(rootKey instanceof Uint8Array) || rootKey.length < MIN_ROOT_KEY_BYTES) {
    throw invalid(`rootKey must be at least ${MIN_ROOT_KEY_BYTES} bytes`);
  }
  if (!isIdent(tokenId)) throw invalid('tokenId must be 1 to 256 printable ASCII characters without spaces');
  if (!isIdent(tenant)) throw invalid('tenant must be 1 to 256 printable ASCII characters without spaces');
  if (!isIdent(holder)) throw invalid('holder must be 1 to 256 printable ASCII characters without spaces');
  if (location !== undefined && typeof location !== 'string') throw invalid('location must be a string');
  const actionList = checkedPatterns('action', actions);
  const resourceList = checkedPatterns('resource', resources);
  checkNotAfter(notAfter);
  checkDepth(maxDepth);
  let m = createMacaroon({ rootKey, identifier: tokenId, location });
  m = appendCaveat(m, 'tenant', tenant);
  m = appendCaveat(m, 'holder', holder);
  m = appendCaveat(m, 'actions', actionList.text);
  m = appendCaveat(m, 'resources', resourceList.text);
  m = appendCaveat(m, 'not_after', String(notAfter));
  m = appendCaveat(m, 'depth', String(maxDepth));
  return serialize(m);
}

/** What an attenuation may narrow. Every field is optional; omitted ones stay as they are. */
export interface Attenuation {
  /** Delegate to this holder (one hop; needs remaining depth). */
  holder?: string;
  /** Must be a subset of the current actions. */
  actions?: readonly string[];
  /** Must be a subset of the current resources. */
  resources?: readonly string[];
  /** Must not be later than the current not_after. */
  notAfter?: number;
  /** Hops allowed after this attenuation; must not exceed what is left. */
  maxDepth?: number;
}

function decodeForUse(token: string): Macaroon {
  try {
    return decodeMacaroon(token);
  } catch (err) {
    if (err instanceof MacaroonError) throw new DelegationTokenError(err.code, err.message);
    throw err;
  }
}

/**
 * Narrows a token offline (no root key): appends caveats to the chain. Throws DelegationTokenError when
 * the request would widen it (`widened_caveat`), when no delegation hop is left (`depth_exceeded`), or
 * when the token itself is not a usable Warden token. The signature is not checked (it cannot be without
 * the root key); the verifier does that.
 *
 * @example
 * const forSubAgent = attenuateToken(token, {
 *   holder: 'agt_child', actions: ['sandbox.exec'], notAfter: now + 600, maxDepth: 0,
 * });
 */
export function attenuateToken(token: string, narrower: Attenuation): string {
  const m = decodeForUse(token);
  const state = interpretCaveats(m);
  if (isFailure(state)) throw new DelegationTokenError(state.code, state.detail);
  const { holder, actions, resources, notAfter, maxDepth } = narrower;
  let remaining = state.remainingDepth;
  if (holder !== undefined) {
    if (!isIdent(holder)) throw invalid('holder must be 1 to 256 printable ASCII characters without spaces');
    if (remaining < 1)
      throw new DelegationTokenError('depth_exceeded', 'the token allows no further delegation');
    remaining--;
  }
  const actionList = actions === undefined ? undefined : checkedPatterns('action', actions);
  if (actionList !== undefined && !isSubset(actionList, state.actions)) {
    throw new DelegationTokenError(
      'widened_caveat',
      `actions ${actionList.text} are not within the current ${state.actions.text}`,
    );
  }
  const resourceList = resources === undefined ? undefined : checkedPatterns('resource', resources);
  if (resourceList !== undefined && !isSubset(resourceList, state.resources)) {
    throw new DelegationTokenError(
      'widened_caveat',
      `resources ${resourceList.text} are not within the current ${state.resources.text}`,
    );
  }
  if (notAfter !== undefined) {
    checkNotAfter(notAfter);
    if (notAfter > state.notAfter) {
      throw new DelegationTokenError(
        'widened_caveat',
        `notAfter ${notAfter} is later than the current ${state.notAfter}`,
      );
    }
  }
  if (maxDepth !== undefined) {
    checkDepth(maxDepth);
    if (maxDepth > remaining) {
      throw new DelegationTokenError(
        'widened_caveat',
        `maxDepth ${maxDepth} is more than the ${remaining} hops left`,
      );
    }
  }
  let out = m;
  if (holder !== undefined) out = appendCaveat(out, 'holder', holder);
  if (actionList !== undefined) out = appendCaveat(out, 'actions', actionList.text);
  if (resourceList !== undefined) out = appendCaveat(out, 'resources', resourceList.text);
  if (notAfter !== undefined) out = appendCaveat(out, 'not_after', String(notAfter));
  if (maxDepth !== undefined) out = appendCaveat(out, 'depth', String(maxDepth));
  return out === m ? token : serialize(out);
}

export interface InspectedCaveat {
  /** 1-based position in the chain. */
  readonly index: number;
  readonly kind: CaveatKind | 'unknown' | 'third_party';
  /** The caveat id as text (UTF-8, invalid bytes replaced). */
  readonly text: string;
  /** For third-party caveats: where they are discharged. */
  readonly location?: string;
}

export interface TokenInspection {
  readonly tokenId: string;
  readonly location: string | undefined;
  readonly caveats: readonly InspectedCaveat[];
  readonly signatureHex: string;
  /** What the token would grant if its signature verifies; absent when the caveats do not make sense. */
  readonly effective?: Omit<VerifiedToken, 'ok' | 'tokenId' | 'location'>;
  /** Why the caveats do not make sense (the code verifyToken would give after the signature check). */
  readonly problem?: { readonly code: TokenFailureCode; readonly detail: string };
}

/**
 * Decodes a token for people (CLI, logs, support). Does NOT verify anything: never base a decision on it.
 * Throws DelegationTokenError only when the token is not a macaroon at all.
 *
 * @example
 * const info = inspectToken(token);
 * info.caveats.map((c) => c.text); // ['tenant = acme', 'holder = agt_7f3a', …]
 */
export function inspectToken(token: string): TokenInspection {
  const m = decodeForUse(token);
  const caveats = m.caveats.map((c, i): InspectedCaveat => {
    const text = c.identifier.toString('utf8');
    if (c.vid !== undefined) {
      return {
        index: i + 1,
        kind: 'third_party',
        text,
        ...(c.location !== undefined && { location: c.location }),
      };
    }
    const parsed = parseCaveatText(c.identifier);
    return { index: i + 1, kind: parsed === null ? 'unknown' : parsed.kind, text };
  });
  const base = {
    tokenId: m.identifier.toString('utf8'),
    location: m.location,
    caveats,
    signatureHex: m.signature.toString('hex'),
  };
  const state = interpretCaveats(m);
  if (isFailure(state)) return { ...base, problem: { code: state.code, detail: state.detail } };
  return {
    ...base,
    effective: {
      tenant: state.tenant,
      holder: state.holders[state.holders.length - 1]!,
      holders: state.holders,
      actions: state.actions.patterns,
      resources: state.resources.patterns,
      notAfter: state.notAfter,
      remainingDepth: state.remainingDepth,
    },
  };
}
