/**
 * @warden/sdk — what an AI agent needs to act through Warden.
 *
 * @example
 *   import { WardenAgent } from '@warden/sdk';
 *   const agent = WardenAgent.create('http://127.0.0.1:8080');
 *   await agent.register({ apiKey: process.env.WARDEN_API_KEY!, name: 'researcher' });
 *   await agent.obtainDelegation({ apiKey: process.env.WARDEN_API_KEY!, actions: ['llm.call'], resources: ['model:*'] });
 *   const grant = await agent.authorize('llm.call', 'model:gpt-4o');
 */
export {
  type DelegationOptions,
  type Grant,
  type RegisterOptions,
  type RequestOptions,
  WardenAgent,
  WardenError,
} from './client.js';
export { type AgentKeyPair, exportPrivateKey, generateAgentKeys, importAgentKeys } from './keys.js';
export { attenuate, DelegationTokenError, inspect, type Narrowing, type TokenInspection } from './tokens.js';
