import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { AuditService } from '../service.js';
import { IdParams, RecordWithProof } from '../types.js';

/** GET /v1/audit/logs/{id} — a record, its exact leaf bytes, and its inclusion proof. */
export function registerGetLog(app: Edge, service: AuditService): void {
  app.get(
    '/v1/audit/logs/:id',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Get an audit record with its inclusion proof',
        description:
          'The proof is against the latest signed tree head (returned alongside): hash 0x00 ‖ canonical, walk audit_path, compare with sha256_root_hash, check the signature with GET /v1/audit/key.',
        params: IdParams,
        response: { 200: RecordWithProof, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => service.getRecordWithProof(tenantOf(request), request.params.id),
  );
}
