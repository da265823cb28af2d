/** A minimal agent for tests: an Ed25519 key, registration, and RFC 9421-signed requests. */
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { createNonce, signRequest } from '../../src/modules/identity/http-signature.js';

export class TestAgent {
  readonly privateKey: KeyObject;
  readonly publicKey: string;
  id = '';

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.publicKey = (publicKey.export({ format: 'jwk' }) as { x: string }).x;
  }

  signMessage(message: Buffer | string, key: KeyObject = this.privateKey): string {
    return sign(null, Buffer.from(message), key).toString('base64url');
  }

  /** Headers for a signed request to `url` (full URL), with overrides for negative tests. */
  signedHeaders(
    method: string,
    url: string,
    body?: string,
    options: { created?: number; nonce?: string; components?: string[]; keyId?: string } = {},
  ): Record<string, string> {
    const headers: Record<string, string> = body !== undefined ? { 'content-type': 'application/json' } : {};
    const signed = signRequest(
      { method, url, headers, ...(body !== undefined ? { body } : {}) },
      {
        keyId: options.keyId ?? this.id,
        privateKey: this.privateKey,
        alg: 'ed25519',
        nonce: options.nonce ?? createNonce(),
        ...(options.created !== undefined ? { created: options.created } : {}),
        ...(options.components ? { components: options.components } : {}),
      },
    );
    return { ...headers, ...(signed as unknown as Record<string, string>) };
  }
}
