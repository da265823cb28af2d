/**
 * Agent keys: Ed25519 public keys as raw 32 bytes (base64url on the wire), the content-derived
 * `agent_id` (hex SHA-256 of the raw key, as seed 003 defines it), and the exact messages an agent
 * signs to prove possession at registration and to rotate its key.
 */
import { createHash, createPublicKey, type KeyObject, verify } from 'node:crypto';

const B64URL_RE = /^[A-Za-z0-9_-]+$/;

export class AgentKeyError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AgentKeyError';
  }
}

/** Decodes a base64url raw Ed25519 public key; throws AgentKeyError naming `field`. */
export function decodePublicKey(text: string, field: string): { raw: Buffer; key: KeyObject } {
  if (text.length !== 43 || !B64URL_RE.test(text)) {
    throw new AgentKeyError(
      field,
      `${field} must be a raw Ed25519 public key: 32 bytes, base64url without padding (43 characters)`,
    );
  }
  const raw = Buffer.from(text, 'base64url');
  try {
    return { raw, key: createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: text }, format: 'jwk' }) };
  } catch {
    throw new AgentKeyError(field, `${field} is not a valid Ed25519 public key`);
  }
}

/**
 * @example
 *   agentIdFor(rawPublicKey) // '3f1c…' (64 hex characters)
 */
export function agentIdFor(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex');
}

/** What an agent signs to register: binds the server's challenge, the tenant and the key. */
export function registrationMessage(tenantId: string, challenge: string, publicKey: string): Buffer {
  return Buffer.from(`warden-agent-registration:v1\n${tenantId}\n${challenge}\n${publicKey}`, 'utf8');
}

/** What the current key signs to hand over to a new key (and the new key signs to prove possession). */
export function rotationMessage(agentId: string, keyVersion: number, newPublicKey: string): Buffer {
  return Buffer.from(`warden-agent-rotation:v1\n${agentId}\n${keyVersion}\n${newPublicKey}`, 'utf8');
}

export function verifySignature(key: KeyObject, message: Buffer, signatureB64url: string): boolean {
  if (!B64URL_RE.test(signatureB64url) || signatureB64url.length !== 86) return false;
  try {
    return verify(null, message, key, Buffer.from(signatureB64url, 'base64url'));
  } catch {
    return false;
  }
}
