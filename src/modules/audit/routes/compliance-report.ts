import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import { buildComplianceReport, renderComplianceHtml } from '../compliance.js';
import { AuditProblems } from '../errors.js';
import type { AuditService } from '../service.js';
import { ComplianceQuery, ComplianceReportResponse } from '../types.js';

/** GET /v1/audit/compliance/report — evidence for a framework over a period, JSON or HTML. */
export function registerComplianceReport(app: Edge, service: AuditService, now: () => number): void {
  app.get(
    '/v1/audit/compliance/report',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Compliance evidence report',
        description:
          'Counts the period’s records under the framework’s controls, and the approvals requested in the period with their SLAs (from approval.* records: docs/api.md), with the signed tree head they were computed against. `Accept: text/html` returns a readable page.',
        querystring: ComplianceQuery,
        response: {
          200: ComplianceReportResponse,
          ...errorResponses(400, 401, 403, 429),
        },
      },
    },
    async (request, reply) => {
      const tenantId = tenantOf(request);
      const { framework, from, to } = request.query;
      if (Date.parse(from) > Date.parse(to))
        throw AuditProblems.invalidRange.create(`from (${from}) must not be after to (${to})`, {
          field: 'query.from',
        });
      const head = await service.currentHead(tenantId);
      const [rows, approvals, settings] = await Promise.all([
        // Only what the head covers: a record appended meanwhile is not counted against it.
        service.periodStats(tenantId, from, to, head.tree_size),
        service.approvalStats(tenantId, from, to, head.tree_size, new Date(head.timestamp)),
        service.getSettings(tenantId),
      ]);
      const report = buildComplianceReport(framework, {
        tenantId,
        from,
        to,
        rows,
        approvals,
        head,
        generatedAt: new Date(now()).toISOString(),
        redactionKinds: settings.redaction_kinds,
        retentionDays: settings.retention_days,
      });
      const accept = request.headers.accept ?? '';
      if (/text\/html/.test(accept) && !/application\/json/.test(accept.split(',')[0] ?? '')) {
        // The API's CSP forbids everything; this page needs its inline stylesheet and nothing else.
        reply.header(
          'content-security-policy',
          "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        );
        // The 200 schema describes the JSON form; an HTML string is sent as is, not serialized.
        return reply.type('text/html; charset=utf-8').send(renderComplianceHtml(report) as never);
      }
      return report;
    },
  );
}
