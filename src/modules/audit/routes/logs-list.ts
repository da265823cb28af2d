import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { AuditService } from '../service.js';
import { ListLogsQuery, RecordList } from '../types.js';

/** GET /v1/audit/logs — the tenant's records, newest first, filtered, cursor-paginated. */
export function registerListLogs(app: Edge, service: AuditService): void {
  app.get(
    '/v1/audit/logs',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'List audit records',
        description:
          'Filters combine with AND: product, event_type, actor, resource (resource_id), action, outcome, and the time range [from, to). Newest first.',
        querystring: ListLogsQuery,
        response: { 200: RecordList, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => service.listRecords(tenantOf(request), request.query),
  );
}
