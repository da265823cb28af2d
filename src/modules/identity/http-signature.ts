/**
 * HTTP Message Signatures (RFC 9421): how agents sign every request to Warden and how Warden checks them.
 *
 * An agent signs with its Ed25519 key and `keyid` = its agent id, covering at least `@method`,
 * `@target-uri` and, when there is a body, `content-digest` (RFC 9530), which binds the body. The verifier
 * checks the covered components, the time window, the nonce (replay), the key and algorithm, the
 * Content-Digest against the body, and the signature; it returns a stable error code rather than throwing,
 * and fails closed on anything unexpected.
 *
 * This is on the hot path of every agent request, so it is hand-written around node:crypto: headers are
 * scanned by character code (structured-fields.ts), regular expressions are compiled once at module load,
 * the target URI is split by index rather than with `new URL`, and nothing is serialised to JSON. The
 * signing half has no dependency beyond node:crypto so that the agent SDK can reuse it.
 *
 * Supported algorithms (RFC 9421 §3.3): ed25519, hmac-sha256, rsa-pss-sha512, rsa-v1_5-sha256,
 * ecdsa-p256-sha256, ecdsa-p384-sha384. Not supported: the `;tr` (trailer) component parameter, and
 * `Accept-Signature` negotiation.
 */
import {
  constants,
  createHmac,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { type ContentDigestAlgorithm, createContentDigest, verifyContentDigest } from './content-digest.js';
import {
  EMPTY_PARAMS,
  isInnerList,
  parseDictionary,
  parseItem,
  parseList,
  parseParameters,
  type SfDictionary,
  type SfMember,
  type SfParameters,
  StructuredFieldError,
  serializeByteSequence,
  serializeDictionary,
  serializeKey,
  serializeList,
  serializeMember,
  serializeParameters,
} from './structured-fields.js';

// ─── Messages ────────────────────────────────────────────────────────────────────────────────────────────

/** One header: a single field value, or one value per field line (in the order received). */
export type HeaderValue = string | readonly string[];
/** Headers keyed by lower-cased field name, e.g. Node's `IncomingMessage.headers`. */
export type HttpHeaders = Readonly<Record<string, HeaderValue | undefined>>;
/** The content bytes as received; a string is taken as its UTF-8 bytes. */
export type HttpBody = Uint8Array | string;

export interface HttpRequest {
  readonly method: string;
  /** The full target URI, e.g. `https://warden.example/v1/oversight/evaluate?dry=1`. */
  readonly url: string;
  readonly headers: HttpHeaders;
  readonly body?: HttpBody;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: HttpHeaders;
  readonly body?: HttpBody;
}

export type SignatureAlgorithm =
  | 'ed25519'
  | 'hmac-sha256'
  | 'rsa-pss-sha512'
  | 'rsa-v1_5-sha256'
  | 'ecdsa-p256-sha256'
  | 'ecdsa-p384-sha384';

/** How `;sf` re-serialises a field: the field's RFC 8941 top-level type. */
export type StructuredFieldType = 'item' | 'list' | 'dictionary';

// ─── Errors ──────────────────────────────────────────────────────────────────────────────────────────────

/** Stable verification outcomes; clients and dashboards may match on them. */
export type VerifyErrorCode =
  /** No Signature-Input or Signature field, or no Signature member for the chosen label. */
  | 'signature_missing'
  /** Signature-Input or Signature is malformed, too large, or names an unusable component or parameter. */
  | 'signature_input_invalid'
  /** The requested label is not in Signature-Input. */
  | 'signature_label_unknown'
  /** A component the verifier requires is not covered by the signature. */
  | 'component_missing'
  /** A covered component is not on the message, or cannot be derived from it. */
  | 'component_absent'
  /** `content-digest` is covered but the message has no usable Content-Digest field. */
  | 'content_digest_missing'
  /** The Content-Digest field does not match the body (or is malformed). */
  | 'content_digest_mismatch'
  /** `expires` has passed (beyond the allowed skew). */
  | 'signature_expired'
  /** `created` is older than the allowed age (beyond the allowed skew). */
  | 'signature_too_old'
  /** `created` is in the future beyond the allowed skew. */
  | 'signature_from_future'
  /** A nonce is required and the signature has none. */
  | 'nonce_missing'
  /** The nonce was seen before for this key. */
  | 'nonce_replayed'
  /** No `keyid`, or the key lookup knows no such key. */
  | 'key_unknown'
  /** The signature's `alg` differs from the key's, or the key does not fit its algorithm. */
  | 'alg_mismatch'
  /** The signature does not verify (or verification failed internally). */
  | 'signature_invalid';

/** Thrown by the signing side and by createSignatureBase; the verifier turns it into a failure result. */
export class HttpSignatureError extends Error {
  override readonly name = 'HttpSignatureError';
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
  ) {
    super(message);
  }
}

// ─── Component identifiers and signature parameters ─────────────────────────────────────────────────────

/** A covered component: a derived component (`@method`) or a field name, with its parameters. */
export interface ComponentIdentifier {
  readonly name: string;
  readonly params: SfParameters;
  /** Name and serialised parameters, e.g. `@query-param;name="Pet"`: the form requiredComponents uses. */
  readonly id: string;
  /** As it appears in Signature-Input and the signature base, e.g. `"@query-param";name="Pet"`. */
  readonly serialized: string;
}

/** The signature parameters RFC 9421 §2.3 defines (other parameters are kept in signatureParams only). */
export interface SignatureParameters {
  readonly created?: number;
  readonly expires?: number;
  readonly nonce?: string;
  readonly alg?: string;
  readonly keyid?: string;
  readonly tag?: string;
}

