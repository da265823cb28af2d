import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { AuditService } from '../service.js';
import { SthQuery } from '../types.js';

/** GET /v1/audit/sth — the latest signed tree head, or the one of a given size. */
export function registerGetSth(app: Edge, service: AuditService): void {
  app.get(
    '/v1/audit/sth',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Get a signed tree head',
        description:
          'RFC 6962 §4.3 shape plus log_id (the tenant). Without tree_size: the latest head, covering every committed record. With tree_size: that earlier head (404 if none was signed at that size).',
        querystring: SthQuery,
        response: { 200: { $ref: 'AuditSignedTreeHead#' }, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => service.treeHead(tenantOf(request), request.query.tree_size),
  );
}
