import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { AuditService } from '../service.js';
import { Settings, SettingsBody } from '../types.js';

/** GET and PUT /v1/audit/settings — the tenant's redaction kinds and retention per product. */
export function registerSettings(app: Edge, service: AuditService): void {
  app.get(
    '/v1/audit/settings',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        summary: 'Get audit settings',
        response: { 200: Settings, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => service.getSettings(tenantOf(request)),
  );
  app.put(
    '/v1/audit/settings',
    {
      config: { permission: 'audit:write' },
      schema: {
        tags: ['audit'],
        summary: 'Change audit settings',
        description:
          'Fields left out keep their value. New records use new redaction settings within seconds on every node; retention applies at the next retention run.',
        body: SettingsBody,
        response: { 200: Settings, ...errorResponses(400, 401, 403, 415, 429) },
      },
    },
    async (request) => service.putSettings(tenantOf(request), request.body),
  );
}