/** One member of Signature-Input. */
export interface SignatureInput {
  readonly label: string;
  readonly components: readonly ComponentIdentifier[];
  readonly params: SignatureParameters;
  /** The `@signature-params` value: the canonical serialisation of the member (inner list + parameters). */
  readonly signatureParams: string;
}

/** Bounds on Signature-Input and Signature parsing. */
export interface SignatureLimits {
  /** Longest Signature-Input or Signature value accepted, in characters (default 8192). */
  readonly maxHeaderBytes?: number;
  /** Most labels (dictionary members) accepted in either field (default 8). */
  readonly maxLabels?: number;
  /** Most covered components in one signature (default 32). */
  readonly maxComponents?: number;
}

const DEFAULT_MAX_HEADER_BYTES = 8192;
const DEFAULT_MAX_LABELS = 8;
const DEFAULT_MAX_COMPONENTS = 32;
const MAX_PARAM_STRING = 512;
const MAX_TARGET_URI = 8192;

const DERIVED_COMPONENTS: ReadonlySet<string> = new Set([
  '@method',
  '@target-uri',
  '@authority',
  '@scheme',
  '@request-target',
  '@path',
  '@query',
  '@query-param',
  '@status',
]);

/** Fields RFC 9421 `;sf` knows the type of without being told (RFC 9421, 9530, 9218, 9211, 9209). */
const KNOWN_STRUCTURED_FIELDS: ReadonlyMap<string, StructuredFieldType> = new Map([
  ['signature-input', 'dictionary'],
  ['signature', 'dictionary'],
  ['accept-signature', 'dictionary'],
  ['content-digest', 'dictionary'],
  ['repr-digest', 'dictionary'],
  ['want-content-digest', 'dictionary'],
  ['want-repr-digest', 'dictionary'],
  ['priority', 'dictionary'],
  ['cache-status', 'list'],
  ['proxy-status', 'list'],
]);

// Compiled once: the verify path must not build regular expressions per call.
const FIELD_NAME = /^[!#$%&'*+\-.^_`|~0-9a-z]+$/;
const METHOD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const NOT_BASE_SAFE = /[^\t\x20-\x7e]/;
const NOT_URI_SAFE = /[^\x21-\x5b\x5d-\x7e]/;
const OBS_FOLD = /[ \t]*\r?\n[ \t]+/g;

function invalidInput(message: string): HttpSignatureError {
  return new HttpSignatureError('signature_input_invalid', message);
}

function absent(message: string): HttpSignatureError {
  return new HttpSignatureError('component_absent', message);
}

/** Checks one identifier against RFC 9421 §2.1–2.2 before any message is looked at. */
function makeIdentifier(name: string, params: SfParameters): ComponentIdentifier {
  const derived = name.charCodeAt(0) === 0x40;
  if (derived) {
    if (!DERIVED_COMPONENTS.has(name)) throw invalidInput(`unsupported derived component ${name}`);
  } else if (!FIELD_NAME.test(name)) {
    throw invalidInput(`component name ${JSON.stringify(name)} is not a lower-case field name`);
  }
  if (params.size > 0) {
    for (const [key, value] of params) {
      switch (key) {
        case 'sf':
        case 'bs':
        case 'req':
          if (value !== true) throw invalidInput(`;${key} takes no value`);
          if (derived && key !== 'req') throw invalidInput(`;${key} applies to fields, not ${name}`);
          break;
        case 'key':
          if (typeof value !== 'string') throw invalidInput(';key must be a string');
          if (derived) throw invalidInput(`;key applies to fields, not ${name}`);
          break;
        case 'name':
          if (typeof value !== 'string') throw invalidInput(';name must be a string');
          if (name !== '@query-param') throw invalidInput(`;name applies to @query-param, not ${name}`);
          break;
        case 'tr':
          throw invalidInput('trailer fields (;tr) are not supported');
        default:
          throw invalidInput(`unknown component parameter ;${key} on ${name}`);
      }
    }
    if (params.has('bs') && (params.has('sf') || params.has('key'))) {
      throw invalidInput(';bs cannot be combined with ;sf or ;key');
    }
  }
  if (name === '@query-param' && !params.has('name')) throw invalidInput('@query-param needs ;name');
  const p = params.size === 0 ? '' : serializeParameters(params);
  // Names were checked above to need no escaping as strings.
  return { name, params, id: name + p, serialized: `"${name}"${p}` };
}

/**
 * Parses a component as written in options: a bare identifier with optional parameters (`@method`,
 * `content-type`, `@query-param;name="Pet"`, `example-dict;key="a"`), or the quoted Signature-Input form
 * (`"@query-param";name="Pet"`). Field names are lower-cased.
 *
 * @example
 *   parseComponentIdentifier('@query-param;name="Pet"').serialized; // '"@query-param";name="Pet"'
 */
export function parseComponentIdentifier(spec: string): ComponentIdentifier {
  try {
    if (spec.charCodeAt(0) === 0x22) {
      const item = parseItem(spec);
      if (typeof item.value !== 'string') throw invalidInput('component identifier must be a string');
      return makeIdentifier(item.value, item.params);
    }
    const semi = spec.indexOf(';');
    const name = (semi === -1 ? spec : spec.slice(0, semi)).trim().toLowerCase();
    return makeIdentifier(name, semi === -1 ? EMPTY_PARAMS : parseParameters(spec.slice(semi)));
  } catch (err) {
    if (err instanceof StructuredFieldError) throw invalidInput(`component ${spec}: ${err.message}`);
    throw err;
  }
}

function toIdentifier(c: string | ComponentIdentifier): ComponentIdentifier {
  return typeof c === 'string' ? parseComponentIdentifier(c) : makeIdentifier(c.name, c.params);
}

function paramString(params: SfParameters, key: string): string | undefined {
  const v = params.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidInput(`${key} must be a string`);
  if (v.length > MAX_PARAM_STRING) throw invalidInput(`${key} is longer than ${MAX_PARAM_STRING} characters`);
  return v;
}

function paramTime(params: SfParameters, key: string): number | undefined {
  const v = params.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || v < 0) throw invalidInput(`${key} must be a non-negative integer`);
  return v;
}

