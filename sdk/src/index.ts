/**
 * @warden/sdk — what an AI agent needs to act through Warden.
 *
 * @example
 *   import { WardenAgent } from '@warden/sdk';
 *   const agent = WardenAgent.create('http://127.0.0.1:8080');
 *   await agent.register({ apiKey: process.env.WARDEN_API_KEY!, name: 'researcher' });
 *   const me = await agent.request(`/v1/agents/${agent.id}`);
 */
export { type RegisterOptions, type RequestOptions, WardenAgent, WardenError } from './client.js';
export { type AgentKeyPair, exportPrivateKey, generateAgentKeys, importAgentKeys } from './keys.js';
