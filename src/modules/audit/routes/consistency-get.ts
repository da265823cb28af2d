import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { AuditService } from '../service.js';
import { ConsistencyQuery, ConsistencyResponse } from '../types.js';

/** GET /v1/audit/consistency?first&second — proof that the tree of `second` leaves extends the first. */
export function registerGetConsistency(app: Edge, service: AuditService): void {
  app.get(
    '/v1/audit/consistency',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Get a consistency proof between two tree sizes',
        description: 'RFC 9162 §2.1.4; 1 ≤ first ≤ second ≤ the latest signed size.',
        querystring: ConsistencyQuery,
        response: { 200: ConsistencyResponse, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => service.consistency(tenantOf(request), request.query.first, request.query.second),
  );
}
