/**
 * Macaroons in the libmacaroons v2 binary format (`doc/format.txt` in rescrv/libmacaroons), the wire form
 * of Warden's delegation tokens, so that any macaroon library (libmacaroons, go-macaroon, pymacaroons, the
 * npm `macaroon` package) can read what Warden mints and Warden can read what they make.
 *
 * Layout: `0x02`, `[LOCATION] IDENTIFIER EOS`, then `{ [LOCATION] IDENTIFIER [VID] EOS }*` (one section per
 * caveat), then `EOS SIGNATURE`. Each field is `varint type, varint length, bytes`; EOS is the single byte 0.
 *
 * Signature chain (the macaroon property: anyone holding a macaroon can append a caveat, nobody can remove
 * one without the root key):
 *   sig0     = HMAC-SHA256(HMAC-SHA256("macaroons-key-generator", rootKey), identifier)
 *   sig(i+1) = HMAC-SHA256(sig(i), caveatId)                                        first-party caveat
 *   sig(i+1) = HMAC-SHA256(sig(i), HMAC-SHA256(sig(i), vid) ‖ HMAC-SHA256(sig(i), caveatId))  third-party
 *
 * This file depends on node:crypto only (and the Buffer and TextDecoder globals): the agent SDK reuses it.
 *
 * The decoder is strict, so that every accepted macaroon re-encodes to the same bytes: field types must be
 * the single-byte values above, lengths must be minimal varints, the signature must be 32 bytes, locations
 * must be UTF-8 and nothing may follow the signature. Input is bounded (`MAX_MACAROON_BYTES`,
 * `MAX_CAVEATS`); anything wrong surfaces as a `MacaroonError`, never as another kind of exception.
 */
import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';

/** Largest binary macaroon accepted or produced (16 KiB). */
export const MAX_MACAROON_BYTES = 16 * 1024;
/** Longest text form accepted: base64 of MAX_MACAROON_BYTES, with padding. */
export const MAX_MACAROON_TEXT_LENGTH = Math.ceil(MAX_MACAROON_BYTES / 3) * 4;
/** Most caveats accepted or produced in one macaroon. */
export const MAX_CAVEATS = 64;

const VERSION_2 = 2;
const FIELD_EOS = 0;
const FIELD_LOCATION = 1;
const FIELD_IDENTIFIER = 2;
const FIELD_VID = 4;
const FIELD_SIGNATURE = 6;
const SIGNATURE_LENGTH = 32;
const KEY_GENERATOR = Buffer.from('macaroons-key-generator', 'latin1');
const ZERO_KEY = Buffer.alloc(32);
// Fatal, so a location that is not UTF-8 is refused rather than silently altered (which would break the
// byte-for-byte round trip).
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export type MacaroonErrorCode = 'token_malformed' | 'token_too_large';

