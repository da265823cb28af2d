/**
 * Passwords: argon2id with OWASP's minimum parameters (m=19 MiB, t=2, p=1), verified in
 * constant time whatever the email, so a login cannot tell "no such user" from "wrong password" by
 * its latency.
 */
import { type Algorithm, hash, verify } from '@node-rs/argon2';

// `Algorithm` is an ambient const enum (unusable under isolatedModules); 2 is its Argon2id.
const OPTIONS = { algorithm: 2 as Algorithm, memoryCost: 19_456, timeCost: 2, parallelism: 1 };

/** @example const phc = await hashPassword('correct horse battery staple'); */
export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

let dummy: Promise<string> | undefined;

/**
 * Verify a password against a PHC string; with no hash (unknown email, SSO-only account) verify
 * against a dummy hash anyway so both paths cost the same, and answer false.
 */
export async function verifyPassword(phc: string | null | undefined, password: string): Promise<boolean> {
  if (!phc) {
    dummy ??= hashPassword('warden-dummy-password-for-constant-time');
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  try {
    return await verify(phc, password);
  } catch {
    return false;
  }
}
