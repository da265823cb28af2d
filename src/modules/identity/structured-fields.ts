/**
 * The part of RFC 8941 (Structured Field Values for HTTP) that HTTP Message Signatures (RFC 9421) and
 * Digest Fields (RFC 9530) need: parsing and serialising Dictionaries, Lists, Inner Lists, Items and
 * Parameters with the bare item types Integer, Decimal, String, Token, Byte Sequence and Boolean.
 *
 * Hand-written rather than taken from a library because it sits on the hot path of every agent request
 * (Signature-Input, Signature, Content-Digest) and must stay dependency-free for the agent SDK. It scans
 * character codes with lookup tables, compiles no regular expression per call and bounds every loop by the
 * caller's limits. Every parse is strict: input that RFC 8941 says must fail, fails.
 */

/** An RFC 8941 Token (kept apart from String because the two serialise differently). */
export class SfToken {
  constructor(readonly value: string) {}
}

/** An RFC 8941 Decimal (kept apart from Integer because `1.0` and `1` serialise differently). */
export class SfDecimal {
  constructor(readonly value: number) {}
}

/** Integer → number, Decimal → SfDecimal, String → string, Token → SfToken, Byte Sequence → Uint8Array. */
export type SfBareItem = number | SfDecimal | string | SfToken | Uint8Array | boolean;
export type SfParameters = ReadonlyMap<string, SfBareItem>;

export interface SfItem {
  readonly value: SfBareItem;
  readonly params: SfParameters;
}

export interface SfInnerList {
  readonly items: readonly SfItem[];
  readonly params: SfParameters;
}

export type SfMember = SfItem | SfInnerList;
export type SfDictionary = ReadonlyMap<string, SfMember>;
export type SfList = readonly SfMember[];

/** Upper bounds on what one parse may produce; input length is bounded by the caller. */
export interface SfLimits {
  /** Members of a Dictionary or List (default 64). */
  readonly maxMembers?: number;
  /** Items in one Inner List (default 64). */
  readonly maxInnerListItems?: number;
  /** Parameters on one Item or Inner List (default 16). */
  readonly maxParams?: number;
}

/** Thrown for any input that RFC 8941 parsing must reject, or a value that cannot be serialised. */
export class StructuredFieldError extends Error {
  override readonly name = 'StructuredFieldError';
}

/** The shared empty parameter map: most items carry no parameters, so do not allocate one each time. */
export const EMPTY_PARAMS: SfParameters = new Map();

const MAX_INTEGER = 999_999_999_999_999;
const DEFAULT_MAX_MEMBERS = 64;
const DEFAULT_MAX_INNER_LIST_ITEMS = 64;
const DEFAULT_MAX_PARAMS = 16;

