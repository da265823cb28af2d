import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { AuditService } from '../service.js';
import { ExportQuery } from '../types.js';

/** GET /v1/audit/export — an evidence package the offline verifier checks with no server. */
export function registerExport(app: Edge, service: AuditService): void {
  app.get(
    '/v1/audit/export',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Export an evidence package',
        description:
          'Records of [from, to) (all when omitted, up to 100 000), with the signed tree heads over them, consistency proofs between successive heads, an inclusion proof of each record against the last head, and the public key. Check it with `warden audit verify <file> --key <pubkey>`.',
        querystring: ExportQuery,
        response: {
          200: Type.Object(
            {},
            { additionalProperties: true, description: 'warden.audit.evidence/v1 package' },
          ),
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request) => service.exportEvidence(tenantOf(request), request.query),
  );
}
