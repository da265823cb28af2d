/** Problem types of agent registration, keys and signed requests. */
import { defineProblem } from '../../platform/http/problem.js';

export const AgentProblems = {
  agentNotFound: defineProblem({
    slug: 'agent-not-found',
    status: 404,
    title: 'Agent not found',
    description:
      'No agent with this id is visible to the caller (agents of other tenants are reported as not found).',
  }),
  challengeInvalid: defineProblem({
    slug: 'agent-challenge-invalid',
    status: 422,
    title: 'Registration challenge unknown or expired',
    description:
      'Request a fresh challenge with POST /v1/agents/challenge and register within 5 minutes; each challenge works once.',
  }),
  proofInvalid: defineProblem({
    slug: 'agent-proof-invalid',
    status: 422,
    title: 'Proof of key possession failed',
    description:
      'The signature does not verify with the given public key over the documented message. Sign exactly the message described in the API reference.',
  }),
  invalidPublicKey: defineProblem({
    slug: 'agent-public-key-invalid',
    status: 400,
    title: 'Invalid public key',
    description: 'Agent keys are raw Ed25519 public keys: 32 bytes, base64url without padding.',
  }),
  agentExists: defineProblem({
    slug: 'agent-exists',
    status: 409,
    title: 'Agent already registered',
    description: 'An agent with this public key is already registered; its id is the SHA-256 of the key.',
  }),
  agentRevoked: defineProblem({
    slug: 'agent-revoked',
    status: 409,
    title: 'Agent revoked',
    description: 'A revoked agent cannot be changed or used again; register a new key.',
  }),
  agentStateConflict: defineProblem({
    slug: 'agent-state-conflict',
    status: 409,
    title: 'Agent is not in a state that allows this',
    description: 'Suspend applies to an active agent that is not suspended; reinstate to a suspended one.',
  }),
  invalidCursor: defineProblem({
    slug: 'agent-cursor-invalid',
    status: 400,
    title: 'Invalid cursor',
    description: 'The cursor must be a next_cursor value returned by GET /v1/agents.',
  }),
};