// Character classes as lookup tables (index = char code), built once at module load.
const TCHAR = new Uint8Array(128);
const KEY_CHAR = new Uint8Array(128);
const BASE64_CHAR = new Uint8Array(128);
{
  const set = (table: Uint8Array, chars: string) => {
    for (let i = 0; i < chars.length; i++) table[chars.charCodeAt(i)] = 1;
  };
  const lower = 'abcdefghijklmnopqrstuvwxyz';
  const upper = lower.toUpperCase();
  const digits = '0123456789';
  set(TCHAR, `${lower}${upper}${digits}!#$%&'*+-.^_\`|~`);
  set(KEY_CHAR, `${lower}${digits}_-.*`);
  set(BASE64_CHAR, `${lower}${upper}${digits}+/=`);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isLcAlpha(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

/**
 * RFC 8941 §4.2.7 says "base64-decoding" fails when decoding fails, and Node's decoder never fails, so the
 * shape is checked here: padding only at the end, at most two, and only where RFC 4648 puts it. Missing
 * padding and non-zero pad bits are accepted, as §4.2.7 asks of recipients.
 */
function isWellFormedBase64(s: string): boolean {
  const n = s.length;
  let data = n;
  while (data > 0 && s.charCodeAt(data - 1) === 0x3d) data--;
  const pad = n - data;
  for (let i = 0; i < data; i++) if (s.charCodeAt(i) === 0x3d) return false;
  if (pad > 2 || data % 4 === 1) return false;
  return pad === 0 || n % 4 === 0;
}

class Parser {
  i = 0;
  constructor(
    readonly s: string,
    readonly maxMembers: number,
    readonly maxInner: number,
    readonly maxParams: number,
  ) {}

  fail(what: string): never {
    throw new StructuredFieldError(`${what} at offset ${this.i}`);
  }

  atEnd(): boolean {
    return this.i >= this.s.length;
  }

  skipSP(): void {
    while (this.s.charCodeAt(this.i) === 0x20) this.i++;
  }

  skipOWS(): void {
    let c = this.s.charCodeAt(this.i);
    while (c === 0x20 || c === 0x09) c = this.s.charCodeAt(++this.i);
  }

  expectEnd(): void {
    this.skipSP();
    if (!this.atEnd()) this.fail('unexpected character');
  }

  dictionary(): Map<string, SfMember> {
    const dict = new Map<string, SfMember>();
    let count = 0;
    while (!this.atEnd()) {
      const key = this.key();
      let member: SfMember;
      if (this.s.charCodeAt(this.i) === 0x3d) {
        this.i++;
        member = this.member();
      } else {
        member = { value: true, params: this.params() };
      }
      if (++count > this.maxMembers) this.fail(`more than ${this.maxMembers} members`);
      dict.set(key, member);
      if (this.separator()) return dict;
    }
    return dict;
  }

  list(): SfMember[] {
    const list: SfMember[] = [];
    while (!this.atEnd()) {
      list.push(this.member());
      if (list.length > this.maxMembers) this.fail(`more than ${this.maxMembers} members`);
      if (this.separator()) return list;
    }
    return list;
  }

  /** Consumes `OWS "," OWS` between members; true when the input ended instead. */
  separator(): boolean {
    this.skipOWS();
    if (this.atEnd()) return true;
    if (this.s.charCodeAt(this.i) !== 0x2c) this.fail('expected ","');
    this.i++;
    this.skipOWS();
    if (this.atEnd()) this.fail('trailing ","');
    return false;
  }

  member(): SfMember {
    return this.s.charCodeAt(this.i) === 0x28 ? this.innerList() : this.item();
  }

  innerList(): SfInnerList {
    this.i++;
    const items: SfItem[] = [];
    for (;;) {
      this.skipSP();
      if (this.atEnd()) this.fail('unterminated inner list');
      if (this.s.charCodeAt(this.i) === 0x29) {
        this.i++;
        return { items, params: this.params() };
      }
      items.push(this.item());
      if (items.length > this.maxInner) this.fail(`more than ${this.maxInner} inner list items`);
      const c = this.s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x29) this.fail('expected " " or ")" in inner list');
    }
  }

  item(): SfItem {
    const value = this.bareItem();
    return { value, params: this.params() };
  }

  params(): SfParameters {
    if (this.s.charCodeAt(this.i) !== 0x3b) return EMPTY_PARAMS;
    const params = new Map<string, SfBareItem>();
    let count = 0;
    while (this.s.charCodeAt(this.i) === 0x3b) {
      this.i++;
      this.skipSP();
      const key = this.key();
      let value: SfBareItem = true;
      if (this.s.charCodeAt(this.i) === 0x3d) {
        this.i++;
        value = this.bareItem();
      }
      if (++count > this.maxParams) this.fail(`more than ${this.maxParams} parameters`);
      params.set(key, value);
    }
    return params;
  }

  key(): string {
    const start = this.i;
    const c = this.s.charCodeAt(start);
    if (!isLcAlpha(c) && c !== 0x2a) this.fail('expected a key');
    let i = start + 1;
    for (let k = this.s.charCodeAt(i); k < 128 && KEY_CHAR[k] === 1; k = this.s.charCodeAt(++i)) {}
    this.i = i;
    return this.s.slice(start, i);
  }

  bareItem(): SfBareItem {
    const c = this.s.charCodeAt(this.i);
    if (c === 0x2d || isDigit(c)) return this.number();
    if (c === 0x22) return this.string();
    if (c === 0x3a) return this.byteSequence();
    if (c === 0x3f) return this.boolean();
    if (isAlpha(c) || c === 0x2a) return this.token();
    return this.fail('expected an item');
  }

  number(): number | SfDecimal {
    let sign = 1;
    if (this.s.charCodeAt(this.i) === 0x2d) {
      sign = -1;
      this.i++;
    }
    const start = this.i;
    if (!isDigit(this.s.charCodeAt(start))) this.fail('expected a digit');
    let dot = -1;
    for (;;) {
      const c = this.s.charCodeAt(this.i);
      if (isDigit(c)) {
        this.i++;
      } else if (dot === -1 && c === 0x2e) {
        if (this.i - start > 12) this.fail('decimal with more than 12 integer digits');
        dot = this.i;
        this.i++;
      } else {
        break;
      }
      const len = this.i - start;
      if (dot === -1 ? len > 15 : len > 16) this.fail('number too long');
    }
    const text = this.s.slice(start, this.i);
    if (dot === -1) return sign * Number(text);
    const fraction = this.i - dot - 1;
    if (fraction === 0 || fraction > 3) this.fail('decimal needs 1 to 3 fractional digits');
    return new SfDecimal(sign * Number(text));
  }

  string(): string {
    const s = this.s;
    let i = this.i + 1;
    let start = i;
    // Only strings with escapes pay for concatenation; the usual case is one slice.
    let out: string | undefined;
    for (;;) {
      if (i >= s.length) {
        this.i = i;
        this.fail('unterminated string');
      }
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        this.i = i + 1;
        const tail = s.slice(start, i);
        return out === undefined ? tail : out + tail;
      }
      if (c === 0x5c) {
        const next = s.charCodeAt(i + 1);
        if (next !== 0x22 && next !== 0x5c) {
          this.i = i;
          this.fail('invalid escape in string');
        }
        out = (out ?? '') + s.slice(start, i) + s[i + 1];
        i += 2;
        start = i;
        continue;
      }
      if (c < 0x20 || c > 0x7e) {
        this.i = i;
        this.fail('invalid character in string');
      }
      i++;
    }
  }

  token(): SfToken {
    const start = this.i;
    let i = start + 1;
    for (let c = this.s.charCodeAt(i); c < 128 && (TCHAR[c] === 1 || c === 0x3a || c === 0x2f); ) {
      c = this.s.charCodeAt(++i);
    }
    this.i = i;
    return new SfToken(this.s.slice(start, i));
  }

  byteSequence(): Uint8Array {
    const start = this.i + 1;
    const end = this.s.indexOf(':', start);
    if (end === -1) this.fail('unterminated byte sequence');
    for (let i = start; i < end; i++) {
      const c = this.s.charCodeAt(i);
      if (c >= 128 || BASE64_CHAR[c] !== 1) {
        this.i = i;
        this.fail('invalid character in byte sequence');
      }
    }
    const text = this.s.slice(start, end);
    if (!isWellFormedBase64(text)) this.fail('malformed base64 in byte sequence');
    this.i = end + 1;
    return Buffer.from(text, 'base64');
  }

  boolean(): boolean {
    const c = this.s.charCodeAt(this.i + 1);
    if (c !== 0x30 && c !== 0x31) this.fail('expected ?0 or ?1');
    this.i += 2;
    return c === 0x31;
  }
}