function toSignatureInput(label: string, member: SfMember): SignatureInput {
  if (!isInnerList(member)) throw invalidInput(`Signature-Input ${label} is not an inner list`);
  const components: ComponentIdentifier[] = [];
  let list = '(';
  for (const item of member.items) {
    if (typeof item.value !== 'string') throw invalidInput('component identifiers must be strings');
    const c = makeIdentifier(item.value, item.params);
    for (const seen of components) {
      if (seen.serialized === c.serialized) throw invalidInput(`component ${c.id} is covered twice`);
    }
    if (components.length > 0) list += ' ';
    list += c.serialized;
    components.push(c);
  }
  const p = member.params;
  const params: SignatureParameters = {
    created: paramTime(p, 'created'),
    expires: paramTime(p, 'expires'),
    nonce: paramString(p, 'nonce'),
    alg: paramString(p, 'alg'),
    keyid: paramString(p, 'keyid'),
    tag: paramString(p, 'tag'),
  };
  return { label, components, params, signatureParams: `${list})${serializeParameters(p)}` };
}

function combine(value: HeaderValue | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  return value.length === 0 ? undefined : value.join(', ');
}

function parseInputDictionary(header: string, limits: SignatureLimits | undefined): SfDictionary {
  const max = limits?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (header.length > max) throw invalidInput(`Signature-Input is longer than ${max} characters`);
  try {
    return parseDictionary(header, {
      maxMembers: limits?.maxLabels ?? DEFAULT_MAX_LABELS,
      maxInnerListItems: limits?.maxComponents ?? DEFAULT_MAX_COMPONENTS,
      maxParams: 16,
    });
  } catch (err) {
    if (err instanceof StructuredFieldError) throw invalidInput(`Signature-Input: ${err.message}`);
    throw err;
  }
}

function parseSignatureDictionary(header: string, limits: SignatureLimits | undefined): SfDictionary {
  const max = limits?.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  if (header.length > max) throw invalidInput(`Signature is longer than ${max} characters`);
  try {
    return parseDictionary(header, {
      maxMembers: limits?.maxLabels ?? DEFAULT_MAX_LABELS,
      maxInnerListItems: 0,
      maxParams: 16,
    });
  } catch (err) {
    if (err instanceof StructuredFieldError) throw invalidInput(`Signature: ${err.message}`);
    throw err;
  }
}

function signatureBytes(label: string, member: SfMember | undefined): Uint8Array {
  if (member === undefined)
    throw new HttpSignatureError('signature_missing', `Signature has no member ${label}`);
  if (isInnerList(member) || !(member.value instanceof Uint8Array)) {
    throw invalidInput(`Signature ${label} is not a byte sequence`);
  }
  return member.value;
}

/**
 * Parses a Signature-Input field value into its signatures by label. Throws HttpSignatureError
 * (`signature_input_invalid`) for malformed, oversized or unusable input.
 *
 * @example
 *   const inputs = parseSignatureInput('sig1=("@method" "@target-uri");created=1618884473;keyid="a1"');
 *   inputs.get('sig1')?.params.keyid; // 'a1'
 */
export function parseSignatureInput(
  header: string,
  limits?: SignatureLimits,
): ReadonlyMap<string, SignatureInput> {
  const out = new Map<string, SignatureInput>();
  for (const [label, member] of parseInputDictionary(header, limits)) {
    out.set(label, toSignatureInput(label, member));
  }
  return out;
}

/**
 * Parses a Signature field value into the signature bytes by label. Throws HttpSignatureError.
 *
 * @example
 *   parseSignatures('sig1=:AQID:').get('sig1'); // Uint8Array [1, 2, 3]
 */
export function parseSignatures(header: string, limits?: SignatureLimits): ReadonlyMap<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [label, member] of parseSignatureDictionary(header, limits)) {
    out.set(label, signatureBytes(label, member));
  }
  return out;
}

// ─── Component values and the signature base (RFC 9421 §2) ──────────────────────────────────────────────

interface TargetUri {
  readonly targetUri: string;
  readonly scheme: string;
  readonly authority: string;
  readonly path: string;
  /** `?` followed by the query, or `?` alone when there is none (RFC 9421 §2.2.7). */
  readonly query: string;
  readonly hasQuery: boolean;
}

/**
 * Splits an absolute URI by index. `new URL` would be slower and would also rewrite what was signed
 * (dot segments, percent-encoding), so the path and query are taken byte for byte as sent; only the
 * scheme and authority are normalised (lower case, default port dropped) as RFC 9421 §2.2.3 asks.
 */
