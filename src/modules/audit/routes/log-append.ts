import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { AuditWriter } from '../log-writer.js';
import { AppendBody, AppendResponse } from '../types.js';

/** POST /v1/audit/log — append a record to the caller's tenant log (external systems, people). */
export function registerAppendLog(app: Edge, buffer: AuditWriter): void {
  app.post(
    '/v1/audit/log',
    {
      config: { permission: 'audit:write', idempotent: true },
      schema: {
        tags: ['audit'],
        summary: 'Append an audit record',
        description:
          'Appends one record to the tenant’s Merkle log and answers once it is durable, with its leaf index. Personal data in actor, resource_id and metadata is redacted before storage. `actor` defaults to the caller; when another actor is named, the record also says who submitted it.',
        body: AppendBody,
        response: { 201: AppendResponse, ...errorResponses(400, 401, 403, 413, 415, 422, 429, 503) },
      },
    },
    async (request, reply) => {
      const p = request.principal!;
      const caller = `${p.kind}:${p.id}`;
      const body = request.body;
      const appended = await buffer.appendDurable({
        tenant_id: tenantOf(request),
        product: body.product,
        event_type: body.event_type,
        actor: body.actor ?? caller,
        resource_id: body.resource_id ?? null,
        action: body.action,
        outcome: body.outcome,
        metadata: body.metadata ?? {},
        ...(body.actor !== undefined && body.actor !== caller ? { submitted_by: caller } : {}),
      });
      reply.header('location', `/v1/audit/logs/${appended.record_id}`);
      return reply.code(201).send(appended);
    },
  );
}
