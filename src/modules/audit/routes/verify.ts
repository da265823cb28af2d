import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { AuditService } from '../service.js';
import { VerifyBody, VerifyReport } from '../types.js';

/** POST /v1/audit/verify — recompute and check a record, a leaf range, or the whole log. */
export function registerVerify(app: Edge, service: AuditService): void {
  app.post(
    '/v1/audit/verify',
    {
      config: { permission: 'audit:verify' },
      schema: {
        tags: ['audit'],
        summary: 'Verify the audit log server-side',
        description:
          'Body `{record_id}`, `{from_index, to_index}` (leaves, to exclusive) or `{}` (the whole log, up to 100 000 records). Recomputes every leaf from its stored bytes, every inclusion and consistency proof and every tree-head signature; `ok: false` names the first bad record or tree head and why. The checks are those of the offline verifier.',
        body: VerifyBody,
        response: { 200: VerifyReport, ...errorResponses(400, 401, 403, 404, 415, 429) },
      },
    },
    async (request) => service.verify(tenantOf(request), request.body),
  );
}