function splitTargetUri(url: string): TargetUri {
  if (url.length > MAX_TARGET_URI) throw absent(`target URI is longer than ${MAX_TARGET_URI} characters`);
  if (NOT_URI_SAFE.test(url)) throw absent('target URI has a character outside visible ASCII');
  const colon = url.indexOf(':');
  const scheme = colon > 0 ? url.slice(0, colon).toLowerCase() : '';
  if (!SCHEME.test(scheme) || url.charCodeAt(colon + 1) !== 0x2f || url.charCodeAt(colon + 2) !== 0x2f) {
    throw absent('target URI is not an absolute URI with an authority');
  }
  const hash = url.indexOf('#');
  const end = hash === -1 ? url.length : hash;
  const authStart = colon + 3;
  let authEnd = authStart;
  for (; authEnd < end; authEnd++) {
    const c = url.charCodeAt(authEnd);
    if (c === 0x2f || c === 0x3f) break;
  }
  let authority = url.slice(authStart, authEnd).toLowerCase();
  if (authority === '' || authority.includes('@'))
    throw absent('target URI authority is empty or has userinfo');
  if (authority.endsWith(':')) authority = authority.slice(0, -1);
  else if (scheme === 'https' && authority.endsWith(':443')) authority = authority.slice(0, -4);
  else if (scheme === 'http' && authority.endsWith(':80')) authority = authority.slice(0, -3);
  const q = url.indexOf('?', authEnd);
  const hasQuery = q !== -1 && q < end;
  const path = url.slice(authEnd, hasQuery ? q : end) || '/';
  return {
    targetUri: hash === -1 ? url : url.slice(0, hash),
    scheme,
    authority,
    path,
    query: hasQuery ? url.slice(q, end) : '?',
    hasQuery,
  };
}

/**
 * RFC 9421 §2.2.8 re-encodes names and values with the WHATWG application/x-www-form-urlencoded
 * percent-encode set, spaces as %20; URLSearchParams implements that set exactly (it writes spaces as +).
 */
function encodeQueryComponent(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1).replaceAll('+', '%20');
}

function queryParamValue(uri: TargetUri, name: string): string {
  if (uri.hasQuery) {
    let found: string | undefined;
    let count = 0;
    for (const [k, v] of new URLSearchParams(uri.query.slice(1))) {
      if (encodeQueryComponent(k) === name) {
        found = v;
        count++;
      }
    }
    if (count > 1) throw absent(`query parameter ${name} occurs ${count} times and cannot be signed by name`);
    if (found !== undefined) return encodeQueryComponent(found);
  }
  throw absent(`query parameter ${name} is not in the target URI`);
}

/** RFC 9421 §2.1: strip surrounding whitespace and replace obsolete line folding with one space. */
function normalizeFieldLine(line: string): string {
  let start = 0;
  let end = line.length;
  while (start < end && isOws(line.charCodeAt(start))) start++;
  while (end > start && isOws(line.charCodeAt(end - 1))) end--;
  const v = start === 0 && end === line.length ? line : line.slice(start, end);
  return v.includes('\n') ? v.replace(OBS_FOLD, ' ') : v;
}