/** Why a macaroon could not be decoded or built. `code` is stable; `message` says what was wrong. */
export class MacaroonError extends Error {
  override readonly name = 'MacaroonError';
  constructor(
    readonly code: MacaroonErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface MacaroonCaveat {
  /** The caveat id: a condition for first-party caveats, an opaque id for the third party otherwise. */
  readonly identifier: Buffer;
  /** Where a third-party caveat is discharged; absent for (most) first-party caveats. */
  readonly location: string | undefined;
  /** The verification id; present exactly for third-party caveats. */
  readonly vid: Buffer | undefined;
}

export interface Macaroon {
  readonly location: string | undefined;
  readonly identifier: Buffer;
  readonly caveats: readonly MacaroonCaveat[];
  readonly signature: Buffer;
}

/**
 * Decodes a macaroon's text form: base64url or standard base64, with or without `=` padding.
 * Characters outside those alphabets (whitespace included) are refused rather than skipped.
 *
 * @example
 * const bytes = decodeMacaroonText('AgETaHR0cDovL2V4YW1wbGUub3JnLwIFa2V5aWQAAAYgfN7nklEcW8b1KEhYBd_psk54XijiqZMB-dcRxgnjjvc');
 * bytes[0]; // 2
 */
export function decodeMacaroonText(text: string): Buffer {
  if (typeof text !== 'string') throw new MacaroonError('token_malformed', 'a macaroon must be a string');
  if (text.length > MAX_MACAROON_TEXT_LENGTH) {
    throw new MacaroonError(
      'token_too_large',
      `a macaroon must be at most ${MAX_MACAROON_TEXT_LENGTH} characters, got ${text.length}`,
    );
  }
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */) end--;
  const padding = text.length - end;
  if (padding > 2 || (padding > 0 && text.length % 4 !== 0) || end % 4 === 1 || end === 0) {
    throw new MacaroonError('token_malformed', 'a macaroon must be base64 (url-safe or standard)');
  }
  // Node's decoder accepts both alphabets but silently skips characters outside them, so a length that
  // differs from what `end` characters must give means the text held something that is not base64.
  const bytes = Buffer.from(text, 'base64');
  const expected = (end >> 2) * 3 + ((end & 3) === 0 ? 0 : (end & 3) - 1);
  if (bytes.length !== expected) {
    throw new MacaroonError('token_malformed', 'a macaroon must be base64 (url-safe or standard)');
  }
  return bytes;
}

/**
 * Decodes a v2 binary macaroon, from its bytes or from its base64 text.
 *
 * @example
 * const m = decodeMacaroon('AgETaHR0cDovL2V4YW1wbGUub3JnLwIFa2V5aWQAAAYgfN7nklEcW8b1KEhYBd_psk54XijiqZMB-dcRxgnjjvc');
 * m.location; // 'http://example.org/'
 * m.identifier.toString(); // 'keyid'
 */
export function decodeMacaroon(input: string | Uint8Array): Macaroon {
  let buf: Buffer;
  if (typeof input === 'string') buf = decodeMacaroonText(input);
  // Copied so the decoded macaroon cannot change under the caller's later writes to their array.
  else if (input instanceof Uint8Array) buf = Buffer.from(input);
  else throw new MacaroonError('token_malformed', 'a macaroon must be a string or bytes');
  if (buf.length > MAX_MACAROON_BYTES) {
    throw new MacaroonError(
      'token_too_large',
      `a macaroon must be at most ${MAX_MACAROON_BYTES} bytes, got ${buf.length}`,
    );
  }
  if (buf.length === 0) throw new MacaroonError('token_malformed', 'a macaroon cannot be empty');
  if (buf[0] !== VERSION_2) {
    throw new MacaroonError(
      'token_malformed',
      `only v2 binary macaroons are read, version byte is ${buf[0]}`,
    );
  }
  const reader = new FieldReader(buf, 1);
  const location = reader.optionalLocation();
  const identifier = reader.field(FIELD_IDENTIFIER, 'identifier');
  reader.eos('after the identifier');
  const caveats: MacaroonCaveat[] = [];
  while (!reader.atEos()) {
    if (caveats.length === MAX_CAVEATS) {
      throw new MacaroonError('token_too_large', `a macaroon may carry at most ${MAX_CAVEATS} caveats`);
    }
    const cavLocation = reader.optionalLocation();
    const cavIdentifier = reader.field(FIELD_IDENTIFIER, 'caveat identifier');
    const vid = reader.atType(FIELD_VID) ? reader.field(FIELD_VID, 'caveat vid') : undefined;
    reader.eos('after a caveat');
    caveats.push({ identifier: cavIdentifier, location: cavLocation, vid });
  }
  reader.eos('after the caveats');
  const signature = reader.field(FIELD_SIGNATURE, 'signature');
  if (signature.length !== SIGNATURE_LENGTH) {
    throw new MacaroonError(
      'token_malformed',
      `the signature must be ${SIGNATURE_LENGTH} bytes, got ${signature.length}`,
    );
  }
  if (!reader.atEnd()) throw new MacaroonError('token_malformed', 'unexpected bytes after the signature');
  return { location, identifier, caveats, signature };
}

/** Reads fields straight from the buffer; `subarray` keeps the bytes in place rather than copying them. */
class FieldReader {
  constructor(
    private readonly buf: Buffer,
    private pos: number,
  ) {}

  atEnd(): boolean {
    return this.pos === this.buf.length;
  }

  atType(type: number): boolean {
    return this.pos < this.buf.length && this.buf[this.pos] === type;
  }

  atEos(): boolean {
    if (this.pos >= this.buf.length) throw new MacaroonError('token_malformed', 'the macaroon is truncated');
    return this.buf[this.pos] === FIELD_EOS;
  }

  eos(where: string): void {
    if (!this.atType(FIELD_EOS)) {
      throw new MacaroonError(
        'token_malformed',
        this.pos >= this.buf.length ? 'the macaroon is truncated' : `expected end of section ${where}`,
      );
    }
    this.pos++;
  }

  optionalLocation(): string | undefined {
    if (!this.atType(FIELD_LOCATION)) return undefined;
    const bytes = this.field(FIELD_LOCATION, 'location');
    try {
      return UTF8.decode(bytes);
    } catch {
      throw new MacaroonError('token_malformed', 'a location must be UTF-8');
    }
  }

