/**
 * The deployment's Ed25519 audit log key: generated on the first start of the first node, kept in
 * the secrets store (envelope-encrypted, PKCS#8 DER) and read by every node, so all nodes sign
 * with the same key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../../platform/db/database.js';
import type { SecretsStore } from '../../platform/secrets.js';

export const AUDIT_KEY_SECRET = 'deployment/audit-log-key';
// A constant key for pg_advisory_xact_lock: two nodes starting together generate one key.
const KEY_LOCK = 7_236_405_777;

export interface AuditSigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SubjectPublicKeyInfo DER. */
  publicDer: Buffer;
  /** hex SHA-256 of `publicDer`. */
  keyId: string;
}

export function describePublicKey(publicKey: KeyObject): { publicDer: Buffer; keyId: string } {
  const publicDer = publicKey.export({ type: 'spki', format: 'der' });
  return { publicDer, keyId: createHash('sha256').update(publicDer).digest('hex') };
}

/**
 * Reads the key, creating it once if the deployment has none.
 *
 * @example
 *   const key = await loadOrCreateSigningKey(db, secrets);
 *   signTreeHead(key.privateKey, head);
 */
export async function loadOrCreateSigningKey(db: Database, secrets: SecretsStore): Promise<AuditSigningKey> {
  const der = await db.transaction(async (trx) => {
    await sql`select pg_advisory_xact_lock(${KEY_LOCK})`.execute(trx);
    const existing = await secrets.get(trx, AUDIT_KEY_SECRET);
    if (existing) return existing;
    const { privateKey } = generateKeyPairSync('ed25519');
    const created = privateKey.export({ type: 'pkcs8', format: 'der' });
    await secrets.put(trx, AUDIT_KEY_SECRET, created);
    return created;
  });
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, ...describePublicKey(publicKey) };
}