function parser(input: string, limits: SfLimits | undefined): Parser {
  const p = new Parser(
    input,
    limits?.maxMembers ?? DEFAULT_MAX_MEMBERS,
    limits?.maxInnerListItems ?? DEFAULT_MAX_INNER_LIST_ITEMS,
    limits?.maxParams ?? DEFAULT_MAX_PARAMS,
  );
  p.skipSP();
  return p;
}

/**
 * Parses an RFC 8941 Dictionary field value. Throws StructuredFieldError on malformed input.
 *
 * @example
 *   const d = parseDictionary('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:');
 *   d.get('sha-256'); // { value: Uint8Array(32), params: Map(0) }
 */
export function parseDictionary(input: string, limits?: SfLimits): SfDictionary {
  const p = parser(input, limits);
  const dict = p.dictionary();
  p.expectEnd();
  return dict;
}

/**
 * Parses an RFC 8941 List field value. Throws StructuredFieldError on malformed input.
 *
 * @example
 *   parseList('a, (b c);x=1').length; // 2
 */
export function parseList(input: string, limits?: SfLimits): SfList {
  const p = parser(input, limits);
  const list = p.list();
  p.expectEnd();
  return list;
}

/**
 * Parses an RFC 8941 Item field value. Throws StructuredFieldError on malformed input.
 *
 * @example
 *   parseItem('"@query-param";name="Pet"').params.get('name'); // 'Pet'
 */
