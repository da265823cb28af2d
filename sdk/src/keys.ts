/**
 * An agent's Ed25519 identity: generate, export, import. The private key never leaves the process
 * unless you export it.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from 'node:crypto';

export interface AgentKeyPair {
  privateKey: KeyObject;
  /** Raw 32-byte public key, base64url: what Warden registers. */
  publicKey: string;
  /** The agent id Warden will assign: hex SHA-256 of the raw public key. */
  agentId: string;
}

function fromPrivate(privateKey: KeyObject): AgentKeyPair {
  const x = (createPublicKey(privateKey).export({ format: 'jwk' }) as { x: string }).x;
  return {
    privateKey,
    publicKey: x,
    agentId: createHash('sha256').update(Buffer.from(x, 'base64url')).digest('hex'),
  };
}

/**
 * @example
 *   const keys = generateAgentKeys();
 */
export function generateAgentKeys(): AgentKeyPair {
  return fromPrivate(generateKeyPairSync('ed25519').privateKey);
}

/** Imports a PKCS#8 PEM private key (as written by `exportPrivateKey`). */
export function importAgentKeys(pem: string): AgentKeyPair {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ed25519') throw new Error('an agent key must be Ed25519');
  return fromPrivate(key);
}

export function exportPrivateKey(keys: AgentKeyPair): string {
  return keys.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function signBytes(keys: AgentKeyPair, message: Buffer): string {
  return sign(null, message, keys.privateKey).toString('base64url');
}