function isOws(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

interface BaseContext {
  /** The request: the signed message itself, or the request a signed response answers. */
  readonly request: HttpRequest | undefined;
  readonly response: HttpResponse | undefined;
  readonly structuredFields: Readonly<Record<string, StructuredFieldType>> | undefined;
  uri: TargetUri | undefined;
}

function structuredType(ctx: BaseContext, name: string): StructuredFieldType | undefined {
  const custom = ctx.structuredFields;
  if (custom !== undefined && Object.hasOwn(custom, name)) return custom[name];
  return KNOWN_STRUCTURED_FIELDS.get(name);
}

function derivedValue(c: ComponentIdentifier, ctx: BaseContext, onResponse: boolean): string {
  if (c.name === '@status') {
    if (!onResponse) throw invalidInput('@status applies to responses only');
    const status = ctx.response!.status;
    if (!Number.isInteger(status) || status < 100 || status > 999)
      throw absent('response status is not 3 digits');
    return String(status);
  }
  if (onResponse) throw invalidInput(`${c.name} in a response needs ;req`);
  const req = ctx.request!;
  if (c.name === '@method') {
    if (!METHOD.test(req.method)) throw absent('request method is not a token');
    return req.method;
  }
  if (ctx.uri === undefined) ctx.uri = splitTargetUri(req.url);
  const uri = ctx.uri;
  switch (c.name) {
    case '@target-uri':
      return uri.targetUri;
    case '@authority':
      return uri.authority;
    case '@scheme':
      return uri.scheme;
    case '@request-target':
      return uri.hasQuery ? uri.path + uri.query : uri.path;
    case '@path':
      return uri.path;
    case '@query':
      return uri.query;
    default:
      return queryParamValue(uri, c.params.get('name') as string);
  }
}

function fieldValue(c: ComponentIdentifier, headers: HttpHeaders, ctx: BaseContext): string {
  const raw = headers[c.name];
  // Type checks, not truthiness: inherited properties (`constructor`, `__proto__`) are not headers.
  let lines: readonly string[];
  if (typeof raw === 'string') lines = [raw];
  else if (Array.isArray(raw) && raw.length > 0) lines = raw;
  else throw absent(`header ${c.name} is not on the message`);

  if (c.params.has('bs')) {
    let out = '';
    for (const line of lines) {
      const v = normalizeFieldLine(line);
      for (let i = 0; i < v.length; i++) {
        if (v.charCodeAt(i) > 0xff) throw absent(`header ${c.name} is not a byte string`);
      }
      if (out !== '') out += ', ';
      out += serializeByteSequence(Buffer.from(v, 'latin1'));
    }
    return out;
  }
  let value = normalizeFieldLine(lines[0]!);
  for (let i = 1; i < lines.length; i++) value += `, ${normalizeFieldLine(lines[i]!)}`;

  const key = c.params.get('key');
  if (key === undefined && !c.params.has('sf')) {
    if (NOT_BASE_SAFE.test(value))
      throw absent(`header ${c.name} has characters a signature base cannot hold`);
    return value;
  }
  const type = key !== undefined ? 'dictionary' : structuredType(ctx, c.name);
  if (type === undefined) throw absent(`the structured type of header ${c.name} is not known`);
  try {
    if (type === 'dictionary') {
      const dict = parseDictionary(value);
      if (key === undefined) return serializeDictionary(dict);
      const member = dict.get(key as string);
      if (member === undefined) throw absent(`header ${c.name} has no member ${String(key)}`);
      return serializeMember(member);
    }
    return type === 'list' ? serializeList(parseList(value)) : serializeMember(parseItem(value));
  } catch (err) {
    if (err instanceof StructuredFieldError)
      throw absent(`header ${c.name} is not a valid ${type}: ${err.message}`);
    throw err;
  }
}

function componentValue(c: ComponentIdentifier, ctx: BaseContext): string {
  const fromRequest = c.params.has('req');
  if (fromRequest && ctx.response === undefined) throw invalidInput(`;req is only meaningful on a response`);
  const onResponse = ctx.response !== undefined && !fromRequest;
  if (!onResponse && ctx.request === undefined)
    throw absent(`${c.id} needs the request this response answers`);
  if (c.name.charCodeAt(0) === 0x40) return derivedValue(c, ctx, onResponse);
  return fieldValue(c, onResponse ? ctx.response!.headers : ctx.request!.headers, ctx);
}

function buildBase(
  ctx: BaseContext,
  components: readonly ComponentIdentifier[],
  signatureParams: string,
): string {
  let base = '';
  for (const c of components) base += `${c.serialized}: ${componentValue(c, ctx)}\n`;
  return `${base}"@signature-params": ${signatureParams}`;
}

function isResponse(message: HttpRequest | HttpResponse): message is HttpResponse {
  return typeof (message as HttpResponse).status === 'number';
}

/**
 * Builds the RFC 9421 §2.5 signature base for a message and one signature's covered components and
 * parameters. For a response, pass the request it answers as `request` when components use `;req`.
 * Throws HttpSignatureError (`component_absent`, `signature_input_invalid`).
 *
 * @example
 *   const input = parseSignatureInput(req.headers['signature-input'] as string).get('sig1')!;
 *   const base = createSignatureBase(req, input);
 */
export function createSignatureBase(
  message: HttpRequest | HttpResponse,
  input: Pick<SignatureInput, 'components' | 'signatureParams'>,
  options?: {
    readonly request?: HttpRequest;
    readonly structuredFields?: Readonly<Record<string, StructuredFieldType>>;
  },
): string {
  const response = isResponse(message) ? message : undefined;
  const ctx: BaseContext = {
    request: response === undefined ? (message as HttpRequest) : options?.request,
    response,
    structuredFields: options?.structuredFields,
    uri: undefined,
  };
  return buildBase(ctx, input.components, input.signatureParams);
}

// ─── Algorithms ─────────────────────────────────────────────────────────────────────────────────────────

interface AlgorithmImpl {
  sign(data: Buffer, key: KeyObject): Buffer;
  /** Public-key algorithms verify on libuv's thread pool (see `offThread`); HMAC, a few µs, in place. */
  verify(data: Buffer, key: KeyObject, signature: Uint8Array): boolean | Promise<boolean>;
  fits(key: KeyObject): boolean;
}

function isCurve(key: KeyObject, curve: string): boolean {
  return key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === curve;
}

function hmacSha256(data: Buffer, key: KeyObject): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/**
 * `crypto.verify` with a callback runs on libuv's thread pool: an Ed25519 verification (~110 µs
 * here, RSA and ECDSA more) then no longer holds the event loop, so the requests around a signed
 * one keep moving and the work spreads over the machine's cores.
 */
function offThread(
  algorithm: string | null,
  data: Buffer,
  key: Parameters<typeof cryptoVerify>[2],
  signature: Uint8Array,
): Promise<boolean> {
  return new Promise((resolve, reject) => {
    cryptoVerify(algorithm, data, key, signature, (err, ok) => (err ? reject(err) : resolve(ok)));
  });
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 } as const;
const PKCS1 = { padding: constants.RSA_PKCS1_PADDING } as const;
const P1363 = { dsaEncoding: 'ieee-p1363' } as const;

const ALGORITHMS: Readonly<Record<SignatureAlgorithm, AlgorithmImpl>> = {
  ed25519: {
    sign: (data, key) => cryptoSign(null, data, key),
    verify: (data, key, sig) => offThread(null, data, key, sig),
    fits: (key) => key.asymmetricKeyType === 'ed25519',
  },
  'hmac-sha256': {
    sign: hmacSha256,
    verify: (data, key, sig) => {
      const mac = hmacSha256(data, key);
      return sig.length === mac.length && timingSafeEqual(mac, sig);
    },
    fits: (key) => key.type === 'secret',
  },
  'rsa-pss-sha512': {
    sign: (data, key) => cryptoSign('sha512', data, { key, ...PSS }),
    verify: (data, key, sig) => offThread('sha512', data, { key, ...PSS }, sig),
    fits: (key) => key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss',
  },
  'rsa-v1_5-sha256': {
    sign: (data, key) => cryptoSign('sha256', data, { key, ...PKCS1 }),
    verify: (data, key, sig) => offThread('sha256', data, { key, ...PKCS1 }, sig),
    fits: (key) => key.asymmetricKeyType === 'rsa',
  },
  'ecdsa-p256-sha256': {
    sign: (data, key) => cryptoSign('sha256', data, { key, ...P1363 }),
    verify: (data, key, sig) => offThread('sha256', data, { key, ...P1363 }, sig),
    fits: (key) => isCurve(key, 'prime256v1'),
  },
  'ecdsa-p384-sha384': {
    sign: (data, key) => cryptoSign('sha384', data, { key, ...P1363 }),
    verify: (data, key, sig) => offThread('sha384', data, { key, ...P1363 }, sig),
    fits: (key) => isCurve(key, 'secp384r1'),
  },
};

function algorithmImpl(alg: string): AlgorithmImpl | undefined {
  return Object.hasOwn(ALGORITHMS, alg) ? ALGORITHMS[alg as SignatureAlgorithm] : undefined;
}

function inferAlgorithm(key: KeyObject): SignatureAlgorithm {
  if (key.type === 'secret') return 'hmac-sha256';
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'rsa-pss') return 'rsa-pss-sha512';
  if (isCurve(key, 'prime256v1')) return 'ecdsa-p256-sha256';
  if (isCurve(key, 'secp384r1')) return 'ecdsa-p384-sha384';
  throw new TypeError('cannot infer the signature algorithm from this key; pass alg');
}