export function parseItem(input: string, limits?: SfLimits): SfItem {
  const p = parser(input, limits);
  const item = p.item();
  p.expectEnd();
  return item;
}

/**
 * Parses a bare parameter list such as `;name="Pet";req` (what follows an item). The empty string gives
 * no parameters.
 *
 * @example
 *   parseParameters(';key="a";sf').get('key'); // 'a'
 */
export function parseParameters(input: string, limits?: SfLimits): SfParameters {
  const p = parser(input, limits);
  const params = p.params();
  p.expectEnd();
  return params;
}

/**
 * True when a Dictionary or List member is an Inner List rather than an Item.
 *
 * @example
 *   isInnerList(parseDictionary('sig1=("@method");created=1').get('sig1')!); // true
 */
export function isInnerList(member: SfMember): member is SfInnerList {
  return (member as SfInnerList).items !== undefined;
}

/**
 * Serialises a String, escaping `"` and `\`. Throws for characters outside printable ASCII.
 *
 * @example
 *   serializeString('a"b'); // '"a\\"b"'
 */
export function serializeString(value: string): string {
  let escapes = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c > 0x7e)
      throw new StructuredFieldError('string contains a character outside printable ASCII');
    if (c === 0x22 || c === 0x5c) escapes = true;
  }
  if (!escapes) return `"${value}"`;
  let out = '"';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    out += ch === '"' || ch === '\\' ? `\\${ch}` : ch;
  }
  return `${out}"`;
}

/**
 * Serialises a Dictionary or Parameter key. Throws if it is not a valid key.
 *
 * @example
 *   serializeKey('sig1'); // 'sig1'
 */
export function serializeKey(key: string): string {
  const c = key.charCodeAt(0);
  if (!isLcAlpha(c) && c !== 0x2a) throw new StructuredFieldError(`invalid key ${JSON.stringify(key)}`);
  for (let i = 1; i < key.length; i++) {
    const k = key.charCodeAt(i);
    if (k >= 128 || KEY_CHAR[k] !== 1) throw new StructuredFieldError(`invalid key ${JSON.stringify(key)}`);
  }
  return key;
}

function serializeToken(token: string): string {
  const c = token.charCodeAt(0);
  if (!isAlpha(c) && c !== 0x2a) throw new StructuredFieldError('invalid token');
  for (let i = 1; i < token.length; i++) {
    const k = token.charCodeAt(i);
    if (k >= 128 || (TCHAR[k] !== 1 && k !== 0x3a && k !== 0x2f))
      throw new StructuredFieldError('invalid token');
  }
  return token;
}