  field(type: number, name: string): Buffer {
    const buf = this.buf;
    if (this.pos >= buf.length) throw new MacaroonError('token_malformed', 'the macaroon is truncated');
    if (buf[this.pos] !== type) {
      throw new MacaroonError(
        'token_malformed',
        `expected the ${name} field, found field type ${buf[this.pos]}`,
      );
    }
    this.pos++;
    // A length is bounded by MAX_MACAROON_BYTES, so three varint bytes (21 bits) always suffice.
    let length = 0;
    let shift = 0;
    for (;;) {
      if (this.pos >= buf.length) throw new MacaroonError('token_malformed', 'the macaroon is truncated');
      const b = buf[this.pos++]!;
      if (shift === 21) throw new MacaroonError('token_malformed', `the ${name} length is too long`);
      length |= (b & 0x7f) << shift;
      if (b < 0x80) {
        if (b === 0 && shift > 0) {
          throw new MacaroonError('token_malformed', `the ${name} length is not minimally encoded`);
        }
        break;
      }
      shift += 7;
    }
    const end = this.pos + length;
    if (end > buf.length) throw new MacaroonError('token_malformed', 'the macaroon is truncated');
    const out = buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n >>>= 7;
    len++;
  }
  return len;
}

function writeVarint(out: Buffer, pos: number, n: number): number {
  while (n >= 0x80) {
    out[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[pos++] = n;
  return pos;
}

function fieldLength(data: Uint8Array): number {
  return 1 + varintLength(data.length) + data.length;
}

function writeField(out: Buffer, pos: number, type: number, data: Uint8Array): number {
  out[pos++] = type;
  pos = writeVarint(out, pos, data.length);
  out.set(data, pos);
  return pos + data.length;
}

/**
 * Encodes a macaroon in the v2 binary format. Absent locations are omitted; a location that is present
 * (even empty) is written, so decode then encode gives back the same bytes.
 *
 * @example
 * const bytes = encodeMacaroon(createMacaroon({ rootKey: Buffer.from('this is the key'), identifier: 'keyid' }));
 * bytes[0]; // 2
 */
export function encodeMacaroon(m: Macaroon): Buffer {
  if (m.caveats.length > MAX_CAVEATS) {
    throw new MacaroonError('token_too_large', `a macaroon may carry at most ${MAX_CAVEATS} caveats`);
  }
  if (m.signature.length !== SIGNATURE_LENGTH) {
    throw new MacaroonError('token_malformed', `the signature must be ${SIGNATURE_LENGTH} bytes`);
  }
  const location = m.location === undefined ? undefined : Buffer.from(m.location, 'utf8');
  const cavLocations = m.caveats.map((c) => (c.location === undefined ? undefined : Buffer.from(c.location)));
  let size = 1 + (location ? fieldLength(location) : 0) + fieldLength(m.identifier) + 1;
  for (let i = 0; i < m.caveats.length; i++) {
    const c = m.caveats[i]!;
    const loc = cavLocations[i];
    size += (loc ? fieldLength(loc) : 0) + fieldLength(c.identifier) + (c.vid ? fieldLength(c.vid) : 0) + 1;
  }
  size += 1 + fieldLength(m.signature);
  if (size > MAX_MACAROON_BYTES) {
    throw new MacaroonError(
      'token_too_large',
      `a macaroon must be at most ${MAX_MACAROON_BYTES} bytes, got ${size}`,
    );
  }
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  out[pos++] = VERSION_2;
  if (location) pos = writeField(out, pos, FIELD_LOCATION, location);
  pos = writeField(out, pos, FIELD_IDENTIFIER, m.identifier);
  out[pos++] = FIELD_EOS;
  for (let i = 0; i < m.caveats.length; i++) {
    const c = m.caveats[i]!;
    const loc = cavLocations[i];
    if (loc) pos = writeField(out, pos, FIELD_LOCATION, loc);
    pos = writeField(out, pos, FIELD_IDENTIFIER, c.identifier);
    if (c.vid) pos = writeField(out, pos, FIELD_VID, c.vid);
    out[pos++] = FIELD_EOS;
  }
  out[pos++] = FIELD_EOS;
  writeField(out, pos, FIELD_SIGNATURE, m.signature);
  return out;
}

/**
 * The text form Warden hands out: the v2 binary, base64url without padding.
 *
 * @example
 * const text = serializeMacaroon(createMacaroon({ rootKey: Buffer.from('this is the key'), identifier: 'keyid' }));
 * text.startsWith('Ag'); // true
 */
export function serializeMacaroon(m: Macaroon): string {
  return encodeMacaroon(m).toString('base64url');
}

/**
 * The HMAC key libmacaroons derives from a root key (macaroon_create, not _raw):
 * HMAC-SHA256(key = "macaroons-key-generator", message = rootKey).
 *
 * @example
 * deriveMacaroonKey(Buffer.from('this is the key')).toString('hex'); // '8077ec65…e2ff51'
 */
export function deriveMacaroonKey(rootKey: Uint8Array): Buffer {
  return createHmac('sha256', KEY_GENERATOR).update(rootKey).digest();
}

function hmac(key: Uint8Array | KeyObject, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

function chainStep(sig: Uint8Array, caveat: MacaroonCaveat): Buffer {
  if (caveat.vid === undefined) return hmac(sig, caveat.identifier);
  const h = createHmac('sha256', sig);
  h.update(hmac(sig, caveat.vid));
  h.update(hmac(sig, caveat.identifier));
  return h.digest();
}

/**
 * Every signature along the chain: `[sig0, sig after caveat 1, …]`; the last is the macaroon's signature.
 * `derivedKey` is the output of deriveMacaroonKey (a KeyObject of it is accepted to save a key import).
 *
 * @example
 * const key = deriveMacaroonKey(Buffer.from('this is the key'));
 * macaroonSignatureChain(key, decodeMacaroon(text)).at(-1); // equals the macaroon's signature if untampered
 */
export function macaroonSignatureChain(
  derivedKey: Uint8Array | KeyObject,
  m: Pick<Macaroon, 'identifier' | 'caveats'>,
): Buffer[] {
  let sig = hmac(derivedKey, m.identifier);
  const chain = [sig];
  for (const c of m.caveats) {
    sig = chainStep(sig, c);
    chain.push(sig);
  }
  return chain;
}

/**
 * The signature the macaroon should carry, given the derived key.
 *
 * @example
 * computeMacaroonSignature(deriveMacaroonKey(rootKey), m).equals(m.signature); // true when genuine
 */
export function computeMacaroonSignature(
  derivedKey: Uint8Array | KeyObject,
  m: Pick<Macaroon, 'identifier' | 'caveats'>,
): Buffer {
  let sig = hmac(derivedKey, m.identifier);
  const caveats = m.caveats;
  for (let i = 0; i < caveats.length; i++) sig = chainStep(sig, caveats[i]!);
  return sig;
}

/**
 * Whether the macaroon's signature matches its chain under the derived key (constant-time compare).
 * Only the signature: what the caveats mean is the caller's business.
 *
 * @example
 * verifyMacaroonSignature(decodeMacaroon(text), deriveMacaroonKey(Buffer.from('this is the key'))); // true
 */
export function verifyMacaroonSignature(m: Macaroon, derivedKey: Uint8Array | KeyObject): boolean {
  return timingSafeEqual(computeMacaroonSignature(derivedKey, m), m.signature);
}

/**
 * A new macaroon with no caveats, keyed as libmacaroons' macaroon_create does (the root key is derived).
 *
 * @example
 * const m = createMacaroon({ rootKey: Buffer.from('this is the key'), identifier: 'keyid', location: 'http://example.org/' });
 * m.signature.toString('hex'); // '7cdee792…e38ef7'
 */
export function createMacaroon(params: {
  rootKey: Uint8Array;
  identifier: string | Uint8Array;
  location?: string;
}): Macaroon {
  const identifier = toBuffer(params.identifier);
  return {
    location: params.location,
    identifier,
    caveats: [],
    signature: hmac(deriveMacaroonKey(params.rootKey), identifier),
  };
}

/**
 * A copy of the macaroon with one more first-party caveat; needs no key, only the current signature.
 *
 * @example
 * const narrowed = addFirstPartyCaveat(m, 'account = 3735928559');
 * narrowed.caveats.length === m.caveats.length + 1; // true
 */
export function addFirstPartyCaveat(m: Macaroon, condition: string | Uint8Array): Macaroon {
  if (m.caveats.length >= MAX_CAVEATS) {
    throw new MacaroonError('token_too_large', `a macaroon may carry at most ${MAX_CAVEATS} caveats`);
  }
  const identifier = toBuffer(condition);
  return {
    location: m.location,
    identifier: m.identifier,
    caveats: [...m.caveats, { identifier, location: undefined, vid: undefined }],
    signature: hmac(m.signature, identifier),
  };
}

/**
 * Binds a discharge macaroon's signature to the primary it discharges, as libmacaroons does before a
 * request: HMAC(0³², HMAC(0³², primary) ‖ HMAC(0³², discharge)). Warden refuses third-party caveats; this
 * exists so the interop vectors can be checked end to end.
 *
 * @example
 * bindDischargeSignature(primary.signature, discharge.signature); // the signature the discharge is sent with
 */
export function bindDischargeSignature(primarySignature: Uint8Array, dischargeSignature: Uint8Array): Buffer {
  const h = createHmac('sha256', ZERO_KEY);
  h.update(hmac(ZERO_KEY, primarySignature));
  h.update(hmac(ZERO_KEY, dischargeSignature));
  return h.digest();
}

function toBuffer(value: string | Uint8Array): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value);
}
