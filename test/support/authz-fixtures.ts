/**
 * Fixtures for the authz route tests: agents registered through the SDK (so their requests are really
 * RFC 9421-signed), tokens minted through the public API, and the agent-side verify call.
 */
import { WardenAgent, WardenError } from '../../sdk/src/index.js';
import type { TestWarden } from './warden.js';

/** A fresh agent registered in the credential's tenant (operator: pass the tenant id). */
export async function registerAgent(
  t: TestWarden,
  credential: string,
  options: { name?: string; tenantId?: string } = {},
): Promise<WardenAgent> {
  const agent = WardenAgent.create(t.node.url);
  await agent.register({
    apiKey: credential,
    name: options.name ?? 'agent',
    ...(options.tenantId ? { tenantId: options.tenantId } : {}),
  });
  return agent;
}

/** POST /v1/delegations with `headers`; returns status and JSON body. */
export async function mintDelegation(
  t: TestWarden,
  headers: Record<string, string>,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Record<string, unknown> & { token?: string; id?: string } }> {
  const res = await t.node.app.inject({ method: 'POST', url: '/v1/delegations', headers, payload: body });
  return { status: res.statusCode, body: res.json() };
}

/** The agent asks POST /v1/delegations/verify (signed); a refusal comes back as its problem. */
export async function verifyAs(
  agent: WardenAgent,
  token: string,
  action: string,
  resource: string,
): Promise<{ status: number; body: Record<string, unknown>; headers?: Headers }> {
  try {
    const body = await agent.request<Record<string, unknown>>('/v1/delegations/verify', {
      method: 'POST',
      body: { token, action, resource },
    });
    return { status: 200, body };
  } catch (err) {
    if (err instanceof WardenError) return { status: err.status, body: err.problem };
    throw err;
  }
}