function serializeDecimal(value: number): string {
  if (!Number.isFinite(value)) throw new StructuredFieldError('decimal must be finite');
  // Round half to even at three fractional digits, as RFC 8941 §4.1.5 requires.
  const scaled = Math.abs(value) * 1000;
  const floor = Math.floor(scaled);
  const diff = scaled - floor;
  const thousandths = diff > 0.5 || (diff === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
  const integer = Math.floor(thousandths / 1000);
  if (integer > 999_999_999_999) throw new StructuredFieldError('decimal has more than 12 integer digits');
  let fraction = String(thousandths % 1000).padStart(3, '0');
  while (fraction.length > 1 && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${value < 0 && thousandths !== 0 ? '-' : ''}${integer}.${fraction}`;
}

/**
 * Serialises a Byte Sequence as `:base64:` with padding.
 *
 * @example
 *   serializeByteSequence(new Uint8Array([1, 2, 3])); // ':AQID:'
 */
export function serializeByteSequence(bytes: Uint8Array): string {
  return `:${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64')}:`;
}

/**
 * Serialises one bare item according to its type.
 *
 * @example
 *   serializeBareItem(1618884473); // '1618884473'
 */
export function serializeBareItem(value: SfBareItem): string {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value > MAX_INTEGER || value < -MAX_INTEGER) {
      throw new StructuredFieldError(`integer out of range: ${value}`);
    }
    return String(value);
  }
  if (typeof value === 'string') return serializeString(value);
  if (typeof value === 'boolean') return value ? '?1' : '?0';
  if (value instanceof SfToken) return serializeToken(value.value);
  if (value instanceof SfDecimal) return serializeDecimal(value.value);
  if (value instanceof Uint8Array) return serializeByteSequence(value);
  throw new StructuredFieldError('not a structured field value');
}

/**
 * Serialises parameters (`;key=value`, with `;key` alone for true).
 *
 * @example
 *   serializeParameters(new Map([['created', 1618884473], ['keyid', 'k']])); // ';created=1618884473;keyid="k"'
 */
export function serializeParameters(params: SfParameters): string {
  if (params.size === 0) return '';
  let out = '';
  for (const [key, value] of params) {
    out += `;${serializeKey(key)}`;
    if (value !== true) out += `=${serializeBareItem(value)}`;
  }
  return out;
}

/**
 * Serialises an Item or Inner List with its parameters.
 *
 * @example
 *   serializeMember({ items: [{ value: '@method', params: EMPTY_PARAMS }], params: EMPTY_PARAMS }); // '("@method")'
 */
export function serializeMember(member: SfMember): string {
  if (isInnerList(member)) {
    let out = '(';
    for (let i = 0; i < member.items.length; i++) {
      const item = member.items[i]!;
      if (i > 0) out += ' ';
      out += serializeBareItem(item.value) + serializeParameters(item.params);
    }
    return `${out})${serializeParameters(member.params)}`;
  }
  return serializeBareItem(member.value) + serializeParameters(member.params);
}

/**
 * Serialises a Dictionary (members joined by `, `; a member whose value is true shows only its parameters).
 *
 * @example
 *   serializeDictionary(parseDictionary('a=1,b')); // 'a=1, b'
 */
export function serializeDictionary(dict: SfDictionary): string {
  let out = '';
  for (const [key, member] of dict) {
    if (out !== '') out += ', ';
    out += serializeKey(key);
    if (!isInnerList(member) && member.value === true) out += serializeParameters(member.params);
    else out += `=${serializeMember(member)}`;
  }
  return out;
}

/**
 * Serialises a List (members joined by `, `).
 *
 * @example
 *   serializeList(parseList('a,  b')); // 'a, b'
 */
export function serializeList(list: SfList): string {
  let out = '';
  for (let i = 0; i < list.length; i++) {
    if (i > 0) out += ', ';
    out += serializeMember(list[i]!);
  }
  return out;
}
