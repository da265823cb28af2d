/**
 * /v1/agents — agents (non-human identities): challenge, register, list, get, rotate-key, suspend,
 * reinstate, revoke. The routes of one resource are kept in one file because they share schemas
 * and the tenant/actor plumbing; each is still one `app.<method>` with its own schema and errors.
 */
import type { Edge } from '../../../platform/http/edge.js';
import { errorResponses } from '../../../platform/http/edge.js';
import { tenantOf } from '../../../platform/http/tenant-scope.js';
import type { AgentService } from '../agent-service.js';
import {
  Agent,
  AgentIdParams,
  AgentList,
  AgentListQuery,
  Challenge,
  ReasonBody,
  RegisterAgentBody,
  RotateKeyBody,
} from '../agent-types.js';

export function registerAgentRoutes(app: Edge, agents: AgentService): void {
  app.addSchema(Agent);
  const tags = ['agents'];

  app.post(
    '/v1/agents/challenge',
    {
      config: { permission: 'agents:create' },
      schema: {
        tags,
        summary: 'Get a registration challenge',
        description:
          'A one-time value, valid 5 minutes, that the agent signs with its private key to prove possession.',
        response: { 201: Challenge, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request, reply) => reply.code(201).send(await agents.createChallenge(tenantOf(request))),
  );

  app.post(
    '/v1/agents',
    {
      config: { permission: 'agents:create', idempotent: true },
      schema: {
        tags,
        summary: 'Register an agent',
        description:
          'Registers an Ed25519 public key. `signature` is the agent’s signature over ' +
          '`warden-agent-registration:v1\\n<tenant_id>\\n<challenge>\\n<public_key>`. The agent id is the hex SHA-256 of the key.',
        body: RegisterAgentBody,
        response: { 201: Agent, ...errorResponses(400, 401, 403, 409, 422, 429) },
      },
    },
    async (request, reply) => {
      const agent = await agents.register(tenantOf(request), request.principal!, request.body);
      reply.header('location', `/v1/agents/${agent.id}`).header('etag', `"${agent.key_version}"`);
      return reply.code(201).send(agent);
    },
  );

  app.get(
    '/v1/agents',
    {
      config: { permission: 'agents:read' },
      schema: {
        tags,
        summary: 'List agents',
        querystring: AgentListQuery,
        response: { 200: AgentList, ...errorResponses(400, 401, 403, 429) },
      },
    },
    async (request) => agents.list(tenantOf(request), request.query),
  );

  app.get(
    '/v1/agents/:id',
    {
      config: { permission: 'agents:read' },
      schema: {
        tags,
        summary: 'Get an agent',
        params: AgentIdParams,
        response: { 200: Agent, ...errorResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request) => agents.get(tenantOf(request), request.params.id),
  );

  app.post(
    '/v1/agents/:id/rotate-key',
    {
      config: { permission: 'agents:manage' },
      schema: {
        tags,
        summary: 'Rotate an agent’s key',
        description:
          'Both the current and the new key sign `warden-agent-rotation:v1\\n<agent_id>\\n<key_version>\\n<new_public_key>`. ' +
          'The agent keeps its id; requests signed with the old key stop verifying on every node at once.',
        params: AgentIdParams,
        body: RotateKeyBody,
        response: { 200: Agent, ...errorResponses(400, 401, 403, 404, 409, 422, 429) },
      },
    },
    async (request) =>
      agents.rotateKey(tenantOf(request), request.params.id, request.principal!, request.body),
  );

  for (const [action, summary, description] of [
    [
      'suspend',
      'Suspend an agent',
      'Its signed requests are refused on every node from the next request on; reinstate undoes it.',
    ],
    [
      'reinstate',
      'Reinstate a suspended agent',
      'Restores the trust level the agent had before it was suspended.',
    ],
  ] as const) {
    app.post(
      `/v1/agents/:id/${action}`,
      {
        config: { permission: 'agents:manage' },
        schema: {
          tags,
          summary,
          description,
          params: AgentIdParams,
          body: ReasonBody,
          response: { 200: Agent, ...errorResponses(400, 401, 403, 404, 409, 429) },
        },
      },
      async (request) =>
        agents[action](tenantOf(request), request.params.id, request.principal!, request.body?.reason),
    );
  }

  app.delete(
    '/v1/agents/:id',
    {
      config: { permission: 'agents:manage' },
      schema: {
        tags,
        summary: 'Revoke an agent',
        description: 'Permanent: the agent can no longer authenticate. The record is kept for audit.',
        params: AgentIdParams,
        response: { 200: Agent, ...errorResponses(400, 401, 403, 404, 409, 429) },
      },
    },
    async (request) => agents.revoke(tenantOf(request), request.params.id, request.principal!),
  );
}