// ─── Signing ────────────────────────────────────────────────────────────────────────────────────────────

export interface SignOptions {
  /** The `keyid` parameter; for agents, the agent id. */
  readonly keyId: string;
  /** Private key (or HMAC secret), parsed once by the caller. */
  readonly privateKey: KeyObject;
  /** Defaults from the key: Ed25519 → ed25519, secret → hmac-sha256, P-256/P-384 → ecdsa, rsa-pss key → rsa-pss-sha512. */
  readonly alg?: SignatureAlgorithm;
  /** Also send the `alg` parameter (default false: the verifier takes the algorithm from the key it holds). */
  readonly includeAlg?: boolean;
  /** Covered components, e.g. `['@method', '@target-uri', 'content-digest']` (that is the request default). */
  readonly components?: readonly (string | ComponentIdentifier)[];
  /** Unix seconds (default: now). */
  readonly created?: number;
  /** Unix seconds. */
  readonly expires?: number;
  readonly nonce?: string;
  readonly tag?: string;
  /** Signature label (default `sig1`). */
  readonly label?: string;
  /** Used when `content-digest` is covered and the message has none yet (default sha-256). */
  readonly contentDigestAlgorithm?: ContentDigestAlgorithm;
  /** Milliseconds since the epoch (default Date.now). */
  readonly now?: () => number;
  readonly structuredFields?: Readonly<Record<string, StructuredFieldType>>;
}

/**
 * The headers to set on the message. Signature-Input and Signature include any members the message
 * already carried; Content-Digest is present when this call created it.
 */
export interface SignatureHeaders {
  readonly 'signature-input': string;
  readonly signature: string;
  readonly 'content-digest'?: string;
}

function bodyLength(body: HttpBody | undefined): number {
  return body === undefined ? 0 : body.length;
}

function withExisting(existing: string | undefined, member: string): string {
  return existing === undefined || existing.trim() === '' ? member : `${existing}, ${member}`;
}

function signMessage(
  message: HttpRequest | HttpResponse,
  ctxBase: Omit<BaseContext, 'uri'>,
  defaults: readonly string[],
  options: SignOptions,
): SignatureHeaders {
  const label = serializeKey(options.label ?? 'sig1');
  const key = options.privateKey;
  const alg = options.alg ?? inferAlgorithm(key);
  const impl = algorithmImpl(alg);
  if (impl === undefined) throw new TypeError(`unsupported signature algorithm ${alg}`);
  if (!impl.fits(key) || key.type === 'public') throw new TypeError(`the key does not fit ${alg} signing`);

  const components = (options.components ?? defaults).map(toIdentifier);
  const seen = new Set<string>();
  for (const c of components) {
    if (seen.has(c.serialized)) throw invalidInput(`component ${c.id} is covered twice`);
    seen.add(c.serialized);
  }

  const params = new Map<string, string | number | boolean>();
  params.set('created', options.created ?? Math.floor((options.now?.() ?? Date.now()) / 1000));
  if (options.expires !== undefined) params.set('expires', options.expires);
  params.set('keyid', options.keyId);
  if (options.includeAlg) params.set('alg', alg);
  if (options.nonce !== undefined) params.set('nonce', options.nonce);
  if (options.tag !== undefined) params.set('tag', options.tag);
  const input = toSignatureInput(label, {
    items: components.map((c) => ({ value: c.name, params: c.params })),
    params,
  });

  let headers = message.headers;
  let contentDigest: string | undefined;
  if (seen.has('"content-digest"') && headers['content-digest'] === undefined && message.body !== undefined) {
    contentDigest = createContentDigest(message.body, options.contentDigestAlgorithm);
    headers = { ...headers, 'content-digest': contentDigest };
  }
  const existingInput = combine(message.headers['signature-input']);
  if (existingInput !== undefined && parseInputDictionary(existingInput, undefined).has(label)) {
    throw invalidInput(`the message already has a signature labelled ${label}`);
  }

  const ctx: BaseContext = {
    ...ctxBase,
    request: ctxBase.response === undefined ? { ...(message as HttpRequest), headers } : ctxBase.request,
    response: ctxBase.response === undefined ? undefined : { ...ctxBase.response, headers },
    uri: undefined,
  };
  const base = buildBase(ctx, input.components, input.signatureParams);
  const signature = impl.sign(Buffer.from(base, 'latin1'), key);
  const out = {
    'signature-input': withExisting(existingInput, `${label}=${input.signatureParams}`),
    signature: withExisting(
      combine(message.headers.signature),
      `${label}=${serializeByteSequence(signature)}`,
    ),
  };
  return contentDigest === undefined ? out : { ...out, 'content-digest': contentDigest };
}

