import { Type } from 'typebox';
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import { DeployTemplateBody, type TemplateService } from '../template-service.js';
import { Policy, PolicyVersion } from '../types.js';
import { TemplateRefParams } from './templates-get.js';

/** POST /v1/oversight/templates/{ref}/deploy — install a template as a draft policy. */
export function registerDeployTemplate(app: Edge, templates: TemplateService): void {
  app.post(
    '/v1/oversight/templates/:ref/deploy',
    {
      config: { permission: 'policies:create' },
      schema: {
        tags: ['templates'],
        summary: 'Install a template as a draft policy',
        description:
          'Parameters are rendered as CEL literals of their declared types; the draft carries the template’s tests and its origin in `source`.',
        params: TemplateRefParams,
        body: DeployTemplateBody,
        response: {
          201: Type.Object({ policy: Policy, version: PolicyVersion }),
          ...errorResponses(400, 401, 403, 404, 409, 415, 422, 429),
        },
      },
    },
    async (request, reply) => {
      const created = await templates.deploy(
        request.principal!,
        tenantOf(request),
        request.params.ref,
        request.body,
      );
      reply.header('location', `/v1/oversight/policies/${created.policy.id}`);
      return reply.code(201).send(created);
    },
  );
}
