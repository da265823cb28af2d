/**
 * Content-Digest (RFC 9530 §2): a digest of the message content, sent as an RFC 8941 Dictionary of
 * `algorithm=:base64:` members. Agents cover it with their HTTP message signature, which is what binds the
 * signature to the body; this file creates the field, parses it and checks it against the received bytes.
 *
 * Only the two algorithms RFC 9530 registers as active are understood: sha-256 and sha-512. Members with
 * any other key (including the deprecated md5, sha, unixsum, … of RFC 9530 §5) are ignored, as §2 allows.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isInnerList, parseDictionary, StructuredFieldError } from './structured-fields.js';

export type ContentDigestAlgorithm = 'sha-256' | 'sha-512';

export type ContentDigestErrorCode =
  /** No Content-Digest field on the message. */
  | 'content_digest_missing'
  /** The field is not a well-formed RFC 8941 Dictionary, is too large, or a known member is malformed. */
  | 'content_digest_invalid'
  /** The field carries no algorithm this implementation understands. */
  | 'content_digest_unsupported'
  /** A digest in the field does not match the content. */
  | 'content_digest_mismatch';

export type ContentDigestResult =
  | { readonly ok: true; readonly algorithms: readonly ContentDigestAlgorithm[] }
  | { readonly ok: false; readonly code: ContentDigestErrorCode; readonly detail: string };

export interface ContentDigestOptions {
  /** Longest field value accepted, in characters (default 4096; a sha-512 member is 97). */
  readonly maxHeaderBytes?: number;
  /** Most dictionary members accepted (default 16). */
  readonly maxMembers?: number;
}

/** Thrown by parseContentDigest for a field that cannot be used. */
export class ContentDigestError extends Error {
  override readonly name = 'ContentDigestError';
  constructor(
    readonly code: ContentDigestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export const CONTENT_DIGEST_MAX_HEADER_BYTES = 4096;
const DEFAULT_MAX_MEMBERS = 16;

const NODE_HASH: Readonly<Record<ContentDigestAlgorithm, string>> = {
  'sha-256': 'sha256',
  'sha-512': 'sha512',
};
const DIGEST_LENGTH: Readonly<Record<ContentDigestAlgorithm, number>> = { 'sha-256': 32, 'sha-512': 64 };

function isKnownAlgorithm(alg: string): alg is ContentDigestAlgorithm {
  return alg === 'sha-256' || alg === 'sha-512';
}

function digest(body: Uint8Array | string, alg: ContentDigestAlgorithm): Buffer {
  return createHash(NODE_HASH[alg]).update(body).digest();
}

/**
 * Computes the Content-Digest field value for a body (a string body is hashed as its UTF-8 bytes).
 *
 * @example
 *   createContentDigest('{"hello": "world"}'); // 'sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:'
 *   createContentDigest(body, 'sha-512');
 */
export function createContentDigest(
  body: Uint8Array | string,
  algorithm: ContentDigestAlgorithm = 'sha-256',
): string {
  if (!isKnownAlgorithm(algorithm)) {
    throw new TypeError(`content digest algorithm must be sha-256 or sha-512, got ${String(algorithm)}`);
  }
  return `${algorithm}=:${digest(body, algorithm).toString('base64')}:`;
}

/**
 * Parses a Content-Digest (or Repr-Digest) field value into algorithm → digest bytes. Members with an
 * unknown algorithm are returned only when they are byte sequences; a known algorithm whose value is not a
 * byte sequence of the right length makes the whole field invalid. Throws ContentDigestError.
 *
 * @example
 *   parseContentDigest('sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:').get('sha-256'); // 32 bytes
 */
export function parseContentDigest(
  header: string,
  options?: ContentDigestOptions,
): ReadonlyMap<string, Uint8Array> {
  const max = options?.maxHeaderBytes ?? CONTENT_DIGEST_MAX_HEADER_BYTES;
  if (header.length > max) {
    throw new ContentDigestError('content_digest_invalid', `Content-Digest is longer than ${max} characters`);
  }
  let dict: ReturnType<typeof parseDictionary>;
  try {
    dict = parseDictionary(header, { maxMembers: options?.maxMembers ?? DEFAULT_MAX_MEMBERS, maxParams: 8 });
  } catch (err) {
    if (!(err instanceof StructuredFieldError)) throw err;
    throw new ContentDigestError(
      'content_digest_invalid',
      `Content-Digest is not a valid dictionary: ${err.message}`,
    );
  }
  const out = new Map<string, Uint8Array>();
  for (const [alg, member] of dict) {
    const value = isInnerList(member) ? undefined : member.value;
    const known = isKnownAlgorithm(alg);
    if (!(value instanceof Uint8Array)) {
      if (known)
        throw new ContentDigestError('content_digest_invalid', `${alg} member is not a byte sequence`);
      continue;
    }
    if (known && value.length !== DIGEST_LENGTH[alg]) {
      throw new ContentDigestError(
        'content_digest_invalid',
        `${alg} digest must be ${DIGEST_LENGTH[alg]} bytes, got ${value.length}`,
      );
    }
    out.set(alg, value);
  }
  return out;
}

/**
 * Checks a Content-Digest field against the content it claims to digest. Every understood member must
 * match (a field with one good and one bad digest is rejected rather than trusted by whichever member is
 * looked at); members with unknown algorithms are ignored; a field with no understood member is rejected.
 * Digests are compared in constant time.
 *
 * @example
 *   const r = verifyContentDigest(req.headers['content-digest'], rawBody);
 *   if (!r.ok) reply.code(400).send({ code: r.code, detail: r.detail });
 */
export function verifyContentDigest(
  header: string | readonly string[] | undefined,
  body: Uint8Array | string | undefined,
  options?: ContentDigestOptions,
): ContentDigestResult {
  if (header === undefined || (typeof header !== 'string' && header.length === 0)) {
    return { ok: false, code: 'content_digest_missing', detail: 'the message has no Content-Digest field' };
  }
  // Several field lines are one field value joined by ", " (RFC 9110 §5.3).
  const value = typeof header === 'string' ? header : header.join(', ');
  let members: ReadonlyMap<string, Uint8Array>;
  try {
    members = parseContentDigest(value, options);
  } catch (err) {
    if (err instanceof ContentDigestError) return { ok: false, code: err.code, detail: err.message };
    throw err;
  }
  const content = body ?? EMPTY;
  const checked: ContentDigestAlgorithm[] = [];
  for (const alg of KNOWN) {
    const claimed = members.get(alg);
    if (claimed === undefined) continue;
    if (!timingSafeEqual(digest(content, alg), claimed)) {
      return {
        ok: false,
        code: 'content_digest_mismatch',
        detail: `${alg} digest does not match the content`,
      };
    }
    checked.push(alg);
  }
  if (checked.length === 0) {
    return {
      ok: false,
      code: 'content_digest_unsupported',
      detail: 'Content-Digest has no sha-256 or sha-512 member',
    };
  }
  return { ok: true, algorithms: checked };
}

const KNOWN: readonly ContentDigestAlgorithm[] = ['sha-256', 'sha-512'];
const EMPTY = new Uint8Array(0);