/**
 * Signs a request (RFC 9421 §3.1) and returns the headers to set. When `content-digest` is covered and the
 * request has none, it is computed from the body and returned too.
 *
 * @example
 *   const headers = signRequest(
 *     { method: 'POST', url: 'https://warden.example/v1/oversight/evaluate', headers: { 'content-type': 'application/json' }, body },
 *     { keyId: agentId, privateKey },
 *   );
 *   // headers['content-digest'], headers['signature-input'], headers.signature
 */
export function signRequest(req: HttpRequest, options: SignOptions): SignatureHeaders {
  const defaults = bodyLength(req.body) > 0 ? REQUEST_DEFAULTS_WITH_BODY : REQUEST_DEFAULTS;
  return signMessage(
    req,
    { request: req, response: undefined, structuredFields: options.structuredFields },
    defaults,
    options,
  );
}

/**
 * Signs a response. Pass the request it answers as `request` to cover request components with `;req`.
 *
 * @example
 *   const headers = signResponse({ status: 200, headers, body }, { keyId: 'warden', privateKey, request: req });
 */
export function signResponse(
  res: HttpResponse,
  options: SignOptions & { readonly request?: HttpRequest },
): SignatureHeaders {
  const defaults = bodyLength(res.body) > 0 ? RESPONSE_DEFAULTS_WITH_BODY : RESPONSE_DEFAULTS;
  return signMessage(
    res,
    { request: options.request, response: res, structuredFields: options.structuredFields },
    defaults,
    options,
  );
}

/**
 * A random nonce for the `nonce` parameter: 128 bits, base64url.
 *
 * @example
 *   signRequest(req, { keyId, privateKey, nonce: createNonce() });
 */
export function createNonce(): string {
  return randomBytes(16).toString('base64url');
}

const REQUEST_DEFAULTS: readonly string[] = ['@method', '@target-uri'];
const REQUEST_DEFAULTS_WITH_BODY: readonly string[] = ['@method', '@target-uri', 'content-digest'];
const RESPONSE_DEFAULTS: readonly string[] = ['@status'];
const RESPONSE_DEFAULTS_WITH_BODY: readonly string[] = ['@status', 'content-digest'];

// ─── Verification ───────────────────────────────────────────────────────────────────────────────────────

/** A verification key, parsed ahead of time (never parse a public key on the request path). */
export interface VerificationKey {
  readonly key: KeyObject;
  readonly alg: SignatureAlgorithm;
}

interface VerifyOptionsBase {
  /** Finds the key for a `keyid` (for agents: the agent id); undefined when unknown. */
  readonly keyFor: (keyId: string) => VerificationKey | undefined | Promise<VerificationKey | undefined>;
  /** Components the signature must cover (default `@method`, `@target-uri`; `@status` for responses). */
  readonly requiredComponents?: readonly string[];
  /** Require `content-digest` to be covered when the body is not empty (default true). */
  readonly requireContentDigest?: boolean;
  /** Oldest `created` accepted, in seconds before now (default 300). */
  readonly maxAgeSeconds?: number;
  /** Tolerance for clock differences, in seconds (default 30). */
  readonly clockSkewSeconds?: number;
  /** Milliseconds since the epoch (default Date.now); pass `() => clock.now()`. */
  readonly now?: () => number;
  /** The signature to verify (default: the first in Signature-Input). */
  readonly label?: string;
  readonly limits?: SignatureLimits;
  readonly structuredFields?: Readonly<Record<string, StructuredFieldType>>;
}

/** Answers true when the nonce is new for this key (and records it for ttlSeconds), false on a replay. */
export type NonceCheck = (keyId: string, nonce: string, ttlSeconds: number) => Promise<boolean> | boolean;

export type VerifyOptions = VerifyOptionsBase &
  (
    | { readonly requireNonce?: false; readonly checkNonce?: NonceCheck }
    | { readonly requireNonce: true; readonly checkNonce: NonceCheck }
  );

export interface VerifySuccess {
  readonly ok: true;
  readonly keyId: string;
  readonly label: string;
  readonly alg: SignatureAlgorithm;
  /** Covered component ids, e.g. `['@method', '@target-uri', 'content-digest']`. */
  readonly components: readonly string[];
  readonly created: number;
  readonly expires: number | undefined;
  readonly nonce: string | undefined;
  readonly tag: string | undefined;
}

export interface VerifyFailure {
  readonly ok: false;
  readonly code: VerifyErrorCode;
  /** Safe to log; says what was wrong. */
  readonly detail: string;
  /** The unexpected error behind an internal failure, for logs only. */
  readonly cause?: unknown;
}

export type VerifyResult = VerifySuccess | VerifyFailure;

function fail(code: VerifyErrorCode, detail: string): never {
  throw new HttpSignatureError(code, detail);
}

function normalizeRequired(spec: string): string {
  // The common specs ('@method', 'content-digest') are already ids; only parameterised ones need parsing.
  return spec.includes(';') || spec.charCodeAt(0) === 0x22
    ? parseComponentIdentifier(spec).id
    : spec.toLowerCase();
}

