/**
 * Bearer secrets minted by identity, and how they are stored.
 *
 * - API key: `wdn_k_` + 43 base64url characters (256 random bits).
 * - Session token: `wdn_s_` + 43 base64url characters (256 random bits).
 *
 * Both are stored as SHA-256 only. A fast hash is right here, unlike passwords: with 256 bits of
 * entropy there is nothing to brute-force, and the authenticator runs on every request.
 */
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

export const API_KEY_PREFIX = 'wdn_k_';
export const SESSION_PREFIX = 'wdn_s_';
const TOKEN_RE = /^wdn_[ks]_[A-Za-z0-9_-]{43}$/;
/** Characters of an API key shown in listings: the type marker and 8 characters of the secret. */
const VISIBLE_CHARS = API_KEY_PREFIX.length + 8;

/** A fresh secret of the given kind. @example mintToken(API_KEY_PREFIX) // 'wdn_k_Q2x…' */
export function mintToken(prefix: typeof API_KEY_PREFIX | typeof SESSION_PREFIX): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

/** Whether the string has the shape of one of our tokens (cheap check before any lookup). */
export function isWellFormedToken(token: string): boolean {
  return token.length === 49 && TOKEN_RE.test(token);
}

/** The visible part of an API key, kept in clear for people to tell keys apart. */
export function visiblePrefix(apiKey: string): string {
  return apiKey.slice(0, VISIBLE_CHARS);
}

/** SHA-256 of a token: what is stored and looked up. */
export function tokenHash(token: string): Buffer {
  return hash('sha256', token, 'buffer') as unknown as Buffer;
}

/** Constant-time equality of two stored hashes. */
export function hashEquals(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
