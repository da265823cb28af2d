import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import type { AuditSigningKey } from '../signing-key.js';
import { PublicKeyResponse } from '../types.js';

/**
 * GET /v1/audit/key — the deployment's tree-head public key. Like every /v1 route it needs a credential
 * (any role holds `audit:key`); evidence packages carry the key too, so an offline verifier needs none.
 */
export function registerGetKey(app: Edge, key: () => AuditSigningKey): void {
  app.get(
    '/v1/audit/key',
    {
      config: { permission: 'audit:key' },
      schema: {
        tags: ['audit'],
        summary: 'Get the audit log public key',
        description: 'Ed25519; pin it in verifiers (`warden audit verify --key`).',
        response: { 200: PublicKeyResponse, ...errorResponses(401, 403, 503) },
      },
    },
    async () => {
      const k = key();
      return {
        algorithm: 'Ed25519' as const,
        key_id: k.keyId,
        public_key: k.publicDer.toString('base64'),
        public_key_pem: k.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      };
    },
  );
}
