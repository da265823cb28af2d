import { Readable } from 'node:stream';
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
          'Records of [from, to) (all when omitted), with the signed tree heads over them, consistency proofs between successive heads, an inclusion proof of each record against the last head, and the public key. Without `limit` a package holds at most 100 000 records (a longer range is a 400 audit-range-too-large); with `limit` the range is exported page by page: each page is a complete package whose `manifest.next_cursor` fetches the next, and every page is proved against the same signed tree head. Check it with `warden audit verify <file> --key <pubkey>`; `warden audit export` pages for you.',
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
    async (request, reply) => {
      // Streamed a chunk of records at a time: a long package never holds the node or its memory.
      const json = await service.exportEvidence(tenantOf(request), request.query);
      return reply.type('application/json; charset=utf-8').send(Readable.from(json));
    },
  );
}