async function verifyMessage(
  message: HttpRequest | HttpResponse,
  ctx: BaseContext,
  defaultRequired: readonly string[],
  options: VerifyOptions,
): Promise<VerifyResult> {
  try {
    const inputHeader = combine(message.headers['signature-input']);
    const signatureHeader = combine(message.headers.signature);
    if (inputHeader === undefined || signatureHeader === undefined) {
      fail('signature_missing', 'the message has no Signature-Input and Signature fields');
    }
    const limits = options.limits;
    const inputs = parseInputDictionary(inputHeader, limits);
    let label = options.label;
    if (label === undefined) {
      label = inputs.keys().next().value;
      if (label === undefined) fail('signature_missing', 'Signature-Input has no signatures');
    }
    const member = inputs.get(label);
    if (member === undefined)
      fail('signature_label_unknown', `Signature-Input has no signature labelled ${label}`);
    const signature = signatureBytes(label, parseSignatureDictionary(signatureHeader, limits).get(label));
    const input = toSignatureInput(label, member);
    const { created, expires, nonce, keyid } = input.params;
    if (keyid === undefined) fail('key_unknown', 'the signature has no keyid');

    const covered = input.components;
    const required = options.requiredComponents ?? defaultRequired;
    for (const spec of required) {
      const id = normalizeRequired(spec);
      if (!covered.some((c) => c.id === id)) fail('component_missing', `the signature must cover ${id}`);
    }
    const digestCovered = covered.some((c) => c.name === 'content-digest' && !c.params.has('req'));
    if (options.requireContentDigest !== false && bodyLength(message.body) > 0 && !digestCovered) {
      fail('component_missing', 'the signature must cover content-digest when there is a body');
    }

    if (created === undefined) fail('signature_input_invalid', 'the signature has no created time');
    const now = Math.floor((options.now?.() ?? Date.now()) / 1000);
    const skew = options.clockSkewSeconds ?? 30;
    const maxAge = options.maxAgeSeconds ?? 300;
    if (created > now + skew) fail('signature_from_future', `created is ${created - now} s in the future`);
    if (expires !== undefined && now > expires + skew)
      fail('signature_expired', `expired ${now - expires} s ago`);
    if (now > created + maxAge + skew)
      fail('signature_too_old', `created ${now - created} s ago, limit ${maxAge} s`);
    if (nonce === undefined && options.requireNonce) fail('nonce_missing', 'the signature has no nonce');

    const entry = await options.keyFor(keyid);
    if (entry === undefined) fail('key_unknown', `no key ${keyid}`);
    const impl = algorithmImpl(entry.alg);
    if (input.params.alg !== undefined && input.params.alg !== entry.alg) {
      fail('alg_mismatch', `signature alg ${input.params.alg} does not match the key's ${entry.alg}`);
    }
    if (impl === undefined || !impl.fits(entry.key))
      fail('alg_mismatch', `the key does not fit ${entry.alg}`);

    // Cheap checks before the signature: the digest costs microseconds, the signature ~100.
    if (digestCovered) {
      const digest = verifyContentDigest(message.headers['content-digest'], message.body);
      if (!digest.ok) {
        const missing =
          digest.code === 'content_digest_missing' || digest.code === 'content_digest_unsupported';
        fail(missing ? 'content_digest_missing' : 'content_digest_mismatch', digest.detail);
      }
    }
    const base = buildBase(ctx, covered, input.signatureParams);
    if (!(await impl.verify(Buffer.from(base, 'latin1'), entry.key, signature))) {
      fail('signature_invalid', 'the signature does not verify');
    }

    // Only after the signature verifies: otherwise anyone could burn an agent's nonces.
    if (nonce !== undefined && options.checkNonce !== undefined) {
      let until = created + maxAge;
      if (expires !== undefined && expires < until) until = expires;
      const ttl = Math.max(1, until + skew - now);
      if (!(await options.checkNonce(keyid, nonce, ttl)))
        fail(
          'nonce_replayed',
          'the nonce was already used, or is older than this node can still check: sign again',
        );
    } else if (options.requireNonce) {
      throw new TypeError('requireNonce needs checkNonce');
    }

    return {
      ok: true,
      keyId: keyid,
      label,
      alg: entry.alg,
      components: covered.map((c) => c.id),
      created,
      expires,
      nonce,
      tag: input.params.tag,
    };
  } catch (err) {
    if (err instanceof HttpSignatureError) return { ok: false, code: err.code, detail: err.message };
    return {
      ok: false,
      code: 'signature_invalid',
      detail: 'verification failed on an internal error',
      cause: err,
    };
  }
}

/**
 * Verifies a request's HTTP message signature (RFC 9421 §3.2) with Warden's policy: required components,
 * Content-Digest against the body, time window, nonce replay, key and algorithm. Never throws.
 *
 * @example
 *   const result = await verifyRequest(
 *     { method: req.method, url: `https://${req.hostname}${req.url}`, headers: req.headers, body: rawBody },
 *     { keyFor: (id) => agentKeys.get(id), requireNonce: true, checkNonce: (k, n, ttl) => nonces.add(k, n, ttl) },
 *   );
 *   if (!result.ok) return reply.code(401).send({ code: result.code, detail: result.detail });
 */
export function verifyRequest(req: HttpRequest, options: VerifyOptions): Promise<VerifyResult> {
  const ctx: BaseContext = {
    request: req,
    response: undefined,
    structuredFields: options.structuredFields,
    uri: undefined,
  };
  return verifyMessage(req, ctx, REQUEST_DEFAULTS, options);
}

/**
 * Verifies a response's signature. Pass the request it answers as `request` when `;req` components are
 * covered. Same options and results as verifyRequest; the default required component is `@status`.
 *
 * @example
 *   const result = await verifyResponse({ status: 200, headers, body }, { keyFor, request: sentRequest });
 */
export function verifyResponse(
  res: HttpResponse,
  options: VerifyOptions & { readonly request?: HttpRequest },
): Promise<VerifyResult> {
  const ctx: BaseContext = {
    request: options.request,
    response: res,
    structuredFields: options.structuredFields,
    uri: undefined,
  };
  return verifyMessage(res, ctx, RESPONSE_DEFAULTS, options);
}
